"""Connectivity and signature files: a DataFrame, a matrix and a path rank alike, as
`moltx connect` does; GCT files read into genes × signatures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import moltx
from conftest import FIXTURES, run_cli

EXPR = FIXTURES / "expr"


def test_connect_frame_matrix_and_path_rank_alike(cli, tmp_path) -> None:
    by_path = moltx.connect(EXPR / "query.gmt", EXPR / "refs.tsv")
    refs = pd.read_csv(EXPR / "refs.tsv", sep="\t", index_col=0).T  # genes × signatures
    by_frame = moltx.connect(EXPR / "query.gmt", refs)
    by_matrix = moltx.connect(EXPR / "query.gmt", refs.to_numpy(), genes=list(refs.index),
                              ids=list(refs.columns))
    cached = moltx.References.from_frame(refs)
    by_object = moltx.connect(EXPR / "query.gmt", cached)
    assert list(by_path.columns) == ["id", "wtcs", "ncs", "tau"]
    assert by_path["id"][0] == "DB00001", "the fixture's reverser ranks first"
    assert by_path["wtcs"][0] < 0
    for other in (by_frame, by_matrix, by_object):
        pd.testing.assert_frame_equal(other, by_path, check_exact=True)
    out = tmp_path / "cli.tsv"
    run_cli(cli, "connect", "--query", EXPR / "query.gmt", "--reference", EXPR / "refs.tsv",
            "--score", "wtcs", "--out", out)
    want = pd.read_csv(out, sep="\t")
    assert want["id"].tolist() == by_path["id"].tolist()
    for col in ("wtcs", "ncs"):
        assert np.abs(want[col].to_numpy() - by_path[col].to_numpy()).max() <= 1e-6
    assert np.abs(want["tau"].to_numpy() - by_path["tau"].to_numpy()).max() <= 0.005


def test_connect_query_kinds_and_options() -> None:
    gmt = moltx.connect(EXPR / "query.gmt", EXPR / "refs.tsv", tau_background=0)
    assert list(gmt.columns) == ["id", "wtcs", "ncs"]
    genes = {"up": ["1014", "1000", "1007", "1012"], "down": ["1019", "1008", "1009", "1002"]}
    pd.testing.assert_frame_equal(moltx.connect(genes, EXPR / "refs.tsv", tau_background=0), gmt)
    mimic = moltx.connect(genes, EXPR / "refs.tsv", tau_background=0, order="mimic", top=2)
    assert len(mimic) == 2 and mimic["ncs"][0] == gmt["ncs"].max()
    refs = pd.read_csv(EXPR / "refs.tsv", sep="\t", index_col=0)
    signature = refs.loc["DB00000"]
    cos = moltx.connect(signature, EXPR / "refs.tsv", "cosine")
    assert list(cos.columns) == ["id", "cosine"]
    assert cos["id"][0] == "DB00001" and cos["cosine"][0] == pytest.approx(-1.0, abs=1e-9)
    with pytest.raises(moltx.MoltxError, match="unknown score 'nope'"):
        moltx.connect(genes, EXPR / "refs.tsv", "nope")


def test_read_gct() -> None:
    df = moltx.read_gct(EXPR / "l1000_small.gct")
    lines = (EXPR / "l1000_small.gct").read_text().splitlines()
    n_rows, n_cols, n_row_meta, n_col_meta = map(int, lines[1].split("\t"))
    header = lines[2].split("\t")
    assert df.shape == (n_rows, n_cols) == (8, 5)
    assert df.columns.tolist() == header[1 + n_row_meta:]
    first = lines[3 + n_col_meta].split("\t")
    assert df.index[0] == first[0]
    np.testing.assert_allclose(df.iloc[0].to_numpy(), [float(v) for v in first[1 + n_row_meta:]])
    data, genes, sigs = moltx.read_gct(EXPR / "l1000_small.gct", metadata=True)
    pd.testing.assert_frame_equal(data, df)
    assert genes.shape == (8, n_row_meta) and "pr_gene_symbol" in genes.columns
    assert sigs.shape == (5, n_col_meta) and sigs.index.tolist() == df.columns.tolist()
    v12 = moltx.read_gct(EXPR / "v12.gct")
    assert v12.shape == (3, 2) and v12.columns.tolist() == ["S1", "S2"]
    # A GCT's signatures are references as they are.
    assert moltx.References.from_frame(df).ids == df.columns.tolist()
