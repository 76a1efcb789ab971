"""Screening and training through the package: summaries, top-k, shards, Ctrl-C and resume,
metrics."""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import moltx
from conftest import DRUGS, drug_smiles


def test_screen_returns_the_summary(bundled: moltx.Model, tmp_path) -> None:
    out = tmp_path / "screen.csv"
    summary = moltx.screen(DRUGS, bundled, out=out)
    assert summary["out"] == str(out)
    assert summary["rows_read"] == 61 and summary["rows_in_shard"] == 61
    assert summary["scored"] == 61 and summary["failed"] == {}
    assert summary["resumed_from"] is None and summary["rows_this_run"] == 61
    assert set(summary["stages"]) == {"read_wait", "featurize", "model", "write"}
    df = pd.read_csv(out)
    assert list(df.columns[:3]) == ["row", "id", "smiles"] and len(df) == 61
    best = summary["best_per_task"]["SR-MMP"]
    j = bundled.tasks.index("SR-MMP")
    assert best[0]["values"][j] == pytest.approx(df["SR-MMP"].max(), abs=1e-6)
    # The in-memory predictions are the screen's.
    mem = bundled.predict(df["smiles"])
    assert np.abs(mem[bundled.tasks].to_numpy() - df[bundled.tasks].to_numpy()).max() <= 1e-6


def test_screen_top_k_and_shards(bundled: moltx.Model, tmp_path) -> None:
    moltx.screen(DRUGS, out=tmp_path / "full.csv")  # model=None: the bundled model
    full = pd.read_csv(tmp_path / "full.csv")
    moltx.screen(DRUGS, bundled, out=tmp_path / "top.csv", top_k=5, by="SR-MMP")
    top = pd.read_csv(tmp_path / "top.csv")
    assert top["id"].tolist() == full.sort_values("SR-MMP", ascending=False, kind="stable")["id"][:5].tolist()
    s = moltx.screen(DRUGS, bundled, out=tmp_path / "shard.csv", shard=(1, 2))
    assert s["rows_in_shard"] == 30
    assert pd.read_csv(tmp_path / "shard.csv")["row"].tolist() == list(range(1, 61, 2))
    with pytest.raises(moltx.MoltxError, match='has no task "nope"'):
        moltx.screen(DRUGS, bundled, out=tmp_path / "bad.csv", top_k=3, by="nope")
    with pytest.raises(ValueError, match="top_k and by"):
        moltx.screen(DRUGS, bundled, out=tmp_path / "bad.csv", top_k=3)
    with pytest.raises(ValueError, match="shard"):
        moltx.screen(DRUGS, bundled, out=tmp_path / "bad.csv", shard=(2, 2))


def big_library(path, copies: int) -> list:
    """The bundled drugs repeated with distinct ids; returns the SMILES in order."""
    smiles = drug_smiles()
    rows = []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "smiles"])
        for c in range(copies):
            for i, s in enumerate(smiles):
                w.writerow([f"d{i}_{c}", s])
                rows.append(s)
    return rows


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_stops_a_screen_that_resume_finishes(bundled: moltx.Model, tmp_path) -> None:
    library = tmp_path / "big.csv"
    smiles = big_library(library, 150)  # 9,150 rows
    out = tmp_path / "out.csv"

    def interrupt_once_rows_are_written() -> None:
        # On the screen's progress, not a fixed delay: a loaded or a fast machine alike.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and sum(1 for _ in open(out)) > 1:
                break
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    # Python's own Ctrl-C handler, as in a terminal: a shell starts background jobs with
    # SIGINT ignored, and Python then keeps it ignored.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Thread(target=interrupt_once_rows_are_written)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            moltx.screen(library, bundled, out=out, chunk_size=256)
    finally:
        signal.signal(signal.SIGINT, previous)
    stopped = time.monotonic() - started
    timer.join()
    done = sum(1 for _ in open(out)) - 1
    assert 0 < done < len(smiles), f"{done} rows written before the interrupt"
    assert stopped < 10, f"took {stopped:.1f} s to stop"
    summary = moltx.screen(library, bundled, out=out, chunk_size=256, resume=True)
    assert summary["resumed_from"] == done
    assert summary["rows_this_run"] == len(smiles) - done
    df = pd.read_csv(out)
    assert df["row"].tolist() == list(range(len(smiles)))
    sample = df.iloc[::997]
    mem = bundled.predict(sample["smiles"])
    assert np.abs(mem[bundled.tasks].to_numpy() - sample[bundled.tasks].to_numpy()).max() <= 1e-6


def test_train_returns_the_metrics(ensemble) -> None:
    folder, metrics = ensemble
    with open(folder / "metrics.json") as f:
        assert metrics == json.load(f)
    assert metrics["tasks"] == ["heavy_atoms", "rings"]
    assert metrics["ensemble"] == 2 and metrics["epochs"] == 3
    assert metrics["task_type"] == "regression"
    assert metrics["splits"]["train"] + metrics["splits"]["val"] + metrics["splits"]["test"] == 61
    assert sorted(p.name for p in folder.glob("model_*.moltx")) == ["model_0.moltx", "model_1.moltx"]


def test_train_from_a_frame_and_bad_options(atoms_table, tmp_path) -> None:
    frame = pd.read_csv(atoms_table).iloc[:-1]
    m = moltx.train(frame, ["rings"], out=tmp_path / "m", epochs=2, hidden=16, ffn_hidden=16,
                    model="dmpnn", split="scaffold", split_sizes=[0.8, 0.1, 0.1])
    assert m["tasks"] == ["rings"] and m["epochs"] == 2
    assert moltx.Model.load(tmp_path / "m").tasks == ["rings"]
    with pytest.raises(ValueError, match="unknown model"):
        moltx.train(atoms_table, out=tmp_path / "x", model="transformer")
    with pytest.raises(TypeError):
        moltx.train(atoms_table, out=tmp_path / "x", learning_rate=3)
    with pytest.raises(moltx.MoltxError, match="features-only model needs a features generator"):
        moltx.train(atoms_table, out=tmp_path / "x", model="features_only")
    with pytest.raises(moltx.MoltxError, match="nope"):
        moltx.train(atoms_table, ["nope"], out=tmp_path / "x")


def test_fine_tuning_a_chemprop_model_keeps_it_and_logs_steps(tmp_path) -> None:
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    data = fixtures / "chemprop" / "train_regression.csv"
    start = fixtures / "chemprop" / "regression.pt"
    # No epoch: the model kept is chemprop's, so it predicts what chemprop predicts.
    moltx.train(data, ["heavy_atoms", "logp"], out=tmp_path / "kept", init_from=start, epochs=0)
    expected = pd.read_csv(fixtures / "chemprop" / "regression_preds.csv")
    got = moltx.Model.load(tmp_path / "kept" / "model_0.moltx").predict(list(expected["smiles"]))
    for task in ["heavy_atoms", "logp"]:
        assert abs(got[task].to_numpy() - expected[task].to_numpy()).max() < 1e-4
    m = moltx.train(data, ["heavy_atoms", "logp"], out=tmp_path / "tuned", init_from=start,
                    epochs=2, weight_average=0.9, log_steps=True, shuffle_seed=3)
    steps = pd.read_csv(tmp_path / "tuned" / "steps_0.csv")
    assert list(steps.columns) == ["epoch", "step", "lr", "loss", "rows"]
    assert len(steps) == 2 * -(-m["splits"]["train"] // 64)
    with pytest.raises(moltx.MoltxError, match="has 2 output"):
        moltx.train(data, ["logp"], out=tmp_path / "x", init_from=start)
