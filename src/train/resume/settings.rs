//! The settings a resume must not change: a named fingerprint of one model's training, and
//! the error that names every setting that differs.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;

use super::TrainError;
use crate::model::ModelConfig;
use crate::train::metrics::TaskType;
use crate::train::trainer::{Labelled, TrainOptions};

/// Named settings that must be equal for a checkpoint to be resumed (name → value).
pub type Fingerprint = BTreeMap<String, String>;

/// FNV-1a (64-bit) of some byte slices, as hex.
pub fn fnv_hex<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The settings of one model's training that a resume must not change (joined by the caller's
/// `context`): moltx version, every architecture field, task type and names, data hash, split
/// sizes and labels, training options, and the resolved thread and data-parallel counts.
#[allow(clippy::too_many_arguments)]
pub fn fingerprint(
    model: &ModelConfig,
    task_type: TaskType,
    tasks: &[String],
    train: &Labelled,
    val: &Labelled,
    options: &TrainOptions,
    training_data_hash: &str,
    context: &Fingerprint,
) -> Fingerprint {
    let mut f = context.clone();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_string(), v);
    };
    put("moltx version", env!("CARGO_PKG_VERSION").to_string());
    match serde_json::to_value(model) {
        Ok(serde_json::Value::Object(fields)) => {
            for (k, v) in fields {
                put(&format!("model.{k}"), v.to_string());
            }
        }
        other => put("model", format!("{other:?}")),
    }
    put("task type", format!("{task_type:?}"));
    put("tasks", tasks.join(","));
    put("training data", training_data_hash.to_string());
    put("training molecules", train.len().to_string());
    put("validation molecules", val.len().to_string());
    let mask = |m: &[bool]| m.iter().map(|&b| u8::from(b)).collect::<Vec<u8>>();
    let floats = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let (tm, vm, ty, vy) = (
        mask(train.mask),
        mask(val.mask),
        floats(train.targets),
        floats(val.targets),
    );
    put("labels", fnv_hex([&ty[..], &tm[..], &vy[..], &vm[..]]));
    put("epochs", options.epochs.to_string());
    put("batch size", options.batch_size.to_string());
    put("seed", options.seed.to_string());
    if let Some(seed) = options.shuffle_seed {
        put("shuffle seed", seed.to_string());
    }
    put("gradient clip", format!("{:?}", options.grad_clip));
    put("patience", format!("{:?}", options.patience));
    put("selection", format!("{:?}", options.selection));
    put("correlation weight", options.correlation_weight.to_string());
    if let Some(d) = options.weight_average {
        put("weight average decay", d.to_string());
    }
    put(
        "threads (RAYON_NUM_THREADS)",
        rayon::current_num_threads().to_string(),
    );
    put(
        "data-parallel parts",
        data_parallel_parts(options).to_string(),
    );
    let init = options
        .feature_encoder_init
        .as_ref()
        .map_or("none".to_string(), |e| {
            match e.clone().into_record().into_bytes() {
                Ok(b) => fnv_hex([&b[..]]),
                Err(e) => format!("unrecordable: {e}"),
            }
        });
    put("feature encoder init", init);
    if let Some(start) = &options.initial_weights {
        let print = match start.net.clone().into_record().into_bytes() {
            Ok(b) => fnv_hex([&b[..]]),
            Err(e) => format!("unrecordable: {e}"),
        };
        put("starting weights", print);
    }
    f
}

/// Parts each batch is split into (`options.data_parallel`, 0 meaning one per rayon thread).
pub fn data_parallel_parts(options: &TrainOptions) -> usize {
    match options.data_parallel {
        0 => rayon::current_num_threads(),
        n => n,
    }
}

/// An error naming every setting that differs between a checkpoint and now.
pub(super) fn check(path: &Path, then: &Fingerprint, now: &Fingerprint) -> Result<(), TrainError> {
    let none = String::from("(none)");
    let mut keys: Vec<&String> = then.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();
    let differences: Vec<String> = keys
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (then.get(k).unwrap_or(&none), now.get(k).unwrap_or(&none));
            (a != b).then(|| format!("{k}: {a} then, {b} now"))
        })
        .collect();
    if differences.is_empty() {
        Ok(())
    } else {
        Err(TrainError::Mismatch {
            path: path.to_path_buf(),
            differences,
        })
    }
}
