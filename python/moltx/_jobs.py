"""``moltx.screen`` and ``moltx.train``: the long jobs, writing files."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple, Union

from . import _moltx
from ._model import Model, PathLike, as_model

if TYPE_CHECKING:
    import pandas as pd


def screen(
    library: PathLike,
    model: Union[Model, PathLike, None] = None,
    *,
    out: PathLike,
    top_k: Optional[int] = None,
    by: Optional[str] = None,
    ascending: bool = False,
    shard: Optional[Tuple[int, int]] = None,
    resume: bool = False,
    smiles_column: Optional[str] = None,
    id_column: Optional[str] = None,
    chunk_size: Optional[int] = None,
    batch_size: Optional[int] = None,
    max_atoms: Optional[int] = None,
    threads: Optional[int] = None,
) -> Dict[str, Any]:
    """Streams a compound library (``.smi``, ``.csv``, ``.tsv``, ``.sdf``, each optionally
    ``.gz``, or ``.parquet``) through a model into ``out`` (CSV, TSV or Parquet), as
    ``moltx screen`` does: one row per input row of the shard, in order
    (``row, id, smiles, <task>…, error``), memory bounded by a few chunks.

    ``model``: a :class:`Model`, a path to one, or ``None`` for the bundled Tox21 model.
    ``top_k``/``by``/``ascending``: keep only the K best rows by a task, best first.
    ``shard=(i, n)``: only rows with ``row % n == i``. ``resume``: continue an interrupted
    run of the same settings (Ctrl-C, a kill or a full disk leave a resumable output).

    Returns the run's summary: ``rows_read``, ``rows_in_shard``, ``scored``, ``failed``
    (rows by reason), ``resumed_from``, ``seconds``, ``rows_this_run``, ``stages``
    (seconds per stage), ``best_per_task`` and ``out``."""
    m = as_model(model)
    summary: Dict[str, Any] = json.loads(
        _moltx.screen(
            os.fspath(library),
            m._native,
            os.fspath(out),
            top_k=top_k,
            by=by,
            ascending=ascending,
            shard=shard,
            resume=resume,
            smiles_column=smiles_column,
            id_column=id_column,
            chunk_size=chunk_size,
            batch_size=batch_size,
            max_atoms=max_atoms,
            threads=threads,
        )
    )
    return summary


def train(
    data: Union[PathLike, "pd.DataFrame"],
    targets: Optional[Sequence[str]] = None,
    *,
    out: PathLike,
    **options: Any,
) -> Dict[str, Any]:
    """Trains a model (or an ensemble) as ``moltx train`` does, writing into ``out`` the
    model files (``model_<i>.moltx``; load the folder with :meth:`Model.load`),
    ``metrics.json``, ``split.csv``, ``epochs.csv``, plots and resume checkpoints.

    ``data``: a CSV/TSV (optionally ``.gz``) with a SMILES column and numeric targets, or a
    pandas DataFrame (written to a temporary CSV). ``targets``: the target columns (default:
    every numeric column).

    Options (the defaults are ``moltx train``'s): ``smiles_column``, ``task``
    (``"regression"``/``"classification"``; default: classification when every label is
    0/1), ``split`` (``"random"``, ``"scaffold"``, ``"kfold"``, ``"scaffold-kfold"``),
    ``split_sizes=(0.8, 0.1, 0.1)``, ``split_file``, ``folds=5``, ``fold=0``, ``seed=0``,
    ``epochs=100``, ``batch_size=64``, ``ensemble=1``, ``model`` (``"dmpnn"``,
    ``"ffn-morgan"``, ``"features-only"``), ``hidden=300``, ``depth=3``, ``dropout=0.0``,
    ``aggregation`` (``"norm"``, ``"mean"``, ``"sum"``), ``ffn_hidden=300``,
    ``ffn_layers=1``, ``features_generator`` (``"rdkit_2d"``), ``patience``,
    ``data_parallel=0``, ``selection`` (``"loss"``/``"metric"``), ``grad_clip``,
    ``resume=False``, ``max_atoms``, ``threads`` (a fixed count makes runs reproducible),
    ``shuffle_seed`` (the batch order's own seed), ``init_from`` (fine-tune: a moltx model
    file or a chemprop ``.pt``/``.ckpt``, whose architecture and target scaling are kept),
    ``weight_average`` (the decay of a moving average of the weights, validated and kept),
    ``log_steps=False`` (write ``steps_<i>.csv``: every optimizer step's batch, lr and loss),
    ``loss`` (``"mse"``, the default; ``"mve"``: a mean and a variance per task, trained by
    the Gaussian negative log-likelihood; ``"evidential"``: deep evidential regression,
    chemprop's λ = 0.2; regression only). A model trained with ``"mve"`` or
    ``"evidential"`` predicts its own uncertainty: :meth:`Model.load` gives it as
    ``<task>_unc`` columns (a standard deviation in the task's units), and the ensemble of
    such models combines them by the law of total variance.

    Returns the metrics (the content of ``metrics.json``). Rows RDKit rejects are left out
    with a warning; Ctrl-C stops after the current epoch (``resume=True`` continues)."""
    if not isinstance(data, (str, bytes, os.PathLike)):
        with tempfile.TemporaryDirectory(prefix="moltx-train-") as tmp:
            path = os.path.join(tmp, "data.csv")
            data.to_csv(path, index=False)
            return train(path, targets, out=out, **options)
    if "split_sizes" in options:
        options["split_sizes"] = tuple(float(x) for x in options["split_sizes"])
    report, skipped = _moltx.train_model(
        os.fspath(data),
        os.fspath(out),
        targets=list(targets) if targets is not None else None,
        **options,
    )
    if skipped:
        first = "; ".join(f"row {row} (line {line}): {error}" for row, line, _s, error in skipped[:3])
        warnings.warn(f"{len(skipped)} rows left out: {first}", stacklevel=2)
    metrics: Dict[str, Any] = json.loads(report)
    return metrics
