//! Data: labelled tables, splits, and batches of molecular graphs.

pub mod batch;
pub mod datasets;
pub mod error;
pub mod library;
pub mod lock;
mod parquet_rows;
pub mod reader;
pub mod registry;
pub mod split;
pub mod stop;
pub mod summary;
pub mod table;

pub use batch::GraphBatch;
pub use datasets::SharedData;
pub use error::DataError;
pub use library::{LibraryFormat, LibraryOptions, LibraryReader, LibraryRow, MoleculeText};
pub use lock::{LockError, OutputLock};
pub use split::Split;
pub use stop::StopFlag;
pub use table::{LabelError, MoleculeTable, RowError, RowFailure, TableOptions};
