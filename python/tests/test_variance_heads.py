"""``moltx.train(..., loss="mve" | "evidential")``: models that predict their own uncertainty,
loaded with it as ``<task>_unc``."""

from __future__ import annotations

import pandas as pd
import pytest

import moltx
from conftest import drug_smiles


def test_train_with_loss_mve_predicts_its_own_uncertainty(atoms_table, tmp_path) -> None:
    metrics = moltx.train(atoms_table, ["heavy_atoms"], out=tmp_path / "mve", epochs=3,
                          hidden=16, ffn_hidden=16, loss="mve")
    # The test split's uncertainty metrics come from the predicted σ, one model alone.
    assert {"nll", "miscalibration_area", "spearman_unc_abs_err"} <= set(metrics["uncertainty"])
    model = moltx.Model.load(tmp_path / "mve")
    assert model.uncertainty == "ensemble"  # the model's own spread, without being asked
    frame = model.predict(drug_smiles()[:5])
    assert "heavy_atoms_unc" in frame.columns and "heavy_atoms_std" not in frame.columns
    assert (frame["heavy_atoms_unc"] > 0).all()
    evidential = moltx.train(atoms_table, ["heavy_atoms"], out=tmp_path / "ev", epochs=2,
                             hidden=16, ffn_hidden=16, loss="evidential")
    assert evidential["tasks"] == ["heavy_atoms"]
    assert (moltx.Model.load(tmp_path / "ev").predict(drug_smiles()[:3])["heavy_atoms_unc"] > 0).all()


def test_variance_losses_are_refused_where_they_do_not_apply(atoms_table, tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        moltx.train(atoms_table, out=tmp_path / "x", loss="huber")
    labels = pd.DataFrame({"smiles": drug_smiles(), "active": [i % 2 for i in range(61)]})
    with pytest.raises(moltx.MoltxError, match="regression's variance"):
        moltx.train(labels, ["active"], out=tmp_path / "y", epochs=1, hidden=16,
                    ffn_hidden=16, loss="evidential")
