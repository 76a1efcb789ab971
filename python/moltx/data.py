"""The public reference datasets (LINCS L1000 consensus signatures, PharmacotherapyDB
indications, STARGEO disease signatures, gene sets, MoleculeNet sets, MOSES), as the
``moltx data`` command fetches them: downloaded from pinned public sources (or copied from a
local folder), each file verified by size and SHA-256, into moltx's cache (``$MOLTX_DATA``,
else ``~/.cache/moltx``), laid out as the shared data. ``moltx data list`` names them.

>>> import moltx
>>> folder = moltx.data.fetch("l1000-consensus", "indications")   # doctest: +SKIP
>>> moltx.data.path("indications")                                # doctest: +SKIP
PosixPath('/home/me/.cache/moltx')
"""

from __future__ import annotations

import os
from pathlib import Path

from . import _moltx

__all__ = ["fetch", "path"]


def fetch(
    *names: str,
    from_dir: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Fetches the named datasets into the cache and returns the cache folder.

    ``from_dir`` copies them from a local folder in the same layout instead of downloading
    (an air-gapped site's copy); files already in the cache and verified are kept; a file
    whose checksum differs is removed and raises :class:`moltx.MoltxError`.
    """
    folder = _moltx.data_fetch(
        list(names),
        None if from_dir is None else os.fspath(from_dir),
        None if cache is None else os.fspath(cache),
    )
    return Path(folder)


def path(*names: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder holding the named datasets complete; raises
    :class:`moltx.MoltxError` naming the ``moltx data fetch`` command when one is missing."""
    return Path(_moltx.data_path(list(names), None if cache is None else os.fspath(cache)))
