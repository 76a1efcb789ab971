"""Conversions between Python data and the Arrow arrays the native module reads and writes."""

from __future__ import annotations

from typing import Any, Iterable, List, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import pyarrow as pa

#: What ``Model.predict`` and ``Model.embed`` accept: SMILES strings (a list, a tuple, a
#: numpy array, a pandas Series, a pyarrow Array or ChunkedArray, any object of the Arrow
#: PyCapsule interface) or RDKit ``Mol`` objects; ``None`` entries become failed rows.
SmilesInput = Union[Sequence[Any], "pd.Series[Any]", pa.Array, pa.ChunkedArray, Iterable[Any]]


def _is_mol(x: object) -> bool:
    t = type(x)
    return t.__name__ == "Mol" and t.__module__.startswith("rdkit")


def _mol_to_smiles(items: List[Any]) -> List[Any]:
    """RDKit ``Mol`` objects as SMILES (``Chem.MolToSmiles``); other items unchanged."""
    if not any(_is_mol(x) for x in items):
        return items
    from rdkit import Chem  # only when Mol objects were passed, so rdkit is importable

    return [Chem.MolToSmiles(x) if _is_mol(x) else x for x in items]


def _is_string_type(t: pa.DataType) -> bool:
    view = getattr(pa.types, "is_string_view", lambda _t: False)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or view(t) or pa.types.is_null(t))


def smiles_array(smiles: Any) -> Any:
    """The input as an Arrow string array (or chunked array), sharing buffers where it can."""
    if isinstance(smiles, (str, bytes)):
        raise TypeError("expected a sequence of SMILES, got a single string (wrap it in a list)")
    if isinstance(smiles, (pa.Array, pa.ChunkedArray)):
        arr = smiles
    elif isinstance(smiles, (pd.Series, pd.Index)):
        if smiles.dtype == object:
            arr = pa.array(_mol_to_smiles(list(smiles)), type=pa.string(), from_pandas=True)
        else:
            arr = pa.array(smiles, from_pandas=True)
    elif hasattr(smiles, "__arrow_c_stream__") or hasattr(smiles, "__arrow_c_array__"):
        return smiles  # e.g. polars or arro3 data: the native module reads it as is
    else:
        items = list(smiles)
        try:
            arr = pa.array(_mol_to_smiles(items), type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise TypeError(f"expected SMILES strings or RDKit Mol objects: {e}") from None
    if not _is_string_type(arr.type):
        try:
            arr = arr.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise TypeError(f"expected SMILES strings, got Arrow type {arr.type}: {e}") from None
    return arr


def float_view(arr: pa.Array) -> "np.ndarray[Any, np.dtype[np.float64]]":
    """A float64 Arrow array's values as a read-only numpy view (no copy; NaN at nulls, as
    the native module writes them)."""
    n = len(arr)
    if n == 0:
        return np.empty(0, dtype=np.float64)
    buf = arr.buffers()[1]
    return np.frombuffer(buf, dtype=np.float64, count=n, offset=arr.offset * 8)


def float_array(values: Any) -> pa.Array:
    """Numbers as a float64 Arrow array, sharing a contiguous float64 numpy buffer."""
    a = np.ascontiguousarray(np.asarray(values, dtype=np.float64)).reshape(-1)
    return pa.array(a, type=pa.float64())


Columns = List[Tuple[str, Any]]


def to_table(columns: Columns) -> pa.Table:
    """Native columns as a ``pyarrow.Table`` (no copy)."""
    return pa.table({name: pa.array(col) for name, col in columns})


def to_frame(columns: Columns) -> pd.DataFrame:
    """Native columns as a pandas DataFrame: float columns are views of the Arrow buffers
    (NaN where a row failed), string columns Python strings (missing where null)."""
    data = {}
    for name, col in columns:
        arr = pa.array(col)
        if pa.types.is_float64(arr.type):
            data[name] = float_view(arr)
        else:
            data[name] = arr.to_pandas()
    return pd.DataFrame(data, copy=False)
