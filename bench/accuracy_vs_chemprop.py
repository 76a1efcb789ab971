"""Test accuracy of moltx and chemprop 2.3.1 side by side, on identical splits, over seeds.

    python3 bench/accuracy_vs_chemprop.py run --chemprop ../cp-venv/bin/chemprop \
        --moltx target/release/moltx --out /tmp/acc [--sets esol,freesolv] [--splits scaffold]
    python3 bench/accuracy_vs_chemprop.py table --out /tmp/acc

`run` trains every (tool, set, split, seed) not yet in OUT/results.csv, so an interrupted run
continues where it stopped. The splits: `../shared/splits/<set>_<split>_seed0.csv` where that
file exists (chemprop 2.3.1's own seed-0 splits), else the split `moltx train --split <kind>
--seed 0` makes, written once as OUT/splits/<set>_<split>.csv and given to both tools (chemprop
takes it as a `--splits-file` JSON). Both tools run with their defaults (moltx 100 epochs,
chemprop 50; the validation loss picking the epoch); chemprop's seed is `--pytorch-seed` (its batch order follows
`--data-seed`, 0), moltx's is `--seed` (initialization and batch order). `--moltx-args` adds
flags to every moltx run, `--chemprop-args` to every chemprop run, and `--label` names such a
variant in the results (e.g. `ensemble5`; chemprop's runs keep the label `defaults` unless they
get arguments). `--chemprop-vary-order` gives chemprop `--data-seed` equal to `--pytorch-seed`,
so that its seeds vary the batch order too, as moltx's do.
Metrics: test RMSE for regression, test ROC-AUC (mean over tasks, as chemprop logs it) for
classification; for moltx also the validation value (`val`), by which options are chosen. `table` prints mean ± sd (sample sd) per tool, set and split.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"

# set: (file, smiles column, target columns, task type)
SETS = {
    "esol": ("esol.csv", "smiles", ["measured log solubility in mols per litre"], "regression"),
    "freesolv": ("freesolv.csv", "smiles", ["expt"], "regression"),
    "lipophilicity": ("lipophilicity.csv", "smiles", ["lipo"], "regression"),
    "tox21": (
        "tox21.csv",
        "smiles",
        # The file's columns after `smiles`, in order.
        "NR-AR,NR-AR-LBD,NR-AhR,NR-Aromatase,NR-ER,NR-ER-LBD,NR-PPAR-gamma,SR-ARE,SR-ATAD5,"  # noqa: SIM905
        "SR-HSE,SR-MMP,SR-p53".split(","),
        "classification",
    ),
}
FIELDS = ["tool", "label", "set", "split", "seed", "metric", "value", "seconds", "val"]


def split_file(a, name: str, kind: str) -> Path:
    shared = SHARED / "splits" / f"{name}_{kind}_seed0.csv"
    if shared.exists():
        return shared
    path = Path(a.out) / "splits" / f"{name}_{kind}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        file, smiles, targets, _ = SETS[name]
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [a.moltx, "train", "--data", Path(a.data) / file, "--smiles-column", smiles]
            cmd += [x for t in targets for x in ("--target", t)]
            cmd += ["--split", kind, "--seed", "0", "--epochs", "1", "--out", tmp, "--quiet"]
            run(cmd)
            os.replace(Path(tmp) / "split.csv", path)
    return path


def chemprop_inputs(a, name: str, csv_path: Path) -> tuple[Path, Path]:
    """chemprop's data file and `--splits-file` for a split: the rows the split names, in file
    order (rows in no split, e.g. SMILES RDKit rejects, left out), and the split as positions in
    that file, so that chemprop never sees a row moltx does not."""
    parts: dict[int, str] = {}
    with csv_path.open(newline="") as f:
        for r in csv.DictReader(f):
            parts[int(r["index"])] = {"valid": "val"}.get(r["split"], r["split"])
    with (Path(a.data) / SETS[name][0]).open(newline="") as f:
        reader = csv.reader(f)
        header, rows = next(reader), [r for i, r in enumerate(reader) if i in parts]
    kept = sorted(parts)
    splits = {k: [p for p, i in enumerate(kept) if parts[i] == k] for k in ("train", "val", "test")}
    folder = Path(a.out) / "chemprop_inputs"
    folder.mkdir(parents=True, exist_ok=True)
    data, split = folder / f"{csv_path.stem}.csv", folder / f"{csv_path.stem}.json"
    with data.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    split.write_text(json.dumps([splits]))
    return data, split


def run(cmd: list) -> str:
    p = subprocess.run([str(c) for c in cmd], check=False, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    return p.stdout + p.stderr


def train_chemprop(a, name: str, split: Path, seed: int, workdir: Path) -> tuple[float, str]:
    _, smiles, targets, task = SETS[name]
    out = workdir / f"chemprop_{name}_{split.stem}_{seed}"
    data, splits = chemprop_inputs(a, name, split)
    cmd = [a.chemprop, "train", "-i", data, "-s", smiles, "--target-columns"]
    cmd += targets + ["--task-type", task, "--splits-file", splits]
    data_seed = seed if a.chemprop_vary_order else 0
    cmd += ["--pytorch-seed", str(seed), "--data-seed", str(data_seed), "-o", out]
    cmd += a.chemprop_args.split()
    if task == "classification":
        cmd += ["--metrics", "roc"]
    log = run(cmd)
    if task == "regression":
        mse = float(re.findall(r"test/mse: ([0-9.eE+-]+)", log)[-1])
        return math.sqrt(mse), ""
    return float(re.findall(r"test/roc: ([0-9.eE+-]+)", log)[-1]), ""


def train_moltx(a, name: str, split: Path, seed: int, workdir: Path) -> tuple[float, str]:
    file, smiles, targets, task = SETS[name]
    out = workdir / f"moltx_{a.label}_{name}_{split.stem}_{seed}"
    cmd = [a.moltx, "train", "--data", Path(a.data) / file, "--smiles-column", smiles]
    cmd += [x for t in targets for x in ("--target", t)]
    cmd += ["--task", task, "--split-file", split, "--seed", str(seed), "--out", out, "--quiet"]
    cmd += a.moltx_args.split()
    run(cmd)
    metrics = json.loads((out / "metrics.json").read_text())
    key = "rmse" if task == "regression" else "roc_auc"
    return float(metrics["test"][key]), f"{float(metrics['val'][key]):.6f}"


def finished(results: Path) -> set[tuple]:
    """The runs results.csv holds now (another `run` may be filling it too)."""
    with results.open(newline="") as f:
        return {(r["tool"], r["label"], r["set"], r["split"], r["seed"]) for r in csv.DictReader(f)}


def chemprop_variant(a) -> bool:
    """Whether chemprop's runs differ from its defaults (and so carry `--label`)."""
    return bool(a.chemprop_args.split()) or a.chemprop_vary_order


def cmd_run(a) -> None:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.csv"
    done = set()
    if results.exists():
        with results.open(newline="") as f:
            done = {
                (r["tool"], r["label"], r["set"], r["split"], r["seed"]) for r in csv.DictReader(f)
            }
    else:
        results.write_text(",".join(FIELDS) + "\n")
    tools = a.tools.split(",")
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        for name in a.sets.split(","):
            for kind in a.splits.split(","):
                split = split_file(a, name, kind)
                for tool in tools:
                    seeds = range(a.chemprop_seeds if tool == "chemprop" else a.moltx_seeds)
                    if tool == "moltx":
                        seeds = [s * a.seed_step for s in seeds]
                    label = a.label if tool == "moltx" or chemprop_variant(a) else "defaults"
                    for seed in seeds:
                        if (tool, label, name, kind, str(seed)) in done | finished(results):
                            continue
                        start = time.time()
                        train = train_chemprop if tool == "chemprop" else train_moltx
                        value, val = train(a, name, split, seed, Path(tmp))
                        metric = "rmse" if SETS[name][3] == "regression" else "roc_auc"
                        row = [tool, label, name, kind, seed, metric, f"{value:.6f}"]
                        row += [f"{time.time() - start:.1f}", val]
                        with results.open("a", newline="") as f:
                            csv.writer(f, lineterminator="\n").writerow(row)
                        print(",".join(map(str, row)), flush=True)


def cmd_table(a) -> None:
    groups: dict[tuple, list[float]] = {}
    vals: dict[tuple, list[float]] = {}
    with (Path(a.out) / "results.csv").open(newline="") as f:
        # By position: files begun before the `val` column have it unnamed.
        for row in list(csv.reader(f))[1:]:
            r = dict(zip(FIELDS, row))
            key = (r["set"], r["split"], r["metric"], r["tool"], r["label"])
            groups.setdefault(key, []).append(float(r["value"]))
            if r.get("val"):
                vals.setdefault(key, []).append(float(r["val"]))
    print("| set | split | metric | tool | seeds | test mean ± sd | test values | val mean |")
    print("|---|---|---|---|---|---|---|---|")
    for key, v in sorted(groups.items()):
        name, kind, metric, tool, label = key
        sd = statistics.stdev(v) if len(v) > 1 else float("nan")
        who = tool if label == "defaults" else f"{tool} ({label})"
        values = " / ".join(f"{x:.3f}" for x in v)
        val = f"{statistics.mean(vals[key]):.3f}" if len(vals.get(key, [])) == len(v) else ""
        print(
            f"| {name} | {kind} | {metric} | {who} | {len(v)} | "
            f"{statistics.mean(v):.3f} ± {sd:.3f} | {values} | {val} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--data", default=str(SHARED / "data" / "molecules"))
    r.add_argument("--chemprop", default="chemprop")
    r.add_argument("--moltx", default=str(HERE.parent / "target" / "release" / "moltx"))
    r.add_argument("--sets", default="esol,freesolv,lipophilicity,tox21")
    r.add_argument("--splits", default="scaffold,random")
    r.add_argument("--tools", default="chemprop,moltx")
    r.add_argument("--chemprop-seeds", type=int, default=3)
    r.add_argument("--moltx-seeds", type=int, default=5)
    r.add_argument("--moltx-args", default="")
    r.add_argument("--chemprop-args", default="")
    r.add_argument("--chemprop-vary-order", action="store_true")
    r.add_argument("--label", default="defaults")
    r.add_argument(
        "--seed-step",
        type=int,
        default=1,
        help="moltx seeds 0, k, 2k, ...: with --ensemble k, members of different runs differ",
    )
    t = sub.add_parser("table")
    t.add_argument("--out", required=True)
    a = p.parse_args()
    {"run": cmd_run, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
