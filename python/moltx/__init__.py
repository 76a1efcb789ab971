"""moltx from Python: drug-property prediction, compound screening, model training and
transcriptomic connectivity, computed by the moltx Rust library.

>>> import moltx
>>> model = moltx.Model.bundled()            # the 12-task Tox21 D-MPNN
>>> df = model.predict(["CCO", "C1CC("])       # one row per input; bad SMILES get an error
>>> df["error"].isna().tolist()
[True, False]

The calls release the GIL and run on moltx's own threads (``threads=``); Ctrl-C stops a
long call; failures of the library raise :class:`MoltxError` with its message. See
``moltx.ray`` for Ray Data.
"""

from ._moltx import MoltxError, __version__
from ._model import Model
from ._jobs import screen, train
from ._expr import References, connect, read_gct
from . import data

__all__ = [
    "Model",
    "MoltxError",
    "References",
    "__version__",
    "connect",
    "data",
    "read_gct",
    "screen",
    "train",
]
