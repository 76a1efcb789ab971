//! Rust errors as Python exceptions: `moltx.MoltxError`, carrying the message the `moltx`
//! command prints.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    moltx,
    MoltxError,
    PyException,
    "A moltx call failed: the message is the Rust library's (as the moltx command prints it)."
);

/// The error's message with its causes, leaving out causes its message already quotes (as
/// `moltx` prints errors).
pub fn message(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        cause = c.source();
    }
    message
}

/// A facade error as a [`MoltxError`].
pub fn api_error(error: &moltx::api::ApiError) -> PyErr {
    MoltxError::new_err(message(error))
}
