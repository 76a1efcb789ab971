"""Ray Data: `moltx.ray.Predictor` on every batch format, and `moltx.ray.screen` on a local
cluster equals `moltx screen` row for row."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import moltx
from conftest import drug_smiles, run_cli

ray = pytest.importorskip("ray")
import moltx.ray  # noqa: E402  (needs ray)


@pytest.fixture(scope="module")
def cluster():
    """A local two-CPU cluster on the loopback interface, without the dashboard."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=200 * 1024 * 1024,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


def library(copies: int) -> pa.Table:
    """The bundled drugs (and one bad SMILES) repeated with distinct ids."""
    smiles = drug_smiles() + ["C1CC("]
    ids = [f"m{i}_{c}" for c in range(copies) for i in range(len(smiles))]
    return pa.table({"id": ids, "smiles": smiles * copies, "batch": [c for c in range(copies) for _ in smiles]})


def test_predictor_keeps_columns_in_every_batch_format() -> None:
    p = moltx.ray.Predictor(threads=1)
    table = library(2)
    arrow = p(table)
    assert arrow.column_names == ["id", "smiles", "batch", *p.model.tasks, "error"]
    assert arrow.num_rows == table.num_rows
    assert arrow.column("id").equals(table.column("id"))
    assert arrow.column("error").null_count == table.num_rows - 2
    frame = p(table.to_pandas())
    assert list(frame.columns) == arrow.column_names
    np.testing.assert_array_equal(frame["NR-AR"].to_numpy(), arrow.column("NR-AR").to_numpy())
    batch = p({k: table.column(k).to_numpy() for k in table.column_names})
    np.testing.assert_array_equal(batch["SR-MMP"], arrow.column("SR-MMP").to_numpy())


def test_ray_screen_equals_moltx_screen(cluster, cli, tmp_path) -> None:
    table = library(50)  # 3,100 rows
    path = tmp_path / "library.parquet"
    pq.write_table(table, path, row_group_size=400)
    # The same rows in four files for Ray (the command reads one).
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(4):
        pq.write_table(table.slice(i * 775, 775), parts / f"part-{i}.parquet")
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    ds = ray.data.read_parquet(str(parts), override_num_blocks=4)
    # Two actors of half a CPU each leave a CPU for the read tasks of a 2-CPU cluster.
    ds = moltx.ray.screen(ds, moltx.Model.bundled(), batch_size=500, concurrency=2,
                          num_cpus=0.5)
    got = ds.to_pandas()
    out = tmp_path / "cli.csv"
    run_cli(cli, "screen", "--library", path, "--out", out, "--quiet")
    want = pd.read_csv(out)
    assert len(got) == len(want) == table.num_rows
    assert got["id"].tolist() == want["id"].tolist() == table.column("id").to_pylist()
    assert got["smiles"].tolist() == want["smiles"].tolist()
    tasks = moltx.Model.bundled().tasks
    failed = got["error"].notna().to_numpy()
    np.testing.assert_array_equal(failed, want["error"].notna().to_numpy())
    assert failed.sum() == 50
    assert got["error"][failed].tolist() == want["error"][failed].tolist()
    values = got[tasks].to_numpy(dtype=np.float64, na_value=np.nan)
    a, b = values[~failed], want[tasks].to_numpy()[~failed]
    assert np.abs(a - b).max() <= 1e-6
    assert np.isnan(values[failed]).all()
