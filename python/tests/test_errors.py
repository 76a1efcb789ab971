"""Rust errors are `moltx.MoltxError` with the library's message, the one `moltx` prints."""

from __future__ import annotations

import pytest

import moltx
from conftest import DRUGS, FIXTURES, run_cli


def test_moltx_error_is_an_exception_of_its_own() -> None:
    assert issubclass(moltx.MoltxError, Exception)
    assert not issubclass(moltx.MoltxError, (ValueError, OSError))


def test_a_missing_model_raises_the_cli_message(cli, tmp_path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(moltx.MoltxError) as info:
        moltx.Model.load(missing)
    r = run_cli(cli, "predict", "--model", missing, "--library", DRUGS, "--out",
                tmp_path / "o.csv", "--quiet", check=False)
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: {info.value}"
    assert str(missing) in str(info.value)


def test_a_corrupt_model_file_raises(tmp_path) -> None:
    bad = tmp_path / "bad.moltx"
    bad.write_bytes(b"MOLTX not really a model")
    with pytest.raises(moltx.MoltxError, match="bad.moltx"):
        moltx.Model.load(bad)


def test_a_bad_gct_raises_with_the_library_message(cli, tmp_path) -> None:
    with pytest.raises(moltx.MoltxError) as info:
        moltx.read_gct(FIXTURES / "expr" / "bad_value.gct")
    r = run_cli(cli, "connect", "--query", FIXTURES / "expr" / "query.gmt", "--reference",
                FIXTURES / "expr" / "bad_value.gct", "--out", tmp_path / "o.tsv", check=False)
    assert r.returncode == 1
    assert r.stderr.strip().endswith(str(info.value)), (r.stderr, str(info.value))
    assert "bad_value.gct" in str(info.value)


def test_a_missing_library_raises(bundled, tmp_path) -> None:
    with pytest.raises(moltx.MoltxError, match="nope.csv"):
        moltx.screen(tmp_path / "nope.csv", bundled, out=tmp_path / "o.csv")
    with pytest.raises(moltx.MoltxError, match="nope.csv"):
        moltx.train(tmp_path / "nope.csv", out=tmp_path / "m")
