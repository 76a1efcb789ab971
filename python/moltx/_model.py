"""``moltx.Model``: a trained model scoring molecules in memory."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union, overload

import numpy as np
import pyarrow as pa

from . import _convert, _moltx

if TYPE_CHECKING:
    from typing import Literal

    import pandas as pd

PathLike = Union[str, "os.PathLike[str]"]


class Model:
    """A trained moltx model: a model file, a folder of them (an ensemble), a
    nearest-neighbour model file, a fusion folder, or the bundled Tox21 D-MPNN.

    Every call runs in Rust with the GIL released, on ``threads`` threads (``None``: one per
    core), and stops on Ctrl-C. Molecules that fail (bad SMILES, too large, ``None``) are rows
    with an ``error``, never exceptions; a model that cannot be read raises
    :class:`moltx.MoltxError`.

    >>> model = Model.bundled()
    >>> df = model.predict(["CCO", "not a molecule"])
    >>> list(df.columns[:2]), bool(df["error"].isna()[0])
    (['smiles', 'NR-AR'], True)
    """

    __slots__ = ("_native", "_load")

    def __init__(self, native: _moltx.Model, load: Optional[Dict[str, Any]] = None) -> None:
        """Wraps a native model; use :meth:`load` or :meth:`bundled`."""
        self._native = native
        self._load: Dict[str, Any] = load or {}

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        threads: Optional[int] = None,
        max_atoms: Optional[int] = None,
        uncertainty: Optional[str] = None,
        samples: Optional[int] = None,
        seed: Optional[int] = None,
        dropout_p: Optional[float] = None,
        calibration: Union[PathLike, bool, None] = None,
    ) -> "Model":
        """Loads a model file, an ensemble folder, a neighbour model or a fusion folder.

        ``threads`` is the default thread count of this model's calls; ``max_atoms`` the
        size limit (molecules with more heavy atoms fail as "too large").

        ``uncertainty``: ``"ensemble"`` (the members' standard deviation) or ``"dropout"``
        (MC dropout: ``samples`` forward passes with dropout on, default 30, masks from
        ``seed``, default 0; the model must have been trained with dropout, unless ``dropout_p``
        sets a probability for every dropout layer, as chemprop's ``--uncertainty-dropout-p``
        does); predictions then
        carry ``<task>_unc``, a standard deviation in the task's units. ``calibration``: the
        model's calibration file (``moltx calibrate``) is applied when it exists (``None`` or
        ``True``), not at all (``False``), or another file (a path); it adds ``<task>_lo`` and
        ``<task>_hi`` (conformal intervals), ``<task>_set`` (conformal sets) or recalibrates
        the probabilities or ``<task>_unc``."""
        if isinstance(calibration, (str, os.PathLike)):
            calibration = os.path.abspath(os.fspath(calibration))
        load = dict(
            uncertainty=uncertainty,
            samples=samples,
            seed=seed,
            dropout_p=dropout_p,
            calibration=calibration,
        )
        native = _moltx.Model.load(
            os.fspath(path), threads=threads, max_atoms=max_atoms, **load
        )
        return cls(native, {k: v for k, v in load.items() if v is not None})

    @classmethod
    def bundled(cls, *, threads: Optional[int] = None, max_atoms: Optional[int] = None) -> "Model":
        """The bundled 12-task Tox21 D-MPNN (compiled into the library)."""
        return cls(_moltx.Model.bundled(threads=threads, max_atoms=max_atoms))

    @property
    def tasks(self) -> List[str]:
        """Output names, in order (the prediction columns)."""
        return self._native.tasks

    @property
    def input_spec(self) -> Dict[str, Any]:
        """What the model reads (structure kind, feature layout, supplied features), as the
        model file states it."""
        spec: Dict[str, Any] = json.loads(self._native.input_spec_json)
        return spec

    @property
    def is_ensemble(self) -> bool:
        """True when predictions carry a standard deviation per task (``<task>_std``, or
        ``<task>_unc`` with an uncertainty estimate)."""
        return self._native.has_spread

    @property
    def uncertainty(self) -> Optional[str]:
        """The uncertainty estimator in effect: ``"ensemble"``, ``"dropout"`` (asked for, or
        the one the calibration was fitted with) or ``None``."""
        return self._native.uncertainty

    @property
    def calibration(self) -> Optional[Dict[str, Any]]:
        """The calibration applied to every prediction (the fitted calibration as
        ``moltx calibrate`` wrote it), or ``None``."""
        text = self._native.calibration_json
        return None if text is None else dict(json.loads(text))

    @property
    def path(self) -> Optional[str]:
        """The model's file or folder; ``None`` for the bundled model."""
        p = self._native.path
        return None if p is None else os.fspath(p)

    @property
    def max_atoms(self) -> int:
        """The size limit in heavy atoms."""
        return self._native.max_atoms

    @property
    def threads(self) -> Optional[int]:
        """The default thread count of this model's calls (``None``: one per core)."""
        return self._native.threads

    @overload
    def predict(
        self, smiles: Any, *, as_arrow: "Literal[False]" = ..., threads: Optional[int] = ...
    ) -> "pd.DataFrame": ...

    @overload
    def predict(
        self, smiles: Any, *, as_arrow: "Literal[True]", threads: Optional[int] = ...
    ) -> pa.Table: ...

    def predict(
        self, smiles: Any, *, as_arrow: bool = False, threads: Optional[int] = None
    ) -> Union["pd.DataFrame", pa.Table]:
        """Predictions for molecules, one row per input in input order.

        ``smiles``: a list (or any iterable) of SMILES strings, a pandas Series, a pyarrow
        Array or ChunkedArray, or RDKit ``Mol`` objects (written as SMILES with
        ``Chem.MolToSmiles``). Columns: ``smiles``, one per task, ``<task>_std`` per task
        for ensembles (``<task>_unc`` with an uncertainty estimate or a calibration),
        ``<task>_lo`` and ``<task>_hi`` (conformal intervals) or ``<task>_set`` (conformal
        sets: ``"0"``, ``"1"``, ``"0,1"`` or ``""``) when a calibration makes them, and ``error`` (missing where the row was scored; the reason where it
        failed, whose values are then NaN/null). ``as_arrow=True`` returns a
        ``pyarrow.Table`` (its buffers are the Rust library's own, not copied)."""
        columns = self._native.predict_columns(_convert.smiles_array(smiles), threads=threads)
        return _convert.to_table(columns) if as_arrow else _convert.to_frame(columns)

    def embed(self, smiles: Any, *, threads: Optional[int] = None) -> "np.ndarray[Any, np.dtype[np.float64]]":
        """The model's learned embeddings (the D-MPNN readout, as ``moltx fingerprint``
        writes), one row per input: a read-only ``(n, d)`` float64 array viewing the Rust
        buffer (``np.array(x)`` copies it); rows of molecules that failed are NaN.

        Embeddings come from the first network of an ensemble; neighbour and fusion models
        have none (:class:`moltx.MoltxError`)."""
        n, d, values, _errors = self._native.embed_columns(
            _convert.smiles_array(smiles), threads=threads
        )
        flat = _convert.float_view(pa.array(values))
        return flat.reshape(n, d) if n * d else np.empty((n, d))

    @overload
    def explain(
        self,
        smiles: Any,
        *,
        tasks: Optional[List[str]] = ...,
        steps: int = ...,
        as_arrow: "Literal[False]" = ...,
        threads: Optional[int] = ...,
    ) -> "pd.DataFrame": ...

    @overload
    def explain(
        self,
        smiles: Any,
        *,
        tasks: Optional[List[str]] = ...,
        steps: int = ...,
        as_arrow: "Literal[True]",
        threads: Optional[int] = ...,
    ) -> pa.Table: ...

    def explain(
        self,
        smiles: Any,
        *,
        tasks: Optional[List[str]] = None,
        steps: int = 64,
        as_arrow: bool = False,
        threads: Optional[int] = None,
    ) -> Union["pd.DataFrame", pa.Table]:
        """How much each atom contributes to the predictions (as ``moltx explain``): one row
        per atom per task, by integrated gradients through the D-MPNN (baseline: all atom and
        bond features zero; ``steps`` integration steps).

        Columns: ``row`` (the input's position), ``smiles``, ``task``, ``atom`` (RDKit's atom
        index), ``element``, ``contribution``, ``output`` and ``baseline`` (the model's
        output at the molecule and at the baseline; per row and task the contributions sum
        to ``output - baseline`` up to the integration error), ``error`` (a failed input is
        one row with the reason). Regression contributions are in the task's units,
        classification ones in logits; an ensemble is explained as the mean of its members.
        ``tasks``: names to explain (default all). Only D-MPNN models can be explained
        (:class:`moltx.MoltxError` otherwise); the model's networks are read again from its
        file or folder on each call."""
        columns = _moltx.explain_columns(
            self._native, _convert.smiles_array(smiles), tasks=tasks, steps=steps, threads=threads
        )
        return _convert.to_table(columns) if as_arrow else _convert.to_frame(columns)

    def explain_svg(
        self,
        smiles: str,
        task: Optional[str] = None,
        *,
        steps: int = 64,
        width: int = 500,
        height: int = 400,
        legend: Optional[str] = None,
        atom_indices: bool = False,
        threads: Optional[int] = None,
    ) -> str:
        """An SVG picture of one molecule, drawn by RDKit, with atoms shaded by their
        contribution to ``task`` (default: the first task): red raises the output, blue
        lowers it, scaled to the largest contribution in the picture. ``legend`` (default:
        the SMILES, the task and the prediction) is drawn under the molecule and is the SVG's
        ``<title>``. In a notebook: ``IPython.display.SVG(model.explain_svg(smiles))``. A
        SMILES RDKit rejects raises :class:`moltx.MoltxError`."""
        return _moltx.explain_svg(
            self._native,
            smiles,
            task,
            steps=steps,
            width=width,
            height=height,
            legend=legend,
            atom_indices=atom_indices,
            threads=threads,
        )

    def __reduce__(self) -> Any:
        """Pickles as the way to load it again, by absolute path (Ray and Spark ship models
        to workers so; the file must be readable there)."""
        path = None if self.path is None else os.path.abspath(self.path)
        return (_restore, (path, self.threads, self.max_atoms, self._load))

    def __repr__(self) -> str:
        return repr(self._native)


def _restore(
    path: Optional[str],
    threads: Optional[int],
    max_atoms: int,
    load: Optional[Dict[str, Any]] = None,
) -> Model:
    """Loads a pickled model again (with the uncertainty it was loaded with)."""
    if path is None:
        return Model.bundled(threads=threads, max_atoms=max_atoms)
    return Model.load(path, threads=threads, max_atoms=max_atoms, **(load or {}))


def as_model(model: Union[Model, PathLike, None]) -> Model:
    """A model, a path to one, or ``None`` for the bundled model."""
    if model is None:
        return Model.bundled()
    if isinstance(model, Model):
        return model
    return Model.load(model)
