//! `moltx._moltx`, the native module of the `moltx` Python package: thin bindings over the
//! moltx facade (`moltx::api`). The Python side (`python/moltx/`) converts inputs to Arrow
//! and builds DataFrames; everything else is the Rust library's.
//!
//! Every call that does work releases the GIL and runs on moltx's threads ([`run`]), watching
//! for Ctrl-C; errors become `moltx.MoltxError` with the library's message ([`error`]); Arrow
//! data crosses through the PyCapsule interface without copies ([`arrow`]).

mod arrow;
mod data;
mod error;
mod explain;
mod expr;
mod jobs;
mod model;
mod run;

use pyo3::prelude::*;

/// mimalloc, as the `moltx` command uses: fresh kernel outputs cost ~4× less than with glibc
/// malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The native module.
#[pymodule]
fn _moltx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("MoltxError", py.get_type::<error::MoltxError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<arrow::ArrowColumn>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<expr::PyQuery>()?;
    m.add_class::<expr::PyReferences>()?;
    m.add_function(wrap_pyfunction!(jobs::screen, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::train_model, m)?)?;
    m.add_function(wrap_pyfunction!(expr::connect, m)?)?;
    m.add_function(wrap_pyfunction!(expr::read_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(data::data_fetch, m)?)?;
    m.add_function(wrap_pyfunction!(data::data_path, m)?)?;
    m.add_function(wrap_pyfunction!(explain::explain_columns, m)?)?;
    m.add_function(wrap_pyfunction!(explain::explain_svg, m)?)?;
    Ok(())
}
