"""Signatures and connectivity: ``moltx.connect``, ``moltx.read_gct``, ``moltx.References``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _convert, _moltx
from ._model import PathLike

if TYPE_CHECKING:
    from typing import Literal


class References:
    """Reference signatures, ranked once, to score any number of queries against.

    Build them from a file (:meth:`read`: GCT, GCTX, or a delimited table with one
    signature per row), a DataFrame of genes × signatures (:meth:`from_frame`, the layout of
    :func:`read_gct`), or a numpy matrix of genes × signatures with the gene and signature
    ids (:meth:`from_matrix`)."""

    __slots__ = ("_native",)

    def __init__(self, native: _moltx.References) -> None:
        """Wraps native references; use the constructors below."""
        self._native = native

    @classmethod
    def read(cls, path: PathLike) -> "References":
        """Reads a GCT, GCTX or delimited signature file (one signature per row); GCT gene
        metadata ``pr_gene_id``/``pr_gene_symbol`` become aliases of the genes."""
        return cls(_moltx.References.read(os.fspath(path)))

    @classmethod
    def from_frame(cls, frame: "pd.DataFrame") -> "References":
        """Signatures as the columns of a DataFrame indexed by gene id."""
        return cls.from_matrix(
            frame.to_numpy(dtype=np.float64),
            genes=[str(g) for g in frame.index],
            ids=[str(c) for c in frame.columns],
        )

    @classmethod
    def from_matrix(
        cls, matrix: Any, genes: Sequence[str], ids: Optional[Sequence[str]] = None
    ) -> "References":
        """Signatures as the columns of a genes × signatures matrix; ``ids`` default to
        ``"0"``, ``"1"``, …"""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2:
            raise ValueError(f"expected a 2-D matrix of genes × signatures, got shape {m.shape}")
        if len(genes) != m.shape[0]:
            raise ValueError(f"{len(genes)} gene ids for a matrix of {m.shape[0]} rows (genes)")
        ids = [str(i) for i in range(m.shape[1])] if ids is None else [str(i) for i in ids]
        # One signature after another: the transpose, row-major.
        values = _convert.float_array(m.T)
        return cls(_moltx.References.from_values([str(g) for g in genes], ids, values))

    @property
    def ids(self) -> List[str]:
        """Signature ids, in order."""
        return self._native.ids

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        return f"References({len(self)} signatures)"


QueryInput = Union[PathLike, Mapping[str, Sequence[str]], "pd.Series[Any]", "_moltx.Query"]
ReferenceInput = Union[PathLike, "pd.DataFrame", Any, References]


def _query(query: Any) -> _moltx.Query:
    if isinstance(query, _moltx.Query):
        return query
    if isinstance(query, (str, os.PathLike)):
        return _moltx.Query.read(os.fspath(query))
    if isinstance(query, pd.Series):
        name = str(query.name) if query.name is not None else "query"
        values = _convert.float_array(query.to_numpy(dtype=np.float64))
        return _moltx.Query.signature(name, [str(g) for g in query.index], values)
    if isinstance(query, Mapping):
        up = [str(g) for g in query.get("up", [])]
        down = [str(g) for g in query.get("down", query.get("dn", []))]
        return _moltx.Query.genes(str(query.get("name", "query")), up, down)
    raise TypeError(
        "query: expected a path, a dict of 'up'/'down' genes or a Series of values by gene, "
        f"got {type(query).__name__}"
    )


def _references(
    references: Any, genes: Optional[Sequence[str]], ids: Optional[Sequence[str]]
) -> References:
    if isinstance(references, References):
        return references
    if isinstance(references, (str, os.PathLike)):
        return References.read(references)
    if isinstance(references, pd.DataFrame):
        return References.from_frame(references)
    if genes is None:
        raise TypeError("references: a matrix needs genes= (its row ids)")
    return References.from_matrix(references, genes, ids)


def connect(
    query: Any,
    references: Any,
    score: str = "wtcs",
    *,
    genes: Optional[Sequence[str]] = None,
    ids: Optional[Sequence[str]] = None,
    n_genes: int = 150,
    tau_background: int = 1000,
    seed: int = 42,
    xsum_n: int = 100,
    order: str = "reverse",
    top: Optional[int] = None,
) -> "pd.DataFrame":
    """Ranks reference signatures by connectivity to a query, as ``moltx connect`` does.

    ``query``: a query file (GMT ``<name>_up``/``<name>_dn`` pair, up/down TSV, STARGEO
    disease table, ``gene<TAB>value`` table, signature file), a dict ``{"up": [...],
    "down": [...]}`` of gene ids, or a pandas Series of values indexed by gene id.
    ``references``: a signature file (GCT, GCTX, TSV with one signature per row), a
    DataFrame of genes × signatures (as :func:`read_gct` returns), a numpy matrix of genes ×
    signatures with ``genes=`` (and ``ids=``), or :class:`References`.
    ``score``: ``wtcs``, ``ks``, ``xsum``, ``cosine``, ``pearson``, ``spearman``.

    Returns a DataFrame ranked most reversing first (``order="mimic"``: most similar
    first): ``id``, ``<score>``, and ``ncs`` (WTCS; ``normalized`` for KS) and ``tau``
    (WTCS with ``tau_background`` random queries) where the score has them."""
    columns = _moltx.connect(
        _query(query),
        _references(references, genes, ids)._native,
        score,
        n_genes=n_genes,
        tau_background=tau_background,
        seed=seed,
        xsum_n=xsum_n,
        order=order,
        top=top,
    )
    return _convert.to_frame(columns)


@overload
def read_gct(path: PathLike, *, metadata: "Literal[False]" = ...) -> "pd.DataFrame": ...


@overload
def read_gct(
    path: PathLike, *, metadata: "Literal[True]"
) -> Tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]: ...


def read_gct(
    path: PathLike, *, metadata: bool = False
) -> Union["pd.DataFrame", Tuple["pd.DataFrame", "pd.DataFrame", "pd.DataFrame"]]:
    """Reads a GCT (1.2 or 1.3) or GCTX file, or a delimited signature table, into a
    DataFrame of genes × signatures (index: row ids; columns: signature ids).

    With ``metadata=True``, returns ``(data, gene_metadata, signature_metadata)``, the
    metadata as DataFrames of strings indexed by gene and by signature id."""
    genes, ids, values, gene_meta, sig_meta = _moltx.read_signatures(os.fspath(path))
    flat = _convert.float_view(pa.array(values))
    data = flat.reshape(len(ids), len(genes)).T if len(flat) else np.empty((len(genes), len(ids)))
    frame = pd.DataFrame(data, index=pd.Index(genes, name="id"), columns=pd.Index(ids, name="cid"))
    if not metadata:
        return frame

    def meta(fields: Any, index: Sequence[str], name: str) -> "pd.DataFrame":
        cols: Dict[str, Any] = {f: v for f, v in fields}
        return pd.DataFrame(cols, index=pd.Index(index, name=name))

    return frame, meta(gene_meta, genes, "id"), meta(sig_meta, ids, "cid")
