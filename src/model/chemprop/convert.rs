//! chemprop's hyperparameters and state dict → moltx's [`ModelConfig`] and [`PropertyNet`]
//! (the mapping table is in the parent module's documentation).

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Param, ParamId};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor as BurnTensor, TensorData};

use super::archive::{Tensor, TorchArchive};
use super::pickle::Value;
use super::{ChempropImportError, ImportOptions};
use crate::chem::featurize::{ATOM_DIM, BOND_DIM, chemprop_v2_layout};
use crate::model::checkpoint::{Checkpoint, CheckpointHeader, TargetScaling, format_version_of};
use crate::model::config::{Aggregation, HeadKind, ModelConfig, ModelKind, TaskType};
use crate::model::dmpnn::DmpnnEncoder;
use crate::model::ffn::Ffn;
use crate::model::{InputSpec, PropertyNet};

type Result<T> = std::result::Result<T, ChempropImportError>;

/// The file being converted, for error messages.
struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn unsupported(&self, what: impl Into<String>) -> ChempropImportError {
        ChempropImportError::Unsupported {
            path: self.path.to_path_buf(),
            what: what.into(),
        }
    }

    fn not_chemprop(&self, reason: impl Into<String>) -> ChempropImportError {
        ChempropImportError::NotChemprop {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn key(&self, v: &Value, section: &str, key: &str) -> Result<Value> {
        v.get(key)
            .ok_or_else(|| self.not_chemprop(format!("no {section}{key} in the hyperparameters")))
    }

    fn int(&self, v: &Value, section: &str, key: &str) -> Result<i64> {
        match self.key(v, section, key)? {
            Value::Int(i) => Ok(i),
            other => Err(self.not_chemprop(format!("{section}{key} is {}", other.describe()))),
        }
    }

    fn float(&self, v: &Value, section: &str, key: &str) -> Result<f64> {
        match self.key(v, section, key)? {
            Value::Float(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(self.not_chemprop(format!("{section}{key} is {}", other.describe()))),
        }
    }

    /// A flag that is false when absent (older chemprop versions lack some).
    fn flag(&self, v: &Value, key: &str) -> bool {
        matches!(v.get(key), Some(Value::Bool(true)))
    }

    fn class(&self, v: &Value, section: &str) -> Result<String> {
        match &self.key(v, section, "cls")? {
            Value::Global(name) => Ok(name.rsplit('.').next().unwrap_or_default().to_string()),
            other => Err(self.not_chemprop(format!("{section}cls is {}", other.describe()))),
        }
    }
}

/// Whether chemprop's `activation` hyperparameter means ReLU: a `torch.nn.ReLU` module, the
/// string `"relu"` (any case) or the `Activation.RELU` enum member.
fn activation(v: Option<Value>) -> std::result::Result<(), String> {
    let Some(v) = v else { return Ok(()) };
    let name = match &v {
        Value::Str(s) => s.to_string(),
        Value::Object(o) => {
            let o = o.borrow();
            match &o.args {
                Value::Tuple(args) if o.class.ends_with(".Activation") => {
                    args.first().map(Value::describe).unwrap_or_default()
                }
                _ => o.class.rsplit('.').next().unwrap_or_default().to_string(),
            }
        }
        other => other.describe(),
    };
    if name.trim_matches('"').eq_ignore_ascii_case("relu") {
        Ok(())
    } else {
        Err(format!(
            "the activation {name} (moltx's networks use ReLU, chemprop's default)"
        ))
    }
}

/// The state dict as name → tensor view.
fn state_dict(ctx: &Ctx, archive: &TorchArchive) -> Result<BTreeMap<String, Tensor>> {
    let sd = archive
        .root
        .get("state_dict")
        .ok_or_else(|| ctx.not_chemprop("no state_dict"))?;
    let items = sd
        .items()
        .ok_or_else(|| ctx.not_chemprop(format!("state_dict is {}", sd.describe())))?;
    let mut out = BTreeMap::new();
    for (k, v) in items {
        let (Some(name), Value::Tensor(view)) = (k.as_str(), &v) else {
            continue;
        };
        let t = archive
            .tensor(view)
            .map_err(|reason| ctx.not_chemprop(format!("{name}: {reason}")))?;
        out.insert(name.to_string(), t);
    }
    Ok(out)
}

/// Refuses state-dict entries moltx has no place for, naming what they mean.
fn check_parameter_names(ctx: &Ctx, sd: &BTreeMap<String, Tensor>) -> Result<()> {
    for name in sd.keys() {
        let known = [
            "message_passing.W_i.weight",
            "message_passing.W_h.weight",
            "message_passing.W_o.weight",
            "message_passing.W_o.bias",
            "predictor.output_transform.mean",
            "predictor.output_transform.scale",
        ];
        if known.contains(&name.as_str())
            || name.starts_with("predictor.ffn.")
            || name.starts_with("predictor.criterion.")
            || name.starts_with("metrics.")
        {
            continue;
        }
        let what = if name.starts_with("bn.") {
            "batch normalization after aggregation (--batch-norm); moltx has none".to_string()
        } else if name.starts_with("X_d_transform.") {
            "extra molecule-level descriptors (X_d: --descriptors-columns, \
             --descriptors-path, --molecule-featurizers); moltx reads its own RDKit 2D \
             descriptors only"
                .to_string()
        } else if name.starts_with("message_passing.W_d.")
            || name.starts_with("message_passing.V_d_transform.")
        {
            "extra atom descriptors (V_d, --atom-descriptors-path)".to_string()
        } else if name.starts_with("message_passing.graph_transform.") {
            "extra atom or bond features (--atom-features-path, --bond-features-path)".to_string()
        } else if name.starts_with("message_passing.W_i.bias")
            || name.starts_with("message_passing.W_h.bias")
        {
            "biases in message passing (--message-bias); moltx's W_i and W_h have none".to_string()
        } else if name.starts_with("message_passing.blocks.") {
            "several molecules per input (multi-component message passing)".to_string()
        } else if name.starts_with("agg.") {
            "attentive aggregation (--aggregation other than mean, sum, norm)".to_string()
        } else {
            format!("the parameter {name}, which moltx has no place for")
        };
        return Err(ctx.unsupported(what));
    }
    Ok(())
}

/// The chemprop architecture, checked against what moltx can represent.
fn config(ctx: &Ctx, hp: &Value) -> Result<(ModelConfig, TaskType, f64)> {
    let mp = ctx.key(hp, "", "message_passing")?;
    match ctx.class(&mp, "message_passing.")?.as_str() {
        "BondMessagePassing" => {}
        "AtomMessagePassing" => {
            return Err(ctx.unsupported(
                "atom-based message passing (AtomMessagePassing, --atom-messages); moltx's \
                 D-MPNN passes messages on bonds (BondMessagePassing)",
            ));
        }
        "MulticomponentMessagePassing" => {
            return Err(
                ctx.unsupported("several molecules per input (MulticomponentMessagePassing)")
            );
        }
        other => return Err(ctx.unsupported(format!("the message passing {other}"))),
    }
    for key in [
        "atom_predictor",
        "bond_predictor",
        "atom_constrainer",
        "bond_constrainer",
    ] {
        if hp.get(key).is_some_and(|v| !matches!(v, Value::None)) {
            return Err(ctx.unsupported("atom- or bond-level targets (MolAtomBondMPNN)"));
        }
    }
    let (d_v, d_e) = (
        ctx.int(&mp, "message_passing.", "d_v")?,
        ctx.int(&mp, "message_passing.", "d_e")?,
    );
    if (d_v, d_e) != (ATOM_DIM as i64, BOND_DIM as i64) {
        return Err(ctx.unsupported(format!(
            "atom/bond feature widths {d_v}/{d_e}; moltx computes chemprop's default \
             MultiHotAtomFeaturizer.v2() and MultiHotBondFeaturizer() ({ATOM_DIM}/{BOND_DIM}), \
             so models made with another featurizer (v1, organic, RIGR), on reactions (CGR) \
             or with extra atom/bond features cannot be read"
        )));
    }
    if mp
        .get("d_vd")
        .is_some_and(|v| !matches!(v, Value::None | Value::Int(0)))
    {
        return Err(ctx.unsupported("extra atom descriptors (V_d, --atom-descriptors-path)"));
    }
    if ctx.flag(&mp, "bias") {
        return Err(ctx.unsupported(
            "biases in message passing (--message-bias); moltx's W_i and W_h have none",
        ));
    }
    if ctx.flag(&mp, "undirected") {
        return Err(ctx
            .unsupported("undirected message passing (--undirected); moltx's D-MPNN is directed"));
    }
    activation(mp.get("activation"))
        .map_err(|w| ctx.unsupported(format!("{w} in message passing")))?;
    let depth = ctx.int(&mp, "message_passing.", "depth")?;
    let hidden = ctx.int(&mp, "message_passing.", "d_h")?;
    if depth < 1 || hidden < 1 {
        return Err(ctx.not_chemprop(format!("depth {depth}, hidden size {hidden}")));
    }
    let mp_dropout = ctx.float(&mp, "message_passing.", "dropout")?;

    let agg = ctx.key(hp, "", "agg")?;
    let (aggregation, norm) = match ctx.class(&agg, "agg.")?.as_str() {
        "MeanAggregation" => (Aggregation::Mean, 100.0),
        "SumAggregation" => (Aggregation::Sum, 100.0),
        "NormAggregation" => (Aggregation::Norm, ctx.float(&agg, "agg.", "norm")?),
        other => {
            return Err(ctx.unsupported(format!(
                "the aggregation {other}; moltx aggregates by mean, sum or norm"
            )));
        }
    };
    if ctx.flag(hp, "batch_norm") {
        return Err(
            ctx.unsupported("batch normalization after aggregation (--batch-norm); moltx has none")
        );
    }
    if hp
        .get("X_d_transform")
        .is_some_and(|v| !matches!(v, Value::None))
    {
        return Err(ctx.unsupported(
            "extra molecule-level descriptors (X_d: --descriptors-columns, --descriptors-path, \
             --molecule-featurizers); moltx reads its own RDKit 2D descriptors only",
        ));
    }

    let pred = ctx.key(hp, "", "predictor")?;
    let (task_type, head) = match ctx.class(&pred, "predictor.")?.as_str() {
        "RegressionFFN" => (TaskType::Regression, HeadKind::Point),
        "MveFFN" => (TaskType::Regression, HeadKind::MeanVariance),
        "EvidentialFFN" => (TaskType::Regression, HeadKind::Evidential),
        "BinaryClassificationFFN" => (TaskType::Classification, HeadKind::Point),
        other => {
            let what = match other {
                "QuantileFFN" => {
                    "a quantile-interval head; moltx's regression heads predict a value, a \
                     mean and variance, or evidential parameters"
                }
                "MulticlassClassificationFFN" => "multiclass classification",
                "BinaryDirichletFFN" | "MulticlassDirichletFFN" => "a Dirichlet head",
                "SpectralFFN" => "spectra",
                _ => "an unknown head",
            };
            return Err(ctx.unsupported(format!(
                "the predictor {other} ({what}); moltx imports RegressionFFN, MveFFN, \
                 EvidentialFFN and BinaryClassificationFFN"
            )));
        }
    };
    activation(pred.get("activation")).map_err(|w| ctx.unsupported(format!("{w} in the FFN")))?;
    let input_dim = ctx.int(&pred, "predictor.", "input_dim")?;
    if input_dim != hidden {
        return Err(ctx.unsupported(format!(
            "an FFN reading {input_dim} values, more than the {hidden} of the message passing: \
             extra molecule-level descriptors (X_d)"
        )));
    }
    let n_tasks = ctx.int(&pred, "predictor.", "n_tasks")?;
    let ffn_dropout = ctx.float(&pred, "predictor.", "dropout")?;
    let mut config = ModelConfig::defaults(ModelKind::Dmpnn, n_tasks.max(0) as usize);
    config.hidden = hidden as usize;
    config.depth = depth as usize;
    config.dropout = ffn_dropout;
    // chemprop's CLI gives message passing and FFN one `--dropout`; moltx places one p.
    config.message_dropout = mp_dropout > 0.0 && mp_dropout == ffn_dropout;
    config.aggregation = aggregation;
    config.norm = norm as f32;
    config.preactivation_skip = true;
    config.head = head;
    Ok((config, task_type, mp_dropout))
}

/// A burn linear layer from torch's `[out, in]` weight (transposed to `[in, out]`) and bias.
fn linear(
    ctx: &Ctx,
    sd: &BTreeMap<String, Tensor>,
    name: &str,
    with_bias: bool,
    shape: Option<[usize; 2]>,
    ids: &mut u64,
    device: &Device,
) -> Result<Linear> {
    let w = sd
        .get(&format!("{name}.weight"))
        .ok_or_else(|| ctx.not_chemprop(format!("no {name}.weight")))?;
    let [out, inp] = match w.shape.as_slice() {
        [o, i] => [*o, *i],
        s => return Err(ctx.not_chemprop(format!("{name}.weight has shape {s:?}"))),
    };
    if let Some([want_out, want_in]) = shape
        && (want_out, want_in) != (out, inp)
    {
        return Err(ctx.not_chemprop(format!(
            "{name}.weight has shape [{out}, {inp}], the hyperparameters say [{want_out}, {want_in}]"
        )));
    }
    let mut transposed = vec![0.0f32; out * inp];
    for o in 0..out {
        for i in 0..inp {
            transposed[i * out + o] = w.values[o * inp + i];
        }
    }
    let mut param = |t: BurnTensor<2>| {
        *ids += 1;
        let mut p = Param::from_tensor(t);
        p.id = ParamId::from(*ids);
        p
    };
    let weight = param(BurnTensor::from_data(
        TensorData::new(transposed, [inp, out]),
        device,
    ));
    let bias = match (with_bias, sd.get(&format!("{name}.bias"))) {
        (false, _) => None,
        (true, Some(b)) if b.values.len() == out => {
            *ids += 1;
            let t = BurnTensor::<1>::from_data(TensorData::new(b.values.clone(), [out]), device);
            let mut p = Param::from_tensor(t);
            p.id = ParamId::from(*ids);
            Some(p)
        }
        (true, _) => return Err(ctx.not_chemprop(format!("no {name}.bias of length {out}"))),
    };
    Ok(Linear { weight, bias })
}

/// The output transform's `(mean, scale)` per task (regression), when the model has one.
fn scaling(ctx: &Ctx, sd: &BTreeMap<String, Tensor>, n: usize) -> Result<Option<TargetScaling>> {
    let (Some(mean), Some(scale)) = (
        sd.get("predictor.output_transform.mean"),
        sd.get("predictor.output_transform.scale"),
    ) else {
        return Ok(None);
    };
    if mean.values.len() != n || scale.values.len() != n {
        return Err(ctx.not_chemprop(format!(
            "an output transform of {} means and {} scales for {n} tasks",
            mean.values.len(),
            scale.values.len()
        )));
    }
    Ok(Some(TargetScaling {
        mean: mean.values.iter().map(|&x| f64::from(x)).collect(),
        sd: scale.values.iter().map(|&x| f64::from(x)).collect(),
    }))
}

/// The moltx model of a chemprop archive.
pub(super) fn convert(
    archive: &TorchArchive,
    path: &Path,
    options: &ImportOptions,
    device: &Device,
) -> Result<Checkpoint> {
    let ctx = Ctx { path };
    let hp = archive
        .root
        .get("hyper_parameters")
        .ok_or_else(|| ctx.not_chemprop("no hyper_parameters (a bare state dict?)"))?;
    let (mut config, task_type, mp_dropout) = config(&ctx, &hp)?;
    let sd = state_dict(&ctx, archive)?;
    check_parameter_names(&ctx, &sd)?;

    let (h, ids) = (config.hidden, &mut 0u64);
    let encoder = DmpnnEncoder {
        w_i: linear(
            &ctx,
            &sd,
            "message_passing.W_i",
            false,
            Some([h, ATOM_DIM + BOND_DIM]),
            ids,
            device,
        )?,
        w_h: linear(
            &ctx,
            &sd,
            "message_passing.W_h",
            false,
            Some([h, h]),
            ids,
            device,
        )?,
        w_o: linear(
            &ctx,
            &sd,
            "message_passing.W_o",
            true,
            Some([h, ATOM_DIM + h]),
            ids,
            device,
        )?,
    };
    // predictor.ffn.0.0 is the first Linear; block k ≥ 1 is (activation, dropout, Linear).
    let mut layers = Vec::new();
    loop {
        let k = layers.len();
        let name = if k == 0 {
            "predictor.ffn.0.0".to_string()
        } else {
            format!("predictor.ffn.{k}.2")
        };
        if !sd.contains_key(&format!("{name}.weight")) {
            break;
        }
        layers.push(linear(&ctx, &sd, &name, true, None, ids, device)?);
    }
    let widths: Vec<[usize; 2]> = layers.iter().map(|l| l.weight.dims()).collect();
    let Some(&[_, n_out]) = widths.last() else {
        return Err(ctx.not_chemprop("no predictor.ffn layers"));
    };
    if n_out != config.n_outputs() {
        return Err(ctx.not_chemprop(format!(
            "{n_out} outputs for {} tasks of a {} head ({} each)",
            config.n_tasks,
            config.head.name(),
            config.head.outputs_per_task()
        )));
    }
    for pair in widths.windows(2) {
        if pair[0][1] != pair[1][0] {
            return Err(ctx.not_chemprop("FFN layers whose widths do not chain"));
        }
    }
    if widths[0][0] != h {
        return Err(ctx.unsupported(format!(
            "an FFN reading {} values from a {h}-wide encoder (extra descriptors)",
            widths[0][0]
        )));
    }
    let hidden_widths: Vec<usize> = widths[..widths.len() - 1].iter().map(|w| w[1]).collect();
    if hidden_widths.windows(2).any(|w| w[0] != w[1]) {
        return Err(ctx.unsupported(format!(
            "FFN hidden layers of differing widths {hidden_widths:?}; moltx's heads have one width"
        )));
    }
    config.ffn_layers = hidden_widths.len();
    // Without hidden layers the width is unused (chemprop then states none, `[]`).
    config.ffn_hidden = hidden_widths.first().copied().unwrap_or(h);

    let n = config.n_tasks;
    let target_scaling = match task_type {
        TaskType::Regression => scaling(&ctx, &sd, n)?,
        TaskType::Classification => None,
    };
    let file_tasks: Option<Vec<String>> = match &archive.root.get("output_columns") {
        Some(Value::List(l)) => l
            .borrow()
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => None,
    };
    let tasks = match options.tasks.clone().or(file_tasks) {
        Some(t) if t.len() != n => {
            return Err(ChempropImportError::Tasks {
                path: path.to_path_buf(),
                reason: format!("{} task names for a model of {n} outputs", t.len()),
            });
        }
        Some(t) => t,
        None => (0..n).map(|k| format!("task_{k}")).collect(),
    };
    let file = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let header = CheckpointHeader {
        format_version: format_version_of(&config),
        moltx_version: env!("CARGO_PKG_VERSION").to_string(),
        feature_layout: chemprop_v2_layout(),
        input_spec: Some(InputSpec::of_model(&config, &chemprop_v2_layout())),
        model: config,
        task_type,
        tasks,
        target_scaling,
        training_data_hash: "unknown (imported from chemprop)".to_string(),
        seed: 0,
        metrics: serde_json::json!({
            "imported_from": {
                "format": "chemprop v2",
                "file": file,
                "message_passing_dropout": mp_dropout,
                "ffn_dropout": ffn_dropout_of(&hp),
            }
        }),
    };
    let net = PropertyNet {
        encoder: Some(encoder),
        head: Ffn { layers },
        feature_encoder: None,
    };
    Ok(Checkpoint { header, net })
}

fn ffn_dropout_of(hp: &Value) -> Option<f64> {
    match hp.get("predictor")?.get("dropout")? {
        Value::Float(f) => Some(f),
        Value::Int(i) => Some(i as f64),
        _ => None,
    }
}
