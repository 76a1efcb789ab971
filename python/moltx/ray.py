"""moltx on Ray Data: score a dataset's molecules on a pool of actors.

>>> import ray, moltx, moltx.ray
>>> ds = ray.data.read_parquet("library.parquet")                 # doctest: +SKIP
>>> scored = ds.map_batches(moltx.ray.Predictor, fn_constructor_kwargs={"model": "m/"},
...                         batch_format="pyarrow", concurrency=4)  # doctest: +SKIP
>>> scored = moltx.ray.screen("library.parquet", "m/")          # the same, in one call  # doctest: +SKIP

Each actor loads the model once; each batch keeps its columns and gains the prediction
columns (``<task>``, ``<task>_std`` for ensembles, ``error``), row for row.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Union

import pandas as pd
import pyarrow as pa

from ._model import Model, PathLike, as_model

if TYPE_CHECKING:
    import ray.data


def _assigned_cpus() -> Optional[int]:
    """The CPUs Ray gave this worker (rounded up), when running inside Ray."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")  # type: ignore[no-untyped-call]
    except Exception:  # not in a Ray worker, or an older Ray
        return None
    return max(1, math.ceil(cpus)) if cpus else None


class Predictor:
    """A callable class for ``ray.data.Dataset.map_batches``: the model is loaded once per
    actor; a batch (``pyarrow.Table``, pandas DataFrame or dict of numpy arrays) comes back
    with its columns and the predictions of its ``smiles_column``, one row per row (rows
    that fail keep their ``error``).

    ``model``: a :class:`moltx.Model`, a path to one, or ``None`` for the bundled model.
    ``threads``: moltx threads per actor (default: the CPUs Ray assigned the actor)."""

    def __init__(
        self,
        model: Union[Model, PathLike, None] = None,
        *,
        smiles_column: str = "smiles",
        threads: Optional[int] = None,
        max_atoms: Optional[int] = None,
    ) -> None:
        """Loads the model (once per actor)."""
        if model is None or isinstance(model, (str, os.PathLike)):
            path = None if model is None else os.fspath(model)
            kw: Dict[str, Any] = {"max_atoms": max_atoms}
            self.model = Model.bundled(**kw) if path is None else Model.load(path, **kw)
        else:
            self.model = as_model(model)
        self.smiles_column = smiles_column
        self.threads = threads if threads is not None else _assigned_cpus()

    def __call__(self, batch: Any) -> Any:
        """Scores one batch, returning it in its own format with the prediction columns."""
        if isinstance(batch, pa.Table):
            return self._arrow(batch)
        if isinstance(batch, pd.DataFrame):
            scored = self.model.predict(batch[self.smiles_column], threads=self.threads)
            out = batch.copy(deep=False)
            for name in scored.columns[1:]:
                out[name] = scored[name].to_numpy()
            return out
        if isinstance(batch, dict):
            table = self._arrow(pa.table({k: pa.array(v) for k, v in batch.items()}))
            return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
        raise TypeError(f"unsupported batch type {type(batch).__name__}")

    def _arrow(self, batch: pa.Table) -> pa.Table:
        scored = self.model.predict(
            batch.column(self.smiles_column), as_arrow=True, threads=self.threads
        )
        for name in scored.column_names[1:]:
            column = scored.column(name)
            i = batch.schema.get_field_index(name)
            batch = batch.set_column(i, name, column) if i >= 0 else batch.append_column(name, column)
        return batch


def screen(
    dataset_or_paths: Union["ray.data.Dataset", PathLike, Sequence[PathLike]],
    model: Union[Model, PathLike, None] = None,
    *,
    smiles_column: str = "smiles",
    batch_size: int = 4096,
    concurrency: int = 1,
    num_cpus: float = 1,
    threads: Optional[int] = None,
    max_atoms: Optional[int] = None,
) -> "ray.data.Dataset":
    """Scores a dataset (or Parquet, CSV or JSON files, read with Ray Data) with a pool of
    ``concurrency`` actors of ``num_cpus`` CPUs each, ``batch_size`` rows per batch: a lazy
    dataset of the input's columns and the prediction columns (``.write_parquet(...)``,
    ``.to_pandas()``, …). Ray keeps the row order only with
    ``DataContext.get_current().execution_options.preserve_order = True``."""
    import ray.data

    ds = dataset_or_paths
    if not isinstance(ds, ray.data.Dataset):
        paths = [os.fspath(p) for p in ([ds] if isinstance(ds, (str, os.PathLike)) else ds)]
        first = paths[0].lower()
        if first.endswith((".csv", ".csv.gz", ".tsv")):
            ds = ray.data.read_csv(paths)
        elif first.endswith((".json", ".jsonl")):
            ds = ray.data.read_json(paths)
        else:
            ds = ray.data.read_parquet(paths)
    if isinstance(model, Model):
        model_arg: Union[Model, str, None] = model
    else:
        model_arg = None if model is None else os.fspath(model)
    return ds.map_batches(
        Predictor,
        fn_constructor_kwargs={
            "model": model_arg,
            "smiles_column": smiles_column,
            "threads": threads,
            "max_atoms": max_atoms,
        },
        batch_format="pyarrow",
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
    )
