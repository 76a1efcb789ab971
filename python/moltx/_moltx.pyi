"""The native module (Rust, PyO3): thin bindings over the moltx facade. Use the ``moltx``
package's wrappers; these signatures are what they call."""

from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

__version__: str

class MoltxError(Exception):
    """A moltx call failed: the message is the Rust library's (as the moltx command prints it)."""

class ArrowColumn:
    """An Arrow array owned by Rust (``pyarrow.array(col)`` imports it without a copy)."""

    def __arrow_c_array__(self, requested_schema: Optional[object] = None) -> Tuple[object, object]: ...
    def __len__(self) -> int: ...

Columns = List[Tuple[str, ArrowColumn]]

class Model:
    """A loaded model (the facade's ``Predictor``)."""

    @staticmethod
    def load(
        path: str,
        *,
        threads: Optional[int] = None,
        max_atoms: Optional[int] = None,
        uncertainty: Optional[str] = None,
        samples: Optional[int] = None,
        seed: Optional[int] = None,
        dropout_p: Optional[float] = None,
        calibration: Union[str, bool, None] = None,
    ) -> "Model": ...
    @staticmethod
    def bundled(*, threads: Optional[int] = None, max_atoms: Optional[int] = None) -> "Model": ...
    @property
    def tasks(self) -> List[str]: ...
    @property
    def input_spec_json(self) -> str: ...
    @property
    def has_spread(self) -> bool: ...
    @property
    def uncertainty(self) -> Optional[str]: ...
    @property
    def calibration_json(self) -> Optional[str]: ...
    @property
    def path(self) -> Optional[Path]: ...
    @property
    def max_atoms(self) -> int: ...
    @property
    def threads(self) -> Optional[int]: ...
    def predict_columns(self, smiles: Any, *, threads: Optional[int] = None) -> Columns: ...
    def embed_columns(
        self, smiles: Any, *, threads: Optional[int] = None
    ) -> Tuple[int, int, ArrowColumn, ArrowColumn]: ...

class Query:
    """A connectivity query."""

    @staticmethod
    def read(path: str) -> "Query": ...
    @staticmethod
    def genes(name: str, up: List[str], down: List[str]) -> "Query": ...
    @staticmethod
    def signature(name: str, genes: List[str], values: Any) -> "Query": ...

class References:
    """Reference signatures, ranked."""

    @staticmethod
    def read(path: str) -> "References": ...
    @staticmethod
    def from_values(genes: List[str], ids: List[str], values: Any) -> "References": ...
    @property
    def ids(self) -> List[str]: ...
    def __len__(self) -> int: ...

def screen(
    library: str,
    model: Model,
    out: str,
    *,
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
) -> str: ...
def train_model(data: str, out: str, **options: Any) -> Tuple[str, List[Tuple[int, int, str, str]]]: ...
def connect(
    query: Query,
    references: References,
    score: str = "wtcs",
    *,
    n_genes: int = 150,
    tau_background: int = 1000,
    seed: int = 42,
    xsum_n: int = 100,
    order: str = "reverse",
    top: Optional[int] = None,
) -> Columns: ...
def read_signatures(
    path: str,
) -> Tuple[List[str], List[str], ArrowColumn, List[Tuple[str, List[str]]], List[Tuple[str, List[str]]]]: ...

def explain_columns(
    model: Model,
    smiles: Any,
    *,
    tasks: Optional[List[str]] = None,
    steps: int = 64,
    threads: Optional[int] = None,
) -> Columns: ...
def explain_svg(
    model: Model,
    smiles: str,
    task: Optional[str] = None,
    *,
    steps: int = 64,
    width: int = 500,
    height: int = 400,
    legend: Optional[str] = None,
    atom_indices: bool = False,
    threads: Optional[int] = None,
) -> str: ...

def data_fetch(names: list[str], from_dir: str | None = None, cache: str | None = None) -> str: ...
def data_path(names: list[str], cache: str | None = None) -> str: ...
