"""In-memory prediction: one row per input in order, failures as rows, every input kind,
the same numbers as the `moltx` command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import moltx
from conftest import DRUGS, FIXTURES, drug_smiles, run_cli


def test_bundled_model_keeps_bad_smiles_as_error_rows(bundled: moltx.Model) -> None:
    assert len(bundled.tasks) == 12 and bundled.tasks[0] == "NR-AR"
    assert not bundled.is_ensemble
    assert bundled.input_spec["structure"]["kind"] == "graph"
    df = bundled.predict(["CCO", "C1CC(", None, "c1ccccc1", ""])
    assert list(df.columns) == ["smiles", *bundled.tasks, "error"]
    assert len(df) == 5
    failed = df["error"].notna().tolist()
    assert failed == [False, True, True, False, True]
    assert "C1CC(" in df["error"][1] and "SMILES Parse Error" in df["error"][1]
    assert df["error"][2] == "missing SMILES (null)"
    assert df.loc[[1, 2, 4], bundled.tasks].isna().all().all()
    assert df.loc[[0, 3], bundled.tasks].notna().all().all()
    assert 0.0 < df["NR-AR"][0] < 0.5, "ethanol is no androgen receptor agonist"
    assert df["smiles"][3] == "c1ccccc1"


def test_order_is_preserved(bundled: moltx.Model) -> None:
    smiles = drug_smiles()
    forward = bundled.predict(smiles)
    backward = bundled.predict(smiles[::-1])
    assert forward["smiles"].tolist() == smiles
    assert backward["smiles"].tolist() == smiles[::-1]
    a = forward[bundled.tasks].to_numpy()
    b = backward[bundled.tasks].to_numpy()[::-1]
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    # Each row is that molecule's prediction, not its neighbour's.
    one = bundled.predict([smiles[7]])
    np.testing.assert_allclose(one[bundled.tasks].to_numpy()[0], a[7], rtol=0, atol=1e-12)
    assert not np.allclose(a[7], a[8])


def test_every_input_kind_gives_the_same_rows(bundled: moltx.Model) -> None:
    smiles = drug_smiles()[:20] + ["C1CC("]
    expected = bundled.predict(smiles)
    inputs = {
        "tuple": tuple(smiles),
        "generator": (s for s in smiles),
        "numpy": np.array(smiles),
        "series": pd.Series(smiles),
        "arrow series": pd.Series(smiles, dtype="string[pyarrow]"),
        "categorical": pd.Series(smiles, dtype="category"),
        "arrow": pa.array(smiles),
        "large string": pa.array(smiles, type=pa.large_string()),
        "chunked": pa.chunked_array([smiles[:7], smiles[7:15], smiles[15:]]),
    }
    for name, value in inputs.items():
        got = bundled.predict(value)
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    with pytest.raises(TypeError, match="single string"):
        bundled.predict("CCO")
    with pytest.raises(TypeError, match="SMILES"):
        bundled.predict([1, 2])


def test_arrow_output_is_the_frame(bundled: moltx.Model) -> None:
    smiles = ["CCO", "C1CC(", "c1ccccc1"]
    table = bundled.predict(smiles, as_arrow=True)
    assert isinstance(table, pa.Table)
    assert table.schema.field("NR-AR").type == pa.float64()
    assert table.column("NR-AR").null_count == 1, "a failed row is null in Arrow"
    frame = bundled.predict(smiles)
    np.testing.assert_array_equal(table.column("SR-MMP").to_numpy(), frame["SR-MMP"].to_numpy())
    assert table.column("error").to_pylist()[0] is None


def test_rdkit_mol_objects() -> None:
    Chem = pytest.importorskip("rdkit.Chem")
    model = moltx.Model.bundled()
    mols = [Chem.MolFromSmiles("OCC"), Chem.MolFromSmiles("c1ccccc1O")]
    got = model.predict(mols)
    assert got["smiles"].tolist() == [Chem.MolToSmiles(m) for m in mols]
    want = model.predict([Chem.MolToSmiles(m) for m in mols])
    pd.testing.assert_frame_equal(got, want)


def test_predictions_equal_the_cli(cli, tmp_path) -> None:
    out = tmp_path / "cli.csv"
    run_cli(cli, "predict", "--model", FIXTURES / "models" / "tox21", "--library", DRUGS,
            "--out", out, "--quiet")
    want = pd.read_csv(out)
    model = moltx.Model.load(FIXTURES / "models" / "tox21")
    got = model.predict(drug_smiles())
    assert len(got) == len(want) == 61
    assert got["smiles"].tolist() == want["smiles"].tolist()
    diff = np.abs(got[model.tasks].to_numpy() - want[model.tasks].to_numpy())
    assert diff.max() <= 1e-6, f"largest difference {diff.max()}"


def test_threads_do_not_change_results(bundled: moltx.Model) -> None:
    smiles = drug_smiles()
    one = bundled.predict(smiles, threads=1)
    two = bundled.predict(smiles, threads=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_ensembles_report_a_standard_deviation(ensemble) -> None:
    folder, _ = ensemble
    model = moltx.Model.load(folder)
    assert model.is_ensemble and model.tasks == ["heavy_atoms", "rings"]
    smiles = drug_smiles()[:10] + ["C1CC("]
    df = model.predict(smiles)
    assert list(df.columns) == ["smiles", "heavy_atoms", "rings", "heavy_atoms_std", "rings_std", "error"]
    members = [moltx.Model.load(folder / f"model_{i}.moltx").predict(smiles) for i in range(2)]
    a, b = (m[["heavy_atoms", "rings"]].to_numpy() for m in members)
    np.testing.assert_allclose(df[["heavy_atoms", "rings"]].to_numpy(), (a + b) / 2, atol=1e-9)
    # The members' population standard deviation: half their difference.
    np.testing.assert_allclose(df[["heavy_atoms_std", "rings_std"]].to_numpy(), np.abs(a - b) / 2, atol=1e-9)
    assert (df["heavy_atoms_std"][:10] > 0).all(), "two seeds disagree somewhere"
    assert math.isnan(df["rings_std"][10]) and isinstance(df["error"][10], str)


def test_embeddings_equal_moltx_fingerprint(cli, tmp_path) -> None:
    out = tmp_path / "fp.csv"
    run_cli(cli, "fingerprint", "--model", FIXTURES / "models" / "tox21", "--library", DRUGS,
            "--out", out, "--quiet")
    want = pd.read_csv(out)
    model = moltx.Model.load(FIXTURES / "models" / "tox21")
    e = model.embed(drug_smiles() + ["C1CC("])
    assert e.shape == (62, 300) and e.dtype == np.float64
    assert not e.flags.writeable, "a view of the Rust buffer"
    assert np.isnan(e[61]).all() and not np.isnan(e[:61]).any()
    cols = [f"e{i}" for i in range(300)]
    assert np.abs(e[:61] - want[cols].to_numpy()).max() <= 1e-6
    np.testing.assert_array_equal(moltx.Model.bundled().embed(drug_smiles()[:3]), e[:3])


def test_models_pickle_as_the_way_to_load_them(tmp_path) -> None:
    import pickle

    model = moltx.Model.load(FIXTURES / "models" / "tox21", threads=1, max_atoms=40)
    again = pickle.loads(pickle.dumps(model))
    assert again.path == str(FIXTURES / "models" / "tox21")
    assert (again.threads, again.max_atoms) == (1, 40)
    smiles = drug_smiles()
    pd.testing.assert_frame_equal(again.predict(smiles), model.predict(smiles))
    assert model.predict(smiles)["error"].str.contains("too large").any(), "the limit travels"
    assert pickle.loads(pickle.dumps(moltx.Model.bundled())).path is None
