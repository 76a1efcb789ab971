"""Uncertainty side by side with chemprop 2.3.1: each estimator both tools have, trained by each
tool on the same split, calibrated on the validation set, measured on the test set.

    python3 bench/uncertainty_vs_chemprop.py run --chemprop ../cp-venv/bin/chemprop \
        --moltx target/release/moltx --out /tmp/u17 [--sets esol,tox21] [--methods dropout,mve] \
        [--seeds 0,1,2]
    python3 bench/uncertainty_vs_chemprop.py table --out /tmp/u17
    python3 bench/uncertainty_vs_chemprop.py exchangeable --model /tmp/u17/mx_esol_mve_0 \
        --data-files /tmp/u17/esol_val.csv,/tmp/u17/esol_test.csv --out /tmp/u17

Regression (ESOL): `dropout` (both trained with `--dropout 0.1`, 30 MC samples), `mve`
(chemprop `--task-type regression-mve`, moltx `--loss mve`), `evidential` (`regression-evidential`
/ `--loss evidential`, total variance). Each chemprop model is also imported into moltx
("moltx on chemprop's model"), so the same network is sampled, calibrated and scored by both
tools. Each is measured uncalibrated (miscalibration area, Spearman(σ, |error|), NLL), z-scaled,
and as 90% conformal intervals: chemprop's `conformal-regression` (its half-width is the
uncertainty plus q̂), moltx's normalized (`|y − ŷ|/σ`) and additive (`--no-normalize`)
conformal.

Classification (Tox21): `dropout` (both trained with `--dropout 0.1`, and chemprop's model
imported). chemprop's own classification evaluators take the uncertainty to be the
probability, so here every predictions file is scored by the same code: NLL and ECE (10
equal-width bins) of the mean probability, Spearman(σ, |y − p|), means over tasks.

The data are the shared scaffold split files (`--split random`: the random ones, whose
validation and test sets are exchangeable; give it its own `--out`); chemprop trains on exactly
the rows moltx does (`accuracy_vs_chemprop.chemprop_inputs`). Results go to `<out>/uncertainty.csv`, one line per
(set, method, seed, tool, calibration, metric); runs already there are skipped. `table` prints
mean ± sd over the seeds (chemprop `--pytorch-seed`, moltx `--seed`; one model per seed).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy_vs_chemprop import SETS, SHARED, chemprop_inputs, run

FIELDS = ["set", "method", "seed", "tool", "calibration", "metric", "value"]
SAMPLES = 30
TRAIN = {  # method: (chemprop train args, moltx train args, chemprop --uncertainty-method)
    "dropout": (["--dropout", "0.1"], ["--dropout", "0.1"], "dropout"),
    "mve": (["--task-type", "regression-mve"], ["--loss", "mve"], "mve"),
    "evidential": (
        ["--task-type", "regression-evidential"],
        ["--loss", "evidential"],
        "evidential-total",
    ),
}


def row(name: str, method: str, seed: int, tool: str, calibration: str, metric: str, value) -> dict:
    """One line of `uncertainty.csv`."""
    values = (name, method, seed, tool, calibration, metric, value)
    return dict(zip(FIELDS, values, strict=True))


def held_out(a, name: str) -> tuple[Path, dict[str, Path]]:
    """The split file and the validation/test rows as CSVs (SMILES and targets only)."""
    file, smiles, targets, _ = SETS[name]
    split = SHARED / "splits" / f"{name}_{a.split}_seed0.csv"
    parts = {}
    with split.open(newline="") as f:
        for r in csv.DictReader(f):
            parts[int(r["index"])] = r["split"]
    out = {}
    for part in ("val", "test"):
        path = Path(a.out) / f"{name}_{part}.csv"
        out[part] = path
        if path.exists():
            continue
        with (Path(a.data) / file).open(newline="") as f, path.open("w", newline="") as g:
            w = csv.writer(g, lineterminator="\n")
            w.writerow([smiles, *targets])
            for i, r in enumerate(csv.DictReader(f)):
                if parts.get(i) in ({part, "valid"} if part == "val" else {part}):
                    w.writerow([r[smiles].strip(), *(r[t] for t in targets)])
    return split, out


def train_both(a, name: str, method: str, seed: int, split: Path) -> tuple[Path, Path]:
    """chemprop's and moltx's model for a method (trained once, then reused)."""
    file, smiles, targets, task = SETS[name]
    cp_args, mx_args, _ = TRAIN[method]
    cp_dir = Path(a.out) / f"cp_{name}_{method}_{seed}"
    mx_dir = Path(a.out) / f"mx_{name}_{method}_{seed}"
    if not (cp_dir / "model_0" / "best.pt").exists():
        data, splits = chemprop_inputs(a, name, split)
        cmd = [a.chemprop, "train", "-i", data, "-s", smiles, "--target-columns", *targets]
        cmd += [
            "--splits-file",
            splits,
            "--pytorch-seed",
            str(seed),
            "--data-seed",
            "0",
            "-o",
            cp_dir,
        ]
        cmd += cp_args if "--task-type" in cp_args else ["--task-type", task, *cp_args]
        run(cmd)
    if not (mx_dir / "metrics.json").exists():
        cmd = [a.moltx, "train", "--data", Path(a.data) / file, "--smiles-column", smiles]
        cmd += [x for t in targets for x in ("--target", t)]
        cmd += [
            "--task",
            task,
            "--split-file",
            split,
            "--seed",
            str(seed),
            "--out",
            mx_dir,
            "--quiet",
        ]
        run(cmd + mx_args)
    return cp_dir / "model_0" / "best.pt", mx_dir


def chemprop_predict(
    a, model: Path, method: str, data: dict, calibration: str | None, out: Path, regression: bool
) -> dict:
    """chemprop's predictions file and (regression) its logged evaluations."""
    cmd = [a.chemprop, "predict", "-i", data["test"], "--model-paths", model, "-o", out]
    cmd += ["--uncertainty-method", TRAIN[method][2], "--dropout-sampling-size", str(SAMPLES)]
    if calibration:
        cmd += ["--calibration-method", calibration, "--cal-path", data["val"]]
        cmd += ["--conformal-alpha", "0.1"]
    if regression:
        cmd += ["--evaluation-methods", "miscalibration_area", "spearman", "nll-regression"]
        cmd += ["conformal-coverage-regression"]
    log = run(cmd)
    found = {}
    for key in (
        "miscalibration_area",
        "spearman",
        "nll-regression",
        "conformal-coverage-regression",
    ):
        m = re.findall(rf"{key}: \[([0-9.eE+-]+|inf|nan)\]", log)
        if m:
            found[key] = float(m[-1])
    return found


def read_columns(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def moltx_uncertainty(method: str) -> list[str]:
    return ["--uncertainty", "dropout", "--samples", str(SAMPLES)] if method == "dropout" else []


def moltx_evaluate(a, model: Path, method: str, data: dict, calibration: list[str] | None) -> dict:
    """moltx's test-set uncertainty metrics after an optional calibration on the val set."""
    cal = model / "calibration.json" if model.is_dir() else model.parent / "calibration.json"
    if cal.exists():
        cal.unlink()
    unc = moltx_uncertainty(method)
    if calibration is not None:
        run([a.moltx, "calibrate", "--model", model, "--data", data["val"], *calibration, *unc])
    out = Path(a.out) / "eval.json"
    run([a.moltx, "evaluate", "--model", model, "--data", data["test"], "--out", out, *unc])
    m = json.loads(out.read_text())["uncertainty"]["test"]
    if cal.exists():
        cal.unlink()
    return {k: v for k, v in m.items() if isinstance(v, (int, float))}


def regression(a, name: str, method: str, seed: int, results: list[dict]) -> None:
    split, data = held_out(a, name)
    cp_model, mx_model = train_both(a, name, method, seed, split)
    rows = []

    def add(tool, calibration, metrics):
        rows.extend(row(name, method, seed, tool, calibration, k, v) for k, v in metrics.items())

    for cal, cp_cal in (
        ("none", None),
        ("zscale", "zscaling"),
        ("conformal", "conformal-regression"),
    ):
        out = Path(a.out) / f"cp_{name}_{method}_{seed}_{cal}.csv"
        found = chemprop_predict(a, cp_model, method, data, cp_cal, out, True)
        metrics = {}
        if cal == "conformal":
            # chemprop's conformal output: the half-width of the interval, as `<task>_unc`.
            header, test = read_columns(out)
            unc = [float(r[header[-1]]) for r in test]
            metrics = {
                "coverage": found["conformal-coverage-regression"],
                "mean_width": 2 * sum(unc) / len(unc),
            }
        else:
            metrics = {
                "miscalibration_area": found["miscalibration_area"],
                "spearman_unc_abs_err": found["spearman"],
                "nll": found["nll-regression"],
            }
        add("chemprop", cal, metrics)
    models = [("moltx", mx_model)]
    imported = Path(a.out) / f"imported_{name}_{method}_{seed}"
    if not imported.exists():
        imported.mkdir()
        run([a.moltx, "import-chemprop", cp_model, "--out", imported])
    models.append(("moltx on chemprop's model", imported))
    for tool, model in models:
        keep = ("miscalibration_area", "spearman_unc_abs_err", "nll")
        m = moltx_evaluate(a, model, method, data, None)
        add(tool, "none", {k: m[k] for k in keep if k in m})
        m = moltx_evaluate(a, model, method, data, ["--method", "zscale"])
        add(tool, "zscale", {k: m[k] for k in keep if k in m})
        for cal, extra in (("conformal", []), ("conformal additive", ["--no-normalize"])):
            args = ["--method", "conformal", "--coverage", "0.9", *extra]
            m = moltx_evaluate(a, model, method, data, args)
            add(tool, cal, {k: m[k] for k in ("coverage", "mean_width")})
    results.extend(rows)


def probabilities(path: Path, tasks: list[str], suffix: str) -> dict[str, list[float]]:
    _, rows = read_columns(path)
    return {
        t: [float(r[t + suffix]) if r[t + suffix] != "" else math.nan for r in rows] for t in tasks
    }


def classification_scores(truth, prob, unc) -> dict:
    """NLL, ECE (10 equal-width bins) and Spearman(σ, |y − p|) per task, then task means."""
    from statistics import fmean

    per = {"nll": [], "ece": [], "spearman_unc_abs_err": []}
    for t in truth:
        rows = [(y, p, u) for y, p, u in zip(truth[t], prob[t], unc[t]) if not math.isnan(y)]
        eps = 1e-7
        per["nll"].append(
            fmean(
                -math.log(max(p, eps)) if y == 1 else -math.log(max(1 - p, eps)) for y, p, _ in rows
            )
        )
        bins = [[] for _ in range(10)]
        for y, p, _ in rows:
            bins[min(int(p * 10), 9)].append((y, p))
        per["ece"].append(
            sum(len(b) * abs(fmean(y for y, _ in b) - fmean(p for _, p in b)) for b in bins if b)
            / len(rows)
        )
        per["spearman_unc_abs_err"].append(
            spearman([u for *_, u in rows], [abs(y - p) for y, p, _ in rows])
        )
    return {k: sum(v) / len(v) for k, v in per.items()}


def ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(x: list[float], y: list[float]) -> float:
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den > 0 else math.nan


def classification(a, name: str, method: str, seed: int, results: list[dict]) -> None:
    split, data = held_out(a, name)
    cp_model, mx_model = train_both(a, name, method, seed, split)
    tasks = SETS[name][2]
    truth = probabilities(data["test"], tasks, "")
    cp_out = Path(a.out) / f"cp_{name}_{method}_{seed}.csv"
    chemprop_predict(a, cp_model, method, data, None, cp_out, False)
    # chemprop writes the variance of the sampled probabilities as `<task>_unc`.
    cp_unc = {
        t: [math.sqrt(max(v, 0.0)) for v in vs]
        for t, vs in probabilities(cp_out, tasks, "_unc").items()
    }
    scores = {"chemprop": classification_scores(truth, probabilities(cp_out, tasks, ""), cp_unc)}
    imported = Path(a.out) / f"imported_{name}_{method}_{seed}"
    if not imported.exists():
        imported.mkdir()
        run([a.moltx, "import-chemprop", cp_model, "--out", imported])
    for tool, model in (("moltx", mx_model), ("moltx on chemprop's model", imported)):
        out = Path(a.out) / f"{model.name}.csv"
        cmd = [a.moltx, "predict", "--model", model, "--library", data["test"], "--out", out]
        run(cmd + moltx_uncertainty(method))
        prob, unc = probabilities(out, tasks, ""), probabilities(out, tasks, "_unc")
        scores[tool] = classification_scores(truth, prob, unc)
    for tool, m in scores.items():
        results.extend(row(name, method, seed, tool, "none", k, v) for k, v in m.items())


def table(rows: list[dict]) -> None:
    """Mean ± sample sd over seeds of every (set, method, tool, calibration, metric)."""
    from statistics import fmean, stdev

    groups: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r["set"], r["method"], r["calibration"], r["metric"], r["tool"])
        groups.setdefault(key, []).append(float(r["value"]))
    for (name, method, cal, metric, tool), vs in sorted(groups.items()):
        sd = stdev(vs) if len(vs) > 1 else 0.0
        print(
            f"{name:6} {method:10} {cal:18} {metric:22} {tool:26} {fmean(vs):8.4f} ± {sd:.4f} ({len(vs)})"
        )


def exchangeable(a) -> None:
    """Conformal coverage when calibration and test molecules are exchangeable: the labelled
    files pooled, split in halves at random `--partitions` times, `moltx calibrate` on one
    half and `moltx evaluate` on the other; prints the mean, sd and range of the coverage."""
    import random
    from statistics import fmean, stdev

    header, pooled = None, []
    for path in a.data_files.split(","):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            pooled.extend(reader)
    work = Path(a.out) / "exchangeable"
    work.mkdir(parents=True, exist_ok=True)
    coverages = []
    for r in range(a.partitions):
        rows = pooled[:]
        random.Random(r).shuffle(rows)
        half = len(rows) // 2
        for part, chunk in (("cal", rows[:half]), ("test", rows[half:])):
            with (work / f"{part}.csv").open("w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows([header, *chunk])
        args = ["--method", "conformal", "--coverage", str(a.coverage), *a.moltx_args.split()]
        args += ["--out", work / "calibration.json"]
        run([a.moltx, "calibrate", "--model", a.model, "--data", work / "cal.csv", *args])
        out = work / "eval.json"
        # evaluate reads the calibration beside the model; point it at this one.
        model = work / "model"
        model.mkdir(exist_ok=True)
        for f in Path(a.model).glob("*.moltx"):
            if not (model / f.name).exists():
                os.symlink(f.resolve(), model / f.name)
        os.replace(work / "calibration.json", model / "calibration.json")
        run([a.moltx, "evaluate", "--model", model, "--data", work / "test.csv", "--out", out])
        coverages.append(json.loads(out.read_text())["uncertainty"]["test"]["coverage"])
    inside = sum(1 for c in coverages if 0.88 <= c <= 0.92)
    print(
        f"{len(pooled)} molecules, {a.partitions} random halvings: coverage "
        f"{fmean(coverages):.4f} ± {stdev(coverages):.4f} (min {min(coverages):.3f}, max "
        f"{max(coverages):.3f}; {inside} of {len(coverages)} within 0.88–0.92)"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--chemprop", required=True)
    r.add_argument("--moltx", default="target/release/moltx")
    r.add_argument("--data", default=str(SHARED / "data" / "molecules"))
    r.add_argument("--out", required=True)
    r.add_argument("--sets", default="esol,tox21")
    r.add_argument("--methods", default="dropout,mve,evidential")
    r.add_argument("--split", default="scaffold", help="the shared split file: scaffold or random")
    r.add_argument(
        "--seeds", default="0,1,2", help="training seeds (chemprop --pytorch-seed, moltx --seed)"
    )
    t = sub.add_parser("table")
    t.add_argument("--out", required=True)
    x = sub.add_parser("exchangeable", help=exchangeable.__doc__)
    x.add_argument("--model", required=True, help="a moltx model folder")
    x.add_argument("--data-files", required=True, help="labelled CSVs to pool, comma-separated")
    x.add_argument("--moltx", default="target/release/moltx")
    x.add_argument("--out", required=True)
    x.add_argument("--partitions", type=int, default=100)
    x.add_argument("--coverage", type=float, default=0.9)
    x.add_argument("--moltx-args", default="", help="e.g. --no-normalize")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.cmd == "exchangeable":
        exchangeable(a)
        return
    path = Path(a.out) / "uncertainty.csv"
    done = []
    if path.exists():
        with path.open(newline="") as f:
            done = list(csv.DictReader(f))
    if a.cmd == "table":
        table(done)
        return
    for name in a.sets.split(","):
        kind = SETS[name][3]
        for method, seed in ((m, int(s)) for m in a.methods.split(",") for s in a.seeds.split(",")):
            if kind == "classification" and method != "dropout":
                continue
            if any((r["set"], r["method"], r["seed"]) == (name, method, str(seed)) for r in done):
                continue
            rows: list[dict] = []
            (regression if kind == "regression" else classification)(a, name, method, seed, rows)
            done.extend(rows)
            with path.open("w", newline="") as f:
                w = csv.DictWriter(f, FIELDS, lineterminator="\n")
                w.writeheader()
                w.writerows(done)
            print(f"{name} {method} seed {seed}: {len(rows)} numbers", flush=True)


if __name__ == "__main__":
    main()
