"""Atom attributions: one row per atom per task, contributions that add up, the same numbers
as `moltx explain`, pictures that are valid SVG naming their molecule, and nitrogen atoms
ranked first by a model trained to count them."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import moltx
from conftest import drug_smiles, run_cli

PARACETAMOL = "CC(=O)Nc1ccc(O)cc1"
SVG = "{http://www.w3.org/2000/svg}"


def test_rows_per_atom_and_task_with_failures_in_place(bundled: moltx.Model) -> None:
    df = bundled.explain([PARACETAMOL, "C1CC(", None], tasks=["SR-MMP", "NR-AR"], steps=16)
    assert list(df.columns) == [
        "row", "smiles", "task", "atom", "element", "contribution", "output", "baseline", "error",
    ]
    ok = df[df["error"].isna()]
    assert len(ok) == 2 * 11, "11 atoms of paracetamol for each of two tasks"
    assert ok["task"].tolist() == ["SR-MMP"] * 11 + ["NR-AR"] * 11
    assert ok["atom"].tolist()[:11] == list(range(11))
    assert ok["element"].tolist()[3] == "N"
    failed = df[df["error"].notna()]
    assert failed["row"].tolist() == [1, 2]
    assert "C1CC(" in failed["error"].iloc[0]
    assert failed["error"].iloc[1] == "missing SMILES (null)"
    assert failed["contribution"].isna().all()
    # Integrated gradients are complete: per task the contributions sum to output - baseline.
    for _, g in ok.groupby("task"):
        delta = g["output"].iloc[0] - g["baseline"].iloc[0]
        assert abs(g["contribution"].sum() - delta) <= 0.05 * abs(delta) + 0.05


def test_the_same_numbers_as_the_command(bundled: moltx.Model, cli: Path, tmp_path: Path) -> None:
    smiles = drug_smiles()[:3]
    data = tmp_path / "in.csv"
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["smiles"])
        w.writerows([s] for s in smiles)
    out = tmp_path / "out"
    run_cli(cli, "explain", "--input", data, "--out", out, "--task", "SR-MMP", "--steps", "8")
    command = pd.read_csv(out / "attributions.csv")
    ours = bundled.explain(smiles, tasks=["SR-MMP"], steps=8)
    assert command["atom"].tolist() == ours["atom"].tolist()
    assert command["element"].tolist() == ours["element"].tolist()
    np.testing.assert_allclose(ours["contribution"], command["contribution"], rtol=1e-12, atol=1e-12)
    table = bundled.explain(smiles, tasks=["SR-MMP"], steps=8, as_arrow=True)
    assert table.num_rows == len(ours)


def test_pictures_are_svg_documents_that_name_their_molecule(bundled: moltx.Model) -> None:
    svg = bundled.explain_svg(PARACETAMOL, "SR-MMP", steps=8, legend="paracetamol <&>")
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "paracetamol <&>"
    default = ET.fromstring(bundled.explain_svg(PARACETAMOL, steps=4).encode())
    title = default.find(f"{SVG}title").text
    assert title.startswith(PARACETAMOL) and bundled.tasks[0] in title
    with pytest.raises(moltx.MoltxError, match="C1CC"):
        bundled.explain_svg("C1CC(")
    with pytest.raises(moltx.MoltxError, match="unknown task"):
        bundled.explain([PARACETAMOL], tasks=["logP"])


def roc_auc(labels: "pd.Series[bool]", scores: "pd.Series[float]") -> float:
    """ROC-AUC as the Mann-Whitney statistic (ties count half)."""
    ranks = scores.rank().to_numpy()
    positive = labels.to_numpy()
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_a_model_counting_nitrogens_credits_the_nitrogens(bundled: moltx.Model, tmp_path: Path) -> None:
    """A D-MPNN trained on the drugs' nitrogen counts ranks their nitrogen atoms first."""
    smiles = drug_smiles()
    atoms = bundled.explain(smiles, tasks=["NR-AR"], steps=1)  # just for the elements
    counts = atoms.groupby("row")["element"].apply(lambda e: int((e == "N").sum()))
    data = pd.DataFrame({"smiles": smiles, "nitrogens": counts.to_numpy()})
    moltx.train(
        data, ["nitrogens"], out=tmp_path / "m", task="regression", epochs=60, hidden=64,
        ffn_hidden=64, batch_size=16, seed=0, threads=2,
    )
    model = moltx.Model.load(tmp_path / "m")
    df = model.explain(smiles, steps=32)
    auc = roc_auc(df["element"] == "N", df["contribution"])
    assert auc > 0.9, f"ROC-AUC of contributions for nitrogen atoms {auc:.3f}"
