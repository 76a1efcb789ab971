//! The torch archive: a ZIP file whose one folder holds `data.pkl` (the pickled object),
//! `data/<key>` (one entry per tensor storage, raw little-endian elements) and `byteorder`.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::pickle::{self, TensorView, Value};

/// Largest `data.pkl` read: a model's pickle holds names and numbers (chemprop's: about
/// 5 kB), its weights are elsewhere; a hostile pickle can hold some 30 bytes of values per
/// byte, so this also bounds what one can make the reader allocate (about 0.5 GB).
const MAX_PICKLE_BYTES: u64 = 16 << 20;

/// Largest storage read (1 GiB; chemprop models are a few MB).
const MAX_STORAGE_BYTES: u64 = 1 << 30;

/// An opened torch archive: the unpickled root object and the storages' bytes.
pub struct TorchArchive {
    /// What `torch.save` pickled.
    pub root: Value,
    storages: HashMap<String, Vec<u8>>,
}

/// A tensor read as `f32` values (row-major) with its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Elements in row-major order.
    pub values: Vec<f32>,
}

impl TorchArchive {
    /// Reads an archive from bytes; the error is the reason, for the caller to name the file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.starts_with(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19") {
            return Err("a legacy (pre-1.6) torch file; re-save it with a current torch".into());
        }
        if !bytes.starts_with(b"PK\x03\x04") {
            return Err("not a torch model file (no ZIP archive header)".into());
        }
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("not a readable ZIP archive ({e})"))?;
        let names: Vec<String> = zip
            .file_names()
            .map(|n| n.map(|c| c.into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("unreadable ZIP entry names ({e})"))?;
        let pkl = names
            .iter()
            .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
            .ok_or("a ZIP archive without data.pkl: not a torch model file")?
            .clone();
        let prefix = pkl.trim_end_matches("data.pkl").to_string();
        let read = |zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str, limit: u64| {
            let entry = zip
                .by_name(name)
                .map_err(|e| format!("entry {name}: {e}"))?;
            if entry.size() > limit {
                return Err(format!(
                    "entry {name} is {} bytes (at most {limit})",
                    entry.size()
                ));
            }
            let mut out = Vec::with_capacity(entry.size() as usize);
            entry
                .take(limit + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("entry {name}: {e}"))?;
            Ok(out)
        };
        if let Some(order) = names.iter().find(|n| **n == format!("{prefix}byteorder")) {
            let order = read(&mut zip, &order.clone(), 16)?;
            if order.trim_ascii() != b"little" {
                return Err("a big-endian torch file (only little-endian is read)".into());
            }
        }
        let pickled = read(&mut zip, &pkl, MAX_PICKLE_BYTES)?;
        let root = pickle::load(&pickled).map_err(|e| format!("data.pkl: {e}"))?;
        let data = format!("{prefix}data/");
        let mut storages = HashMap::new();
        for name in names.iter().filter(|n| n.starts_with(&data)) {
            let bytes = read(&mut zip, name, MAX_STORAGE_BYTES)?;
            storages.insert(name[data.len()..].to_string(), bytes);
        }
        Ok(TorchArchive { root, storages })
    }

    /// The elements of a tensor as `f32` (float32 and float64 storages).
    pub fn tensor(&self, view: &TensorView) -> Result<Tensor, String> {
        let s = &view.storage;
        let width = match s.kind.as_str() {
            "FloatStorage" => 4,
            "DoubleStorage" => 8,
            other => {
                return Err(format!(
                    "a tensor of {other} (only float32/float64 are read)"
                ));
            }
        };
        let bytes = self
            .storages
            .get(&s.key)
            .ok_or_else(|| format!("storage data/{} is missing from the archive", s.key))?;
        if (bytes.len() as u64) < s.numel.saturating_mul(width) {
            return Err(format!(
                "storage data/{} holds {} bytes, less than its {} elements",
                s.key,
                bytes.len(),
                s.numel
            ));
        }
        let count = view
            .shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .ok_or("a tensor shape beyond 2^64 elements")?;
        // The last element a view touches must lie inside its storage.
        if count > 0 {
            view.shape
                .iter()
                .zip(&view.stride)
                .try_fold(view.offset, |acc, (&d, &st)| {
                    (d - 1).checked_mul(st).and_then(|x| acc.checked_add(x))
                })
                .filter(|&last| last < s.numel)
                .ok_or_else(|| format!("a tensor view beyond its storage data/{}", s.key))?;
        }
        if count > MAX_STORAGE_BYTES / 4 {
            return Err(format!("a tensor of {count} elements"));
        }
        let element = |i: u64| -> f32 {
            let at = (i * width) as usize;
            match width {
                4 => f32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")),
                _ => f64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes")) as f32,
            }
        };
        let mut values = Vec::with_capacity(count as usize);
        let mut index = vec![0u64; view.shape.len()];
        for _ in 0..count {
            let at = view.offset
                + index
                    .iter()
                    .zip(&view.stride)
                    .map(|(&i, &st)| i * st)
                    .sum::<u64>();
            values.push(element(at));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < view.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(Tensor {
            shape: view.shape.iter().map(|&d| d as usize).collect(),
            values,
        })
    }
}
