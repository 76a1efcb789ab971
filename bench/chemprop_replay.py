"""Replays a moltx training run in chemprop 2.3.1, step for step, to compare the two trainers
from identical starting weights and identical batches.

    # 1. chemprop's initial weights for a seed, as its CLI draws them (written as a chemprop .pt)
    cp-venv/bin/python bench/chemprop_replay.py init --data esol.csv --split SPLIT.csv \
        --target "measured log solubility in mols per litre" --seed 0 --out init_0.pt
    # 2. moltx trains from them and logs every step (steps_0.csv: epoch, step, lr, loss, rows)
    moltx train --data esol.csv --split-file SPLIT.csv --init-from init_0.pt --log-steps --out run
    # 3. chemprop trains from the same weights on the same batches at the same learning rates
    cp-venv/bin/python bench/chemprop_replay.py replay --data esol.csv --split SPLIT.csv \
        --target "..." --init init_0.pt --steps run/steps_0.csv --out replay_0.csv

`replay` writes one line per step (moltx's learning rate and loss beside chemprop's, its
learning rate from its own schedule) and prints, per epoch, the
validation loss and, at the best validation epoch, the test RMSE, as chemprop's CLI selects
(lowest `val_loss`). `--order own` replays moltx's learning rates but shuffles the batches as
chemprop's SeededSampler does, seeded by `--seed` (its --data-seed: chemprop's own order, given `--train-order` from its splits.json) instead of moltx's.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys

import numpy as np
import torch
from chemprop import data, featurizers, models, nn
from chemprop.models.utils import save_model
from chemprop.schedulers import build_NoamLike_LRSched


def read_rows(path: str, targets: list[str]) -> tuple[list[str], np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["smiles"] for r in rows], np.array([[float(r[t]) for t in targets] for r in rows])


def read_split(path: str) -> dict[str, list[int]]:
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            parts[{"valid": "val"}.get(r["split"], r["split"])].append(int(r["index"]))
    return parts


def dataset(smiles: list[str], y: np.ndarray, rows: list[int]) -> data.MoleculeDataset:
    points = [data.MoleculeDatapoint.from_smi(smiles[i], y[i]) for i in rows]
    return data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())


def scaler_of(train: data.MoleculeDataset):
    return train.normalize_targets()


def build(train: data.MoleculeDataset, seed: int, n_tasks: int) -> models.MPNN:
    """The model chemprop's CLI builds with default flags (regression)."""
    scaler = scaler_of(train)
    torch.manual_seed(seed)
    mp = nn.BondMessagePassing()
    agg = nn.NormAggregation()
    transform = nn.UnscaleTransform.from_standard_scaler(scaler)
    ffn = nn.RegressionFFN(n_tasks=n_tasks, output_transform=transform)
    return models.MPNN(mp, agg, ffn, batch_norm=False, metrics=[nn.metrics.RMSE()])


def batch_of(ds: data.MoleculeDataset, positions: list[int]):
    return data.collate_batch([ds[p] for p in positions])


def scaled_loss(model: models.MPNN, batch) -> torch.Tensor:
    bmg, V_d, X_d, targets, weights, lt_mask, gt_mask = batch
    mask = targets.isfinite()
    targets = targets.nan_to_num(nan=0.0)
    scale = model.predictor.output_transform
    scaled = (targets - scale.mean) / scale.scale
    Z = model.fingerprint(bmg, V_d, X_d)
    preds = model.predictor.train_step(Z)
    return model.criterion(preds, scaled, mask, weights, lt_mask, gt_mask)


def evaluate(model: models.MPNN, ds: data.MoleculeDataset, y: np.ndarray) -> tuple[float, float]:
    """(validation loss on scaled targets, RMSE in the data's units, mean over tasks)."""
    model.eval()
    with torch.no_grad():
        bmg, V_d, X_d, *_ = batch_of(ds, list(range(len(ds))))
        pred = model(bmg, V_d, X_d).numpy()
    model.train()
    sd = model.predictor.output_transform.scale.numpy().reshape(1, -1)
    loss = float(np.mean(((pred - y) / sd) ** 2))
    return loss, float(np.mean(np.sqrt(np.mean((pred - y) ** 2, axis=0))))


def cmd_init(a) -> None:
    smiles, y = read_rows(a.data, a.target)
    split = read_split(a.split)
    train = dataset(smiles, y, split["train"])
    model = build(train, a.seed, len(a.target))
    save_model(a.out, model, a.target)
    print(f"wrote {a.out}")


def cmd_replay(a) -> None:
    torch.set_num_threads(a.threads)
    smiles, y = read_rows(a.data, a.target)
    split = read_split(a.split)
    if a.train_order:
        # chemprop's own training order (its splits.json), which its shuffling permutes.
        with open(a.train_order) as f:
            order = json.load(f)[0]["train"]
        assert sorted(order) == sorted(split["train"]), "another split than --split"
        split["train"] = order
    position = {row: p for p, row in enumerate(split["train"])}
    train = dataset(smiles, y, split["train"])
    # The targets stay in data units: scaled_loss standardizes them with the model's scaler.
    val, test = dataset(smiles, y, split["val"]), dataset(smiles, y, split["test"])
    model = models.MPNN.load_from_file(a.init)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=model.init_lr)
    with open(a.steps, newline="") as f:
        steps = list(csv.DictReader(f))
    # chemprop's own schedule (as MPNN.configure_optimizers builds it), stepped per batch.
    epochs = int(steps[-1]["epoch"])
    per_epoch = sum(1 for s in steps if s["epoch"] == steps[0]["epoch"])
    warmup = model.warmup_epochs * per_epoch
    schedule = build_NoamLike_LRSched(
        optimizer, warmup, (epochs - model.warmup_epochs) * per_epoch,
        model.init_lr, model.max_lr, model.final_lr,
    )
    # chemprop's SeededSampler: one numpy generator shuffling one index array in place per epoch.
    sampler_rng, sampler_idxs = np.random.default_rng(a.seed), np.arange(len(train))
    own_batches: list[list[int]] = []
    out = open(a.out, "w", newline="")
    log = csv.writer(out, lineterminator="\n")
    log.writerow(["epoch", "step", "moltx_lr", "chemprop_lr", "moltx_loss", "chemprop_loss"])
    best = (math.inf, 0, math.nan)
    epoch = 0
    for s in steps:
        if int(s["epoch"]) != epoch:
            if epoch:
                best = end_epoch(model, val, test, y, split, epoch, best)
            epoch = int(s["epoch"])
            if a.order == "own":
                sampler_rng.shuffle(sampler_idxs)
                order = sampler_idxs.tolist()
                b = a.batch_size
                own_batches = [order[i : i + b] for i in range(0, len(order), b)]
        if a.order == "own":
            positions = own_batches.pop(0)
        else:
            positions = [position[int(r)] for r in s["rows"].split()]
        lr = optimizer.param_groups[0]["lr"]
        optimizer.zero_grad()
        loss = scaled_loss(model, batch_of(train, positions))
        loss.backward()
        optimizer.step()
        schedule.step()
        log.writerow([s["epoch"], s["step"], s["lr"], lr, s["loss"], float(loss.detach())])
    best = end_epoch(model, val, test, y, split, epoch, best)
    out.close()
    print(f"best epoch {best[1]}: val loss {best[0]:.5f}, test RMSE {best[2]:.4f}")


def end_epoch(model, val, test, y, split, epoch, best):
    val_loss, _ = evaluate(model, val, y[split["val"]])
    _, test_rmse = evaluate(model, test, y[split["test"]])
    print(f"epoch {epoch}: val loss {val_loss:.5f}, test RMSE {test_rmse:.4f}", flush=True)
    return (val_loss, epoch, test_rmse) if val_loss < best[0] else best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("init", "replay"):
        s = sub.add_parser(name)
        s.add_argument("--data", required=True)
        s.add_argument("--split", required=True)
        s.add_argument("--target", required=True, action="append", help="repeat for several")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--out", required=True)
    r = sub.choices["replay"]
    r.add_argument("--init", required=True)
    r.add_argument("--steps", required=True)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--order", choices=["moltx", "own"], default="moltx")
    r.add_argument("--batch-size", type=int, default=64, help="with --order own")
    r.add_argument("--train-order", help="chemprop's splits.json: its order of the training set")
    a = p.parse_args()
    {"init": cmd_init, "replay": cmd_replay}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
