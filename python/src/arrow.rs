//! Arrow data across the boundary through the Arrow PyCapsule interface (the C data and C
//! stream interfaces): buffers are shared, not copied.
//!
//! In: any object with `__arrow_c_stream__` (a `pyarrow.ChunkedArray`, …) or
//! `__arrow_c_array__` (a `pyarrow.Array`, …) of strings or float64. Out: [`ArrowColumn`],
//! an array owned by Rust that `pyarrow.array()` imports without copying.

use std::ffi::CStr;

use arrow_array::builder::StringBuilder;
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi, to_ffi};
use arrow_array::ffi_stream::{ArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, Float64Array, LargeStringArray, PrimitiveArray, StringArray, StringViewArray,
    make_array,
};
use arrow_schema::{ArrowError, DataType};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// An Arrow array owned by Rust, exported to Python through `__arrow_c_array__`.
#[pyclass(module = "moltx._moltx", frozen)]
pub struct ArrowColumn {
    array: ArrayRef,
}

impl ArrowColumn {
    /// Wraps an array.
    pub fn new(array: ArrayRef) -> Self {
        ArrowColumn { array }
    }

    /// Float64 values with nulls where `valid` is false. The values there are NaN too, so a
    /// reader that ignores the validity bitmap (a zero-copy numpy view) sees NaN.
    pub fn floats(values: Vec<f64>, valid: Option<Vec<bool>>) -> Self {
        let array: Float64Array = match valid {
            Some(valid) if valid.iter().any(|v| !v) => {
                PrimitiveArray::<Float64Type>::new(values.into(), Some(valid.into()))
            }
            _ => PrimitiveArray::<Float64Type>::new(values.into(), None),
        };
        Self::new(std::sync::Arc::new(array))
    }

    /// Strings, null where `None`.
    pub fn strings<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut b = StringBuilder::new();
        for v in values {
            b.append_option(v);
        }
        Self::new(std::sync::Arc::new(b.finish()))
    }
}

#[pymethods]
impl ArrowColumn {
    /// The Arrow PyCapsule interface: `(schema, array)` capsules of this array.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        // The producer's own type is offered; a consumer that asked for another casts.
        let _ = requested_schema;
        let (array, schema) = to_ffi(&self.array.to_data()).map_err(arrow_error)?;
        let schema = PyCapsule::new_with_value(py, schema, SCHEMA)?;
        let array = PyCapsule::new_with_value(py, array, ARRAY)?;
        Ok((schema, array))
    }

    /// Number of values.
    fn __len__(&self) -> usize {
        self.array.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ArrowColumn({}, {} values)",
            self.array.data_type(),
            self.array.len()
        )
    }
}

const SCHEMA: &CStr = c"arrow_schema";
const ARRAY: &CStr = c"arrow_array";
const STREAM: &CStr = c"arrow_array_stream";

fn arrow_error(e: ArrowError) -> PyErr {
    PyValueError::new_err(format!("Arrow data: {e}"))
}

/// Imports an Arrow array or chunked array (one array per chunk), sharing its buffers.
pub fn import(obj: &Bound<'_, PyAny>) -> PyResult<Vec<ArrayRef>> {
    if obj.hasattr("__arrow_c_stream__")? {
        let capsule = obj
            .call_method0("__arrow_c_stream__")?
            .cast_into::<PyCapsule>()?;
        let ptr = capsule.pointer_checked(Some(STREAM))?;
        // SAFETY: the capsule holds an `ArrowArrayStream` (its name says so); `from_raw`
        // moves it out and marks the capsule's copy released, so it is released once.
        let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
        let reader = ArrayStreamReader::try_new(stream).map_err(arrow_error)?;
        return reader.map(|a| a.map_err(arrow_error)).collect();
    }
    if obj.hasattr("__arrow_c_array__")? {
        let (schema, array): (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>) =
            obj.call_method0("__arrow_c_array__")?.extract()?;
        let schema_ptr = schema.pointer_checked(Some(SCHEMA))?;
        let array_ptr = array.pointer_checked(Some(ARRAY))?;
        // SAFETY: the capsules hold an `ArrowSchema` and an `ArrowArray` (their names say
        // so); the array is moved out (its capsule's copy marked released), the schema
        // borrowed while its capsule is alive.
        let data = unsafe {
            let array = FFI_ArrowArray::from_raw(array_ptr.as_ptr().cast());
            let schema = &*(schema_ptr.as_ptr() as *const FFI_ArrowSchema);
            from_ffi(array, schema)
        }
        .map_err(arrow_error)?;
        return Ok(vec![make_array(data)]);
    }
    Err(PyTypeError::new_err(format!(
        "expected an Arrow array (an object with __arrow_c_array__ or __arrow_c_stream__), got {}",
        obj.get_type().name()?
    )))
}

/// The strings of imported arrays, `None` for nulls, borrowed from the Arrow buffers.
pub fn strings(arrays: &[ArrayRef]) -> PyResult<Vec<Option<&str>>> {
    let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for a in arrays {
        let any = a.as_any();
        match a.data_type() {
            DataType::Utf8 => out.extend(downcast::<StringArray>(any)?.iter()),
            DataType::LargeUtf8 => out.extend(downcast::<LargeStringArray>(any)?.iter()),
            DataType::Utf8View => out.extend(downcast::<StringViewArray>(any)?.iter()),
            DataType::Null => out.extend(std::iter::repeat_n(None, a.len())),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "expected strings (SMILES), got Arrow type {other}"
                )));
            }
        }
    }
    Ok(out)
}

/// The float64 values of imported arrays, copied; nulls are refused.
pub fn floats(arrays: &[ArrayRef], what: &str) -> PyResult<Vec<f64>> {
    let mut out = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for a in arrays {
        if a.data_type() != &DataType::Float64 {
            return Err(PyTypeError::new_err(format!(
                "{what}: expected float64 values, got Arrow type {}",
                a.data_type()
            )));
        }
        if a.null_count() > 0 {
            return Err(PyValueError::new_err(format!(
                "{what}: {} missing values",
                a.null_count()
            )));
        }
        out.extend_from_slice(downcast::<Float64Array>(a.as_any())?.values());
    }
    Ok(out)
}

fn downcast<T: 'static>(any: &dyn std::any::Any) -> PyResult<&T> {
    any.downcast_ref::<T>()
        .ok_or_else(|| PyTypeError::new_err("unexpected Arrow array layout"))
}
