//! What torch's pickles call: persistent ids of tensor storages, `_rebuild_tensor_v2`,
//! `_rebuild_parameter`, `OrderedDict` and `set`, rebuilt as values; any other call or class
//! instantiation is kept as an [`Object`] naming its class, never run.

use std::cell::RefCell;
use std::rc::Rc;

use super::pickle::{Object, Storage, TensorView, Value};

type Step<T> = Result<T, String>;

pub(super) fn class_name(v: &Value) -> Step<String> {
    match v {
        Value::Global(name) => Ok(name.to_string()),
        other => Err(format!("a call of a {} (not a class)", other.describe())),
    }
}

pub(super) fn new_object(class: &Value, args: Value) -> Step<Value> {
    Ok(Value::Object(Rc::new(RefCell::new(Object {
        class: class_name(class)?,
        args,
        state: None,
        items: Vec::new(),
    }))))
}

fn int(v: &Value, what: &str) -> Step<u64> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as u64),
        other => Err(format!("{what}: {} is not a count", other.describe())),
    }
}

fn ints(v: &Value, what: &str) -> Step<Vec<u64>> {
    match v {
        Value::Tuple(items) => items.iter().map(|i| int(i, what)).collect(),
        other => Err(format!("{what}: {} is not a tuple", other.describe())),
    }
}

/// torch's persistent id of a storage: `('storage', storage_type, key, location, numel)`.
pub(super) fn persistent(id: &Value) -> Step<Value> {
    let Value::Tuple(t) = id else {
        return Err(format!("persistent id {}", id.describe()));
    };
    match t.as_slice() {
        [tag, kind, key, _location, numel] if tag.as_str() == Some("storage") => {
            let kind = class_name(kind)?;
            let kind = kind.rsplit('.').next().unwrap_or_default().to_string();
            let key = key.as_str().ok_or("a storage key that is not a string")?;
            Ok(Value::Storage(Rc::new(Storage {
                kind,
                key: key.to_string(),
                numel: int(numel, "storage size")?,
            })))
        }
        _ => Err("a persistent id that is not a torch storage".into()),
    }
}

/// A call: tensors, parameters and ordered dicts are rebuilt; other calls are kept as
/// [`Object`]s.
pub(super) fn reduce(callable: &Value, args: Value) -> Step<Value> {
    let name = class_name(callable)?;
    let fields = match &args {
        Value::Tuple(t) => t.clone(),
        other => return Err(format!("{name} called with a {}", other.describe())),
    };
    match name.as_str() {
        "torch._utils._rebuild_tensor_v2" | "torch._utils._rebuild_tensor" => {
            let [storage, offset, shape, stride, ..] = fields.as_slice() else {
                return Err(format!("{name} with {} arguments", fields.len()));
            };
            let Value::Storage(storage) = storage else {
                return Err(format!("{name} of a {}", storage.describe()));
            };
            let view = TensorView {
                storage: storage.as_ref().clone(),
                offset: int(offset, "tensor offset")?,
                shape: ints(shape, "tensor shape")?,
                stride: ints(stride, "tensor stride")?,
            };
            if view.shape.len() != view.stride.len() {
                return Err("a tensor whose shape and strides differ in length".into());
            }
            Ok(Value::Tensor(Rc::new(view)))
        }
        "torch._utils._rebuild_parameter" | "torch._utils._rebuild_parameter_with_state" => fields
            .first()
            .cloned()
            .ok_or_else(|| format!("{name} without arguments")),
        "collections.OrderedDict" => {
            let dict = Value::Dict(Rc::new(RefCell::new(Vec::new())));
            if let Some(Value::List(items)) = fields.first() {
                for item in items.borrow().iter() {
                    match item {
                        Value::Tuple(kv) if kv.len() == 2 => {
                            if let Value::Dict(d) = &dict {
                                d.borrow_mut().push((kv[0].clone(), kv[1].clone()));
                            }
                        }
                        _ => return Err("OrderedDict items that are not pairs".into()),
                    }
                }
            }
            Ok(dict)
        }
        "builtins.set" | "__builtin__.set" | "builtins.frozenset" | "__builtin__.frozenset" => {
            match fields.first() {
                Some(Value::List(l)) => Ok(Value::List(l.clone())),
                _ => Ok(Value::List(Rc::new(RefCell::new(Vec::new())))),
            }
        }
        _ => new_object(callable, args),
    }
}
