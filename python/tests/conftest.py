"""Shared fixtures: the repository's fixtures, the `moltx` command, a small trained ensemble."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

import moltx

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DRUGS = FIXTURES / "approved_drugs.csv"


def drug_smiles() -> list:
    """The bundled drugs' SMILES, in file order."""
    with open(DRUGS, newline="") as f:
        return [row["smiles"] for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `moltx` command built by `cargo build`/`cargo test` (MOLTX_BIN overrides)."""
    path = Path(os.environ.get("MOLTX_BIN", ROOT / "target" / "debug" / "moltx"))
    assert path.exists(), f"{path} is missing: run `cargo build` first (make python-test does)"
    return path


def run_cli(cli: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs the command from the repository root."""
    return subprocess.run(
        [str(cli), *map(str, args)], cwd=ROOT, capture_output=True, text=True, check=check
    )


@pytest.fixture(scope="session")
def bundled() -> moltx.Model:
    return moltx.Model.bundled()


@pytest.fixture(scope="session")
def atoms_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regression table from the bundled drugs: the number of heavy atoms (a learnable
    target), plus one row RDKit rejects."""
    path = tmp_path_factory.mktemp("train") / "atoms.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["smiles", "heavy_atoms", "rings"])
        for s in drug_smiles():
            w.writerow([s, sum(c.isupper() for c in s if c != "H"), s.count("1")])
        w.writerow(["C1CC(", 3, 0])
    return path


@pytest.fixture(scope="session")
def ensemble(tmp_path_factory: pytest.TempPathFactory, atoms_table: Path) -> tuple:
    """A two-member ensemble trained on the table: (folder, metrics)."""
    out = tmp_path_factory.mktemp("ensemble") / "model"
    with pytest.warns(UserWarning, match="1 rows left out"):
        metrics = moltx.train(
            atoms_table,
            ["heavy_atoms", "rings"],
            out=out,
            ensemble=2,
            epochs=3,
            hidden=32,
            ffn_hidden=32,
            seed=1,
            threads=2,
        )
    return out, metrics
