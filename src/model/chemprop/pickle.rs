//! Just enough of Python's pickle machine to read what `torch.save` writes (protocols 2–5),
//! without running any Python: classes stay names, calls stay records.
//!
//! Why not a pickle crate: `serde-pickle` 1.2 has no persistent ids (`BINPERSID`, how torch
//! points at tensor storages) and forgets the names of classes, which the importer needs
//! (`BondMessagePassing` or `AtomMessagePassing`?); `pytorch-reader` 0.22.1 reads torch
//! archives but refuses chemprop's, whose hyperparameters are Lightning `AttributeDict`s: a
//! dict subclass pickled as `NEWOBJ` then `SETITEMS`, which it reads as an opaque object that
//! cannot take items. The machine here keeps such objects as [`Object`]s with their items.
//!
//! Values are shared as Python shares them (`Rc`, with `RefCell` for what `SETITEMS`,
//! `APPENDS` and `BUILD` mutate), so a memo `GET` costs O(1) and a pickle of `n` bytes does
//! O(n) work: no memo-copy blow-up.

use std::cell::RefCell;
use std::rc::Rc;

use super::rebuild::{new_object, persistent, reduce};

/// A Python value as the pickle built it.
#[derive(Debug, Clone)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in 64 bits.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(Rc<str>),
    /// `bytes` (or a Python 2 `str`).
    Bytes(Rc<[u8]>),
    /// A `tuple`.
    Tuple(Rc<Vec<Value>>),
    /// A `list` (also sets, read as lists).
    List(Rc<RefCell<Vec<Value>>>),
    /// A `dict` or `OrderedDict`, items in pickle order.
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    /// A class or function named by `GLOBAL` (`module.name`), never resolved.
    Global(Rc<str>),
    /// An instance made by `NEWOBJ` or by calling a global (`REDUCE`).
    Object(Rc<RefCell<Object>>),
    /// A persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
    Storage(Rc<Storage>),
    /// A tensor view of a storage (`torch._utils._rebuild_tensor_v2`).
    Tensor(Rc<TensorView>),
}

/// An object the pickle built without Python: its class and what was given to it.
#[derive(Debug, Clone)]
pub struct Object {
    /// `module.name` of the class (or of the function called).
    pub class: String,
    /// Constructor or call arguments.
    pub args: Value,
    /// `BUILD` state (an instance's `__dict__`, or what `__setstate__` takes).
    pub state: Option<Value>,
    /// Items set on a dict subclass (`SETITEMS`).
    pub items: Vec<(Value, Value)>,
}

/// A tensor storage referenced by a persistent id.
#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    /// Storage class name, e.g. `FloatStorage`.
    pub kind: String,
    /// Entry name under `data/` in the archive.
    pub key: String,
    /// Number of elements.
    pub numel: u64,
}

/// A strided view of a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView {
    /// The storage.
    pub storage: Storage,
    /// Offset of the first element, in elements.
    pub offset: u64,
    /// Shape.
    pub shape: Vec<u64>,
    /// Strides, in elements.
    pub stride: Vec<u64>,
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Looks `key` up in a dict, or in the items of a dict subclass.
    pub fn get(&self, key: &str) -> Option<Value> {
        let find = |items: &[(Value, Value)]| {
            items
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v.clone())
        };
        match self {
            Value::Dict(d) => find(&d.borrow()),
            Value::Object(o) => find(&o.borrow().items),
            _ => None,
        }
    }

    /// The items of a dict or dict subclass.
    pub fn items(&self) -> Option<Vec<(Value, Value)>> {
        match self {
            Value::Dict(d) => Some(d.borrow().clone()),
            Value::Object(o) => Some(o.borrow().items.clone()),
            _ => None,
        }
    }

    /// A short description for error messages: the class of an object or global, else the
    /// Python type.
    pub fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => format!("{s:?}"),
            Value::Bytes(_) => "bytes".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::List(_) => "list".into(),
            Value::Dict(_) => "dict".into(),
            Value::Global(name) => name.to_string(),
            Value::Object(o) => o.borrow().class.clone(),
            Value::Storage(_) => "storage".into(),
            Value::Tensor(_) => "tensor".into(),
        }
    }
}

/// Dropping a value frees its contents with an explicit work list, not recursion: a hostile
/// pickle can nest lists a million deep in a few megabytes, and a recursive drop of that
/// would overflow the stack.
impl Drop for Value {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        take_children(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            take_children(&mut v, &mut pending);
        }
    }
}

/// Moves the children of the last owner of a container into `out` (shared containers are
/// left to their other owners).
fn take_children(v: &mut Value, out: &mut Vec<Value>) {
    let pairs = |items: &mut Vec<(Value, Value)>, out: &mut Vec<Value>| {
        for (k, v) in items.drain(..) {
            out.push(k);
            out.push(v);
        }
    };
    match v {
        Value::Tuple(t) => {
            if let Some(items) = Rc::get_mut(t) {
                out.append(items);
            }
        }
        Value::List(l) => {
            if let Some(cell) = Rc::get_mut(l) {
                out.append(cell.get_mut());
            }
        }
        Value::Dict(d) => {
            if let Some(cell) = Rc::get_mut(d) {
                pairs(cell.get_mut(), out);
            }
        }
        Value::Object(o) => {
            if let Some(cell) = Rc::get_mut(o) {
                let o = cell.get_mut();
                out.push(std::mem::replace(&mut o.args, Value::None));
                out.extend(o.state.take());
                pairs(&mut o.items, out);
            }
        }
        _ => {}
    }
}

/// Why a pickle could not be read, with the byte offset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("byte {at}: {reason}")]
pub struct PickleError {
    /// Offset of the opcode.
    pub at: usize,
    /// What was wrong.
    pub reason: String,
}

/// Most values on the stack or in the memo (a guard against hostile files; torch's own
/// pickles of models with millions of weights use a few thousand).
const MAX_ITEMS: usize = 1 << 22;

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
}

/// Runs a pickle to its `STOP` and returns the value it built.
pub fn load(bytes: &[u8]) -> Result<Value, PickleError> {
    let mut m = Machine {
        bytes,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
    };
    loop {
        let at = m.pos;
        let op = m.take(1).map_err(|r| PickleError { at, reason: r })?[0];
        match m.step(op) {
            Ok(true) => {
                return m.stack.pop().ok_or_else(|| PickleError {
                    at,
                    reason: "STOP on an empty stack".into(),
                });
            }
            Ok(false) => {}
            Err(reason) => return Err(PickleError { at, reason }),
        }
        if m.stack.len() > MAX_ITEMS || m.memo.len() > MAX_ITEMS {
            return Err(PickleError {
                at,
                reason: "too many values".into(),
            });
        }
    }
}

type Step<T> = Result<T, String>;

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Step<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("the pickle ends in the middle of an opcode")?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Step<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn line(&mut self) -> Step<String> {
        let rest = &self.bytes[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("a text argument without its newline")?;
        let text = std::str::from_utf8(&rest[..n]).map_err(|_| "a text argument is not UTF-8")?;
        self.pos += n + 1;
        Ok(text.to_string())
    }

    fn sized(&mut self, n: u64) -> Step<&[u8]> {
        let n = usize::try_from(n).map_err(|_| "a length beyond memory")?;
        self.take(n)
    }

    fn text(&mut self, n: u64) -> Step<Value> {
        let b = self.sized(n)?;
        let s = std::str::from_utf8(b).map_err(|_| "a string is not UTF-8")?;
        Ok(Value::Str(s.into()))
    }

    fn pop(&mut self) -> Step<Value> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("an opcode took a value across a MARK".into());
        }
        self.stack.pop().ok_or_else(|| "stack underflow".into())
    }

    fn pop_mark(&mut self) -> Step<Vec<Value>> {
        let mark = self.marks.pop().ok_or("no MARK on the stack")?;
        Ok(self.stack.split_off(mark))
    }

    fn top(&self) -> Step<&Value> {
        self.stack.last().ok_or_else(|| "stack underflow".into())
    }

    fn put(&mut self, index: usize) -> Step<()> {
        if index > MAX_ITEMS {
            return Err(format!("memo index {index} out of range"));
        }
        let v = self.top()?.clone();
        if self.memo.len() <= index {
            self.memo.resize(index + 1, None);
        }
        self.memo[index] = Some(v);
        Ok(())
    }

    fn get(&mut self, index: usize) -> Step<()> {
        let v = self
            .memo
            .get(index)
            .cloned()
            .flatten()
            .ok_or_else(|| format!("memo index {index} was never set"))?;
        self.stack.push(v);
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Step<()> {
        if !items.len().is_multiple_of(2) {
            return Err("SETITEMS with an odd number of values".into());
        }
        let mut pairs = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            pairs.push((k, v));
        }
        match self.top()? {
            Value::Dict(d) => d.borrow_mut().extend(pairs),
            Value::Object(o) => o.borrow_mut().items.extend(pairs),
            other => return Err(format!("items set on a {}", other.describe())),
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Step<()> {
        match self.top()? {
            Value::List(l) => l.borrow_mut().extend(items),
            // A list subclass: its items are kept with the object's.
            Value::Object(o) => o
                .borrow_mut()
                .items
                .extend(items.into_iter().map(|v| (Value::None, v))),
            other => return Err(format!("items appended to a {}", other.describe())),
        }
        Ok(())
    }

    fn tuple(&mut self, n: usize) -> Step<()> {
        let len = self.stack.len();
        if len < n || self.marks.last().is_some_and(|&m| m > len - n) {
            return Err("stack underflow building a tuple".into());
        }
        let items = self.stack.split_off(len - n);
        self.stack.push(Value::Tuple(Rc::new(items)));
        Ok(())
    }

    fn push(&mut self, v: Value) -> Step<bool> {
        self.stack.push(v);
        Ok(false)
    }

    /// One opcode; `Ok(true)` at `STOP`.
    fn step(&mut self, op: u8) -> Step<bool> {
        match op {
            b'.' => return Ok(true),
            0x80 => {
                let proto = self.array::<1>()?[0];
                if proto > 5 {
                    return Err(format!("pickle protocol {proto} (at most 5 exists)"));
                }
            }
            0x95 => {
                self.array::<8>()?;
            }
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                if self.marks.last() == Some(&self.stack.len()) {
                    self.marks.pop();
                } else {
                    self.pop()?;
                }
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let v = self.top()?.clone();
                self.stack.push(v);
            }
            b'N' => return self.push(Value::None),
            0x88 => return self.push(Value::Bool(true)),
            0x89 => return self.push(Value::Bool(false)),
            b'I' => {
                let line = self.line()?;
                let v = match line.as_str() {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    t => Value::Int(t.parse().map_err(|_| format!("bad INT {t:?}"))?),
                };
                return self.push(v);
            }
            b'L' => {
                let line = self.line()?;
                let t = line.trim_end_matches('L');
                let v = t
                    .parse()
                    .map_err(|_| format!("LONG {t:?} beyond 64 bits"))?;
                return self.push(Value::Int(v));
            }
            b'F' => {
                let line = self.line()?;
                let v = line.parse().map_err(|_| format!("bad FLOAT {line:?}"))?;
                return self.push(Value::Float(v));
            }
            b'J' => {
                let v = i32::from_le_bytes(self.array()?);
                return self.push(Value::Int(v.into()));
            }
            b'K' => {
                let v = self.array::<1>()?[0];
                return self.push(Value::Int(v.into()));
            }
            b'M' => {
                let v = u16::from_le_bytes(self.array()?);
                return self.push(Value::Int(v.into()));
            }
            0x8a => {
                let n = self.array::<1>()?[0] as usize;
                let b = self.take(n)?;
                if n > 8 {
                    return Err("LONG1 beyond 64 bits".into());
                }
                let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut buf = [fill; 8];
                buf[..n].copy_from_slice(b);
                return self.push(Value::Int(i64::from_le_bytes(buf)));
            }
            b'G' => {
                let v = f64::from_be_bytes(self.array()?);
                return self.push(Value::Float(v));
            }
            b'X' => {
                let n = u32::from_le_bytes(self.array()?);
                let v = self.text(n.into())?;
                return self.push(v);
            }
            0x8c => {
                let n = self.array::<1>()?[0];
                let v = self.text(n.into())?;
                return self.push(v);
            }
            0x8d => {
                let n = u64::from_le_bytes(self.array()?);
                let v = self.text(n)?;
                return self.push(v);
            }
            b'T' | b'B' => {
                let n = u32::from_le_bytes(self.array()?);
                let b: Rc<[u8]> = self.sized(n.into())?.into();
                return self.push(Value::Bytes(b));
            }
            b'U' | b'C' => {
                let n = self.array::<1>()?[0];
                let b: Rc<[u8]> = self.sized(n.into())?.into();
                return self.push(Value::Bytes(b));
            }
            0x8e => {
                let n = u64::from_le_bytes(self.array()?);
                let b: Rc<[u8]> = self.sized(n)?.into();
                return self.push(Value::Bytes(b));
            }
            b')' => return self.push(Value::Tuple(Rc::new(Vec::new()))),
            0x85 => self.tuple(1)?,
            0x86 => self.tuple(2)?,
            0x87 => self.tuple(3)?,
            b't' => {
                let items = self.pop_mark()?;
                return self.push(Value::Tuple(Rc::new(items)));
            }
            b']' | 0x8f => return self.push(Value::List(Rc::new(RefCell::new(Vec::new())))),
            b'l' | 0x91 => {
                let items = self.pop_mark()?;
                return self.push(Value::List(Rc::new(RefCell::new(items))));
            }
            b'}' => return self.push(Value::Dict(Rc::new(RefCell::new(Vec::new())))),
            b'd' => {
                let items = self.pop_mark()?;
                self.stack
                    .push(Value::Dict(Rc::new(RefCell::new(Vec::new()))));
                self.set_items(items)?;
            }
            b'a' => {
                let v = self.pop()?;
                self.append(vec![v])?;
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![k, v])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            b'p' => {
                let i = self.line()?;
                self.put(i.parse().map_err(|_| format!("bad PUT {i:?}"))?)?;
            }
            b'q' => {
                let i = self.array::<1>()?[0];
                self.put(i.into())?;
            }
            b'r' => {
                let i = u32::from_le_bytes(self.array()?);
                self.put(i as usize)?;
            }
            0x94 => self.put(self.memo.len())?,
            b'g' => {
                let i = self.line()?;
                self.get(i.parse().map_err(|_| format!("bad GET {i:?}"))?)?;
            }
            b'h' => {
                let i = self.array::<1>()?[0];
                self.get(i.into())?;
            }
            b'j' => {
                let i = u32::from_le_bytes(self.array()?);
                self.get(i as usize)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                return self.push(Value::Global(format!("{module}.{name}").into()));
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(module), Some(name)) = (module.as_str(), name.as_str()) else {
                    return Err("STACK_GLOBAL of non-strings".into());
                };
                return self.push(Value::Global(format!("{module}.{name}").into()));
            }
            b'Q' => {
                let id = self.pop()?;
                let v = persistent(&id)?;
                return self.push(v);
            }
            b'P' => {
                let id = self.line()?;
                return Err(format!("text persistent id {id:?} (torch writes tuples)"));
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let v = reduce(&callable, args)?;
                return self.push(v);
            }
            0x81 => {
                let args = self.pop()?;
                let class = self.pop()?;
                return self.push(new_object(&class, args)?);
            }
            0x92 => {
                let _kwargs = self.pop()?;
                let args = self.pop()?;
                let class = self.pop()?;
                return self.push(new_object(&class, args)?);
            }
            b'b' => {
                let state = self.pop()?;
                match self.top()? {
                    Value::Object(o) => o.borrow_mut().state = Some(state),
                    // An OrderedDict's `_metadata` (a state_dict's): the items are what count.
                    Value::Dict(_) => {}
                    other => return Err(format!("BUILD of a {}", other.describe())),
                }
            }
            other => return Err(format!("unsupported pickle opcode 0x{other:02x}")),
        }
        Ok(false)
    }
}

#[cfg(test)]
#[path = "pickle_tests.rs"]
mod tests;
