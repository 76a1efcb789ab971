"""Uncertainty through the Python package: MC dropout and an ensemble's spread
(``Model.load(..., uncertainty=...)``), and calibrations written by ``moltx calibrate``
applied on load, as ``moltx predict`` applies them."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import numpy as np
import pytest

import moltx

from conftest import DRUGS, drug_smiles, run_cli


@pytest.fixture(scope="module")
def dropout_model(tmp_path_factory: pytest.TempPathFactory, atoms_table: Path) -> Path:
    """A regression D-MPNN trained with dropout 0.2 on the atoms table."""
    out = tmp_path_factory.mktemp("dropout") / "model"
    with pytest.warns(UserWarning, match="1 rows left out"):
        moltx.train(atoms_table, ["heavy_atoms"], out=out, epochs=3, hidden=32, ffn_hidden=32,
                    dropout=0.2, seed=2, threads=2)
    return out


def test_mc_dropout_is_reproducible_and_survives_pickling(dropout_model: Path) -> None:
    smiles = drug_smiles()[:20]
    model = moltx.Model.load(dropout_model, uncertainty="dropout", samples=6, seed=1)
    assert model.uncertainty == "dropout" and model.is_ensemble
    a = model.predict(smiles)
    assert list(a.columns) == ["smiles", "heavy_atoms", "heavy_atoms_unc", "error"]
    assert (a["heavy_atoms_unc"] > 0).all()
    b = moltx.Model.load(dropout_model, uncertainty="dropout", samples=6, seed=1).predict(smiles)
    assert a.equals(b)
    c = moltx.Model.load(dropout_model, uncertainty="dropout", samples=6, seed=2).predict(smiles)
    assert not np.allclose(a["heavy_atoms_unc"], c["heavy_atoms_unc"])
    again = pickle.loads(pickle.dumps(model))
    assert again.uncertainty == "dropout"
    assert again.predict(smiles).equals(a)
    plain = moltx.Model.load(dropout_model)
    assert plain.uncertainty is None and not plain.is_ensemble


def test_a_dropout_rate_of_its_own_samples_a_model_trained_without_dropout(ensemble) -> None:
    folder, _ = ensemble
    smiles = drug_smiles()[:10]
    model = moltx.Model.load(folder, uncertainty="dropout", samples=5, dropout_p=0.1)
    a = model.predict(smiles)
    assert (a["heavy_atoms_unc"] > 0).all() and (a["rings_unc"] > 0).all()
    wider = moltx.Model.load(folder, uncertainty="dropout", samples=5, dropout_p=0.4)
    assert wider.predict(smiles)["heavy_atoms_unc"].mean() > a["heavy_atoms_unc"].mean()
    assert pickle.loads(pickle.dumps(model)).predict(smiles).equals(a)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        moltx.Model.load(folder, uncertainty="dropout", dropout_p=1.5)
    with pytest.raises(ValueError, match="dropout_p"):
        moltx.Model.load(folder, dropout_p=0.1)


def test_bad_uncertainty_arguments(dropout_model: Path, ensemble) -> None:
    folder, _ = ensemble
    with pytest.raises(moltx.MoltxError, match="dropout 0"):
        moltx.Model.load(folder, uncertainty="dropout")
    with pytest.raises(ValueError, match="expected"):
        moltx.Model.load(dropout_model, uncertainty="bootstrap")
    with pytest.raises(ValueError, match="samples, seed and dropout_p"):
        moltx.Model.load(dropout_model, samples=5)
    with pytest.raises(moltx.MoltxError, match="single network"):
        moltx.Model.load(dropout_model, uncertainty="ensemble")
    spread = moltx.Model.load(folder, uncertainty="ensemble").predict(["CCO"])
    assert "heavy_atoms_unc" in spread.columns and "rings_unc" in spread.columns


def test_a_calibration_is_applied_on_load_as_predict_applies_it(
    cli: Path, dropout_model: Path, atoms_table: Path, ensemble, tmp_path: Path
) -> None:
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    for f in dropout_model.glob("*.moltx"):
        (model_dir / f.name).write_bytes(f.read_bytes())
    run_cli(cli, "calibrate", "--model", model_dir, "--data", atoms_table, "--targets",
            "heavy_atoms", "--method", "conformal", "--coverage", "0.8", "--uncertainty",
            "dropout", "--samples", "4")
    model = moltx.Model.load(model_dir)
    assert model.calibration is not None and model.calibration["method"] == "conformal"
    assert model.uncertainty == "dropout", "MC dropout on, as the calibration was fitted"
    smiles = drug_smiles()
    df = model.predict(smiles)
    assert list(df.columns) == ["smiles", "heavy_atoms", "heavy_atoms_unc", "heavy_atoms_lo",
                                "heavy_atoms_hi", "error"]
    assert (df["heavy_atoms_lo"] < df["heavy_atoms"]).all()
    # The same numbers as `moltx predict` writes (6 decimals).
    out = tmp_path / "pred.csv"
    run_cli(cli, "predict", "--quiet", "--model", model_dir, "--input", DRUGS, "--out", out)
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert np.allclose([float(r["heavy_atoms_hi"]) for r in rows], df["heavy_atoms_hi"], atol=2e-6)
    off = moltx.Model.load(model_dir, calibration=False).predict(smiles)
    assert list(off.columns) == ["smiles", "heavy_atoms", "error"]
    # Another model's calibration is refused, naming the file.
    with pytest.raises(moltx.MoltxError, match="another model"):
        moltx.Model.load(ensemble[0], calibration=model_dir / "calibration.json")
