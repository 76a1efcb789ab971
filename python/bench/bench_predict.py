#!/usr/bin/env python3
"""Throughput of `moltx.Model.predict` against `moltx screen` and against chemprop.

A script, not a test. From the repository root, in the package's venv:

    target/py-venv/bin/python python/bench/bench_predict.py --rows 50000 \
        --chemprop-python /work/cp-venv/bin/python

Measures, on the first ``--rows`` SMILES of ``../shared/data/screening/moses_train.csv.gz``
(1.58M rows in all):

(a) ``moltx.Model.bundled().predict`` in memory, ``--chunk`` rows per call (a pyarrow slice
    each, results as DataFrames), rows/s;
(b) the ``moltx screen`` command (``--cli``; default ``target/release/moltx`` if present,
    else ``target/debug/moltx``) on the same rows written to a temporary CSV, rows/s from the
    wall time of the whole process (start-up, reading, writing the output CSV included);
    and the ratio (a)/(b);
(c) with ``--chemprop-python``: chemprop's Python API (``MPNN.load_from_file``,
    ``MoleculeDatapoint``/``MoleculeDataset``, ``build_dataloader``, a CPU Lightning
    ``Trainer.predict``) on the first ``--chemprop-rows`` of those SMILES with a chemprop
    model, in a separate process of that interpreter, against ``moltx.Model.predict`` with
    the same model imported by ``moltx import-chemprop``; rows/s side by side, the ratio,
    and the largest difference between the two tools' predictions. The model is
    ``--chemprop-model`` (default: the fixture ``fixtures/chemprop/regression.pt``, hidden
    32, depth 2); ``--bundled-size`` adds an untrained chemprop model of the bundled model's
    size (hidden 300, depth 3, mean aggregation, FFN 1×300, 12 classification tasks; random
    weights: the throughput does not depend on them).

Both tools use ``--threads`` threads (default 2): ``threads=`` for moltx (``RAYON_NUM_THREADS``
for the command), ``torch.set_num_threads`` for chemprop. Timings exclude imports and model
loading (and chemprop's model loading), and include featurization (SMILES parsing). The
build of each moltx artefact is reported: "dev" when it carries debug info (the dev profile:
dependencies at opt-level 2, the moltx crate unoptimized: not representative), "release"
otherwise. The results go to stdout as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT.parent / "shared" / "data" / "screening" / "moses_train.csv.gz"


# ---------------------------------------------------------------------------------------------
# The chemprop side: runs in chemprop's interpreter (no moltx, numpy or pandas needed here).


def chemprop_worker(model_path: str, smiles_path: str, threads: int, out_path: str) -> None:
    """Predicts the SMILES of a file (one per line) with chemprop; writes timings and the
    predictions as JSON."""
    import torch

    torch.set_num_threads(threads)
    import numpy as np
    from chemprop import data, featurizers
    from chemprop.models import MPNN
    from lightning import pytorch as pl

    smiles = Path(smiles_path).read_text().split("\n")[:-1]
    t0 = time.perf_counter()
    model = MPNN.load_from_file(model_path, map_location="cpu")
    model.eval()
    t1 = time.perf_counter()
    points = [data.MoleculeDatapoint.from_smi(s) for s in smiles]
    dataset = data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())
    loader = data.build_dataloader(dataset, num_workers=0, shuffle=False)  # batch size 64
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
        enable_model_summary=False,
    )
    with torch.inference_mode():
        batches = trainer.predict(model, loader)
    preds = torch.cat(batches).numpy().reshape(len(smiles), -1)
    t2 = time.perf_counter()
    Path(out_path).write_text(json.dumps({
        "load_seconds": t1 - t0,
        "seconds": t2 - t1,
        "rows": len(smiles),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "preds": np.asarray(preds, dtype=float).tolist(),
    }))


def make_bundled_size_model(path: str) -> None:
    """An untrained chemprop model of the bundled model's architecture."""
    import torch
    from chemprop import models, nn

    torch.manual_seed(0)
    mpnn = models.MPNN(
        nn.BondMessagePassing(d_h=300, depth=3),
        nn.MeanAggregation(),
        nn.BinaryClassificationFFN(n_tasks=12, input_dim=300, hidden_dim=300, n_layers=1),
    )
    models.utils.save_model(path, mpnn, [f"task_{i}" for i in range(12)])


# ---------------------------------------------------------------------------------------------
# The moltx side.


def build_of(path: Path) -> str:
    """'dev' for an ELF file with debug sections, 'release' without, '?' if unknown."""
    try:
        sections = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True,
                                  text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return "dev" if ".debug_info" in sections else "release"


def shown(path: Path) -> str:
    """A path relative to the repository root where it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def read_smiles(rows: int) -> list:
    import pandas as pd

    frame = pd.read_csv(LIBRARY, nrows=rows)
    column = next(c for c in frame.columns if "smiles" in c.lower())
    return frame[column].astype(str).tolist()


def time_predict(model, smiles: list, chunk: int, threads: int) -> tuple:
    """(seconds, failed rows, frames) of predict over the SMILES in chunks."""
    import pyarrow as pa

    array = pa.array(smiles, type=pa.string())
    model.predict(smiles[:256], threads=threads)  # warm-up (allocator, thread pool)
    failed = 0
    frames = []
    t0 = time.perf_counter()
    for start in range(0, len(smiles), chunk):
        df = model.predict(array.slice(start, chunk), threads=threads)
        failed += int(df["error"].notna().sum())
        frames.append(df)
    return time.perf_counter() - t0, failed, frames


def run_cli(cli: Path, args: list, threads: int) -> float:
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    done = subprocess.run([str(cli), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{cli} failed:\n{done.stderr}")
    return seconds


def compare_with_chemprop(label: str, chemprop_model: Path, smiles: list, args, tmp: Path,
                          cli: Path, module_build: str, rows: list) -> None:
    import numpy as np

    import moltx

    smiles_file = tmp / "chemprop_smiles.txt"
    smiles_file.write_text("".join(s + "\n" for s in smiles))
    result = tmp / "chemprop.json"
    subprocess.run([args.chemprop_python, __file__, "--chemprop-worker", str(chemprop_model),
                    str(smiles_file), str(args.threads), str(result)], check=True,
                   env=dict(os.environ, PYTHONWARNINGS="ignore"), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL if not args.verbose else None)
    cp = json.loads(result.read_text())
    imported = tmp / f"{chemprop_model.stem}.moltx"
    subprocess.run([str(cli), "import-chemprop", str(chemprop_model), "--out", str(imported)],
                   check=True, capture_output=True)
    model = moltx.Model.load(imported, threads=args.threads)
    seconds, failed, frames = time_predict(model, smiles, args.chunk, args.threads)
    got = np.concatenate([f[model.tasks].to_numpy(dtype=float) for f in frames])
    want = np.asarray(cp["preds"], dtype=float)
    diff = float(np.nanmax(np.abs(got - want))) if got.shape == want.shape else float("nan")
    n = len(smiles)
    rows.append((f"(c) chemprop {label}", f"chemprop 2.3.1 Python API (torch {cp['torch']}, "
                 f"{cp['torch_threads']} threads, batch 64)", "-", n, cp["seconds"]))
    rows.append((f"(c) moltx {label}", "Model.load(import-chemprop).predict", module_build, n,
                 seconds))
    args.notes.append(f"(c) {label}: moltx / chemprop = {cp['seconds'] / seconds:.2f}x; "
                      f"largest |moltx - chemprop| over {n} x {got.shape[1]} predictions = "
                      f"{diff:.2e}; failed rows in moltx: {failed}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--chemprop-worker":
        chemprop_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--make-chemprop-model":
        make_bundled_size_model(sys.argv[2])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=50_000, help="rows per predict call")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cli", type=Path, default=None)
    p.add_argument("--chemprop-python", default=None)
    p.add_argument("--chemprop-rows", type=int, default=20_000)
    p.add_argument("--chemprop-model", type=Path,
                   default=ROOT / "fixtures" / "chemprop" / "regression.pt")
    p.add_argument("--bundled-size", action="store_true",
                   help="also compare an untrained chemprop model of the bundled model's size")
    p.add_argument("--skip-screen", action="store_true")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    args.notes = []

    import moltx

    cli = args.cli
    if cli is None:
        release = ROOT / "target" / "release" / "moltx"
        cli = release if release.exists() else ROOT / "target" / "debug" / "moltx"
    module_path = Path(moltx._moltx.__file__)
    module_build = build_of(module_path)
    cli_build = build_of(cli)

    smiles = read_smiles(args.rows)
    n = len(smiles)
    rows = []
    with tempfile.TemporaryDirectory(prefix="moltx-bench-") as tmp_name:
        tmp = Path(tmp_name)

        model = moltx.Model.bundled(threads=args.threads)
        seconds, failed, _ = time_predict(model, smiles, args.chunk, args.threads)
        rows.append(("(a) predict, bundled model", f"moltx.Model.bundled().predict, "
                     f"{args.chunk} rows per call", module_build, n, seconds))
        args.notes.append(f"(a) failed rows: {failed}")

        if not args.skip_screen:
            library = tmp / "library.csv"
            library.write_text("smiles\n" + "".join(s + "\n" for s in smiles))
            screen = run_cli(cli, ["screen", "--library", library, "--out", tmp / "scores.csv",
                                   "--quiet"], args.threads)
            rows.append(("(b) screen, bundled model", f"`{shown(cli)} screen` "
                         "(CSV in, CSV out, process wall time)", cli_build, n, screen))
            like = "like with like" if module_build == cli_build else (
                f"NOT like with like: predict is {module_build}, screen is {cli_build}")
            args.notes.append(f"(a)/(b): predict runs at {screen / seconds:.2f}x the rate of "
                              f"screen ({like}; target >= 0.9)")

        if args.chemprop_python:
            subset = smiles[: args.chemprop_rows]
            compare_with_chemprop(f"{args.chemprop_model.name}", args.chemprop_model, subset,
                                  args, tmp, cli, module_build, rows)
            if args.bundled_size:
                big = tmp / "bundled_size.pt"
                subprocess.run([args.chemprop_python, __file__, "--make-chemprop-model",
                                str(big)], check=True, capture_output=True)
                compare_with_chemprop("bundled-size (untrained)", big, subset, args, tmp, cli,
                                      module_build, rows)

    print(f"moltx module: {module_path} ({module_build}); command: {cli} ({cli_build}); "
          f"{args.threads} threads; library: first {n} rows of {LIBRARY.name}")
    print()
    print("| measurement | tool | moltx build | rows | seconds | rows/s |")
    print("|---|---|---|---:|---:|---:|")
    for what, tool, build, count, secs in rows:
        print(f"| {what} | {tool} | {build} | {count} | {secs:.2f} | {count / secs:,.0f} |")
    print()
    for note in args.notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
