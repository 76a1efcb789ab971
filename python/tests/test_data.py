"""moltx.data: fetch from a local folder into a cache, verified; path; a missing dataset."""

import hashlib
import json

import pytest

import moltx


def write_registry(tmp_path, files):
    entries = [
        {"path": p, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
        for p, b in files.items()
    ]
    registry = {
        "datasets": [
            {"name": "tiny", "description": "fixture", "licence": "CC0", "files": entries}
        ]
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(registry))
    return path


def test_fetch_from_a_folder_then_path(tmp_path, monkeypatch):
    files = {"molecules/tiny.csv": b"smiles,y\nCCO,1\n", "expression/genes.tsv": b"id\n1\n"}
    source = tmp_path / "source"
    for p, b in files.items():
        (source / p).parent.mkdir(parents=True, exist_ok=True)
        (source / p).write_bytes(b)
    monkeypatch.setenv("MOLTX_REGISTRY", str(write_registry(tmp_path, files)))
    cache = tmp_path / "cache"
    with pytest.raises(moltx.MoltxError, match="moltx data fetch tiny"):
        moltx.data.path("tiny", cache=cache)
    folder = moltx.data.fetch("tiny", from_dir=source, cache=cache)
    assert folder == cache
    assert (cache / "molecules/tiny.csv").read_bytes() == files["molecules/tiny.csv"]
    assert moltx.data.path("tiny", cache=cache) == cache
    # A source whose bytes differ from the registry's checksum is refused, nothing kept.
    (source / "molecules/tiny.csv").write_bytes(b"smiles,y\nCCC,1\n")
    other = tmp_path / "other"
    with pytest.raises(moltx.MoltxError, match="(?i)sha-?256|checksum"):
        moltx.data.fetch("tiny", from_dir=source, cache=other)
    assert not (other / "molecules/tiny.csv").exists()
    with pytest.raises(moltx.MoltxError, match="nope"):
        moltx.data.fetch("nope", from_dir=source, cache=cache)
