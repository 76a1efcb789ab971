//! The training loop: shuffled mini-batches, masked loss, Adam with chemprop's schedule and
//! gradient-norm clipping, validation every epoch, and the best validation epoch kept.

use std::path::PathBuf;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::averaging::WeightAverage;
use super::loss::{masked_head_loss, row_correlation_loss};
use super::metrics::TaskType;
use super::resume::{self, LoopState, ResumeFile, TrainError, fingerprint};
use super::schedule::LrSchedule;
pub use super::validation::{evaluate_net, target_scaling};
use super::validation::{evaluate_with_loss, selection_score};
use crate::chem::featurize::chemprop_v2_layout;
use crate::kernel::KernelError;
use crate::model::ffn::Ffn;
use crate::model::{
    BatchTensors, Checkpoint, CheckpointHeader, ModelConfig, MoleculeInput, PropertyNet,
};

/// Labelled molecules for one split: inputs and row-major `len × n_tasks` targets and mask.
#[derive(Debug, Clone, Copy)]
pub struct Labelled<'a> {
    /// Model inputs.
    pub inputs: &'a [&'a MoleculeInput],
    /// Targets (0 where missing).
    pub targets: &'a [f32],
    /// Label mask.
    pub mask: &'a [bool],
}

impl Labelled<'_> {
    /// Number of molecules.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// Which validation number picks the epoch whose weights are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Selection {
    /// The training loss on the validation set (chemprop's `val_loss`): masked MSE on
    /// standardized targets (a variance head's NLL), or masked BCE.
    Loss,
    /// The task type's first metric, averaged over tasks (RMSE or ROC-AUC).
    #[default]
    Metric,
}

/// Training settings (chemprop's defaults where it has them, but twice its epochs).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Epochs (100, twice chemprop's: better on validation on docs/results.md's eight sets).
    pub epochs: usize,
    /// Molecules per batch (64).
    pub batch_size: usize,
    /// Seed of initialization, shuffling and dropout.
    pub seed: u64,
    /// Seed of the batch order alone (`None`: drawn on from `seed`, after the initialization).
    /// Fixed while `seed` varies, only the initialization changes between runs, as with
    /// chemprop, whose batch order follows `--data-seed` whatever `--pytorch-seed` is.
    pub shuffle_seed: Option<u64>,
    /// Per-parameter gradient L2-norm clip (`None`, the default as in chemprop: no clipping).
    pub grad_clip: Option<f32>,
    /// Stop after this many epochs without validation improvement (`None`: run all epochs).
    pub patience: Option<usize>,
    /// Parts each batch is split into, trained side by side on separate threads with their
    /// gradients summed (0: one per rayon thread; 1: the whole batch at once). The result
    /// depends on this number, so keep the thread count fixed to reproduce a model.
    pub data_parallel: usize,
    /// What picks the kept epoch (library default: the metric; `moltx train` uses the loss,
    /// as chemprop does).
    pub selection: Selection,
    /// Weight `w` of a per-row correlation term added to a regression loss,
    /// `L = MSE + w·(1 − mean row Pearson)` on un-scaled values (0: MSE alone).
    pub correlation_weight: f32,
    /// Starting weights of the model's feature encoder (e.g. a pretrained signature encoder);
    /// `None`: drawn from the seed like every other weight.
    pub feature_encoder_init: Option<Ffn>,
    /// Folder where [`run_train`](super::job::run_train) keeps a resume checkpoint per model
    /// (`model_<i>.state`, rewritten after every epoch; see [`super::resume`]); `None` (the
    /// default): none. `moltx train` uses `OUT/resume`. [`fit`] ignores it
    /// ([`fit_resumable`] takes the file).
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoints in `checkpoint_dir`: finished models are loaded, the one
    /// in progress continues from its last completed epoch, missing ones start afresh. When
    /// false, old checkpoints there are removed first.
    pub resume: bool,
    /// Raised, training stops after the epoch in progress (its resume checkpoint written)
    /// with [`TrainError::Stopped`](super::resume::TrainError::Stopped).
    pub stop: Option<crate::data::StopFlag>,
    /// Starting weights (fine-tuning, e.g. a model imported from chemprop): training starts
    /// from this model's network instead of one drawn from `seed` (the seed still draws the
    /// batch order and dropout). Its architecture must be the trained model's, and its target
    /// scaling is kept (the weights were learned for it; without one, the training data's is
    /// used). `None` (the default): drawn from `seed`.
    pub initial_weights: Option<Checkpoint>,
    /// Decay `d` of an exponential moving average of the weights over optimizer steps
    /// ([`WeightAverage`]): when set, the average is what is validated every epoch and kept;
    /// `None`: the raw weights, as chemprop.
    pub weight_average: Option<f64>,
    /// Keep a record of every optimizer step (its batch, learning rate and loss) in
    /// [`TrainedModel::steps`]; off by default (a long run on a large set makes many).
    pub record_steps: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 100,
            batch_size: 64,
            seed: 0,
            shuffle_seed: None,
            grad_clip: None,
            patience: None,
            selection: Selection::Metric,
            data_parallel: 0,
            correlation_weight: 0.0,
            feature_encoder_init: None,
            checkpoint_dir: None,
            resume: false,
            stop: None,
            initial_weights: None,
            weight_average: None,
            record_steps: false,
        }
    }
}

/// One epoch's log line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Validation selection metric (RMSE or ROC-AUC mean over tasks), if defined.
    pub val_metric: Option<f64>,
    /// Validation loss (as the training loss, without the correlation term), if defined.
    pub val_loss: Option<f64>,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Seconds spent training (not validating) this epoch.
    pub seconds: f64,
    /// Training molecules per second this epoch.
    pub molecules_per_second: f64,
}

/// One optimizer step, recorded when [`TrainOptions::record_steps`] is set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// 0-based optimizer step over the whole run (the learning-rate schedule's position).
    pub step: usize,
    /// Learning rate of this step.
    pub lr: f64,
    /// The batch's training loss before the step.
    pub loss: f64,
    /// The batch: positions in the training set, in batch order.
    pub batch: Vec<usize>,
}

/// A trained model and how the training went.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The model at its best validation epoch.
    pub checkpoint: Checkpoint,
    /// Every epoch.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
    /// Seconds in training steps (validation excluded).
    pub train_seconds: f64,
    /// Training molecules per second over the run.
    pub molecules_per_second: f64,
    /// Every optimizer step of this call, when [`TrainOptions::record_steps`] is set (a
    /// resumed run records the steps after the resume only).
    pub steps: Vec<StepRecord>,
}

/// `a + b` per parameter of `net` (a parameter missing from one side keeps the other's).
fn sum_gradients(
    net: &PropertyNet,
    mut a: GradientsParams,
    mut b: GradientsParams,
) -> GradientsParams {
    struct Sum<'a> {
        a: &'a mut GradientsParams,
        b: &'a mut GradientsParams,
    }
    impl ModuleVisitor for Sum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let sum = match (self.a.remove::<D>(param.id), self.b.remove::<D>(param.id)) {
                (Some(x), Some(y)) => x + y,
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => return,
            };
            self.a.register(param.id, sum);
        }
    }
    net.visit(&mut Sum {
        a: &mut a,
        b: &mut b,
    });
    a
}

/// Trains one model on `device` (gradients on `device.autodiff()`, validation on the plain
/// device). `progress` is called after every epoch.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    model: &ModelConfig,
    task_type: TaskType,
    tasks: &[String],
    train: &Labelled,
    val: &Labelled,
    options: &TrainOptions,
    training_data_hash: String,
    device: &Device,
    progress: &mut dyn FnMut(&EpochRecord),
) -> Result<TrainedModel, KernelError> {
    let (hash, no_file) = (training_data_hash, None);
    fit_resumable(
        model, task_type, tasks, train, val, options, hash, no_file, device, progress,
    )
    .map_err(|e| match e {
        TrainError::Kernel(e) => e,
        // Without a checkpoint file nothing is read or written.
        other => KernelError::InvalidBatch(other.to_string()),
    })
}

/// A fresh network drawn from `rng`, with the options' pretrained feature encoder if any, or
/// the options' starting weights (`rng` advanced as for a fresh one either way).
fn new_net(
    model: &ModelConfig,
    options: &TrainOptions,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<PropertyNet, KernelError> {
    let mut net = PropertyNet::new(model, rng, device);
    if let Some(init) = &options.initial_weights {
        if init.header.model != *model {
            return Err(KernelError::InvalidBatch(format!(
                "the starting weights are of another architecture ({}) than the model trained ({})",
                architecture(&init.header.model),
                architecture(model)
            )));
        }
        let record = init.net.clone().into_record();
        return net
            .try_load_record(record)
            .map_err(|e| KernelError::InvalidBatch(format!("starting weights: {e}")));
    }
    if let Some(init) = &options.feature_encoder_init {
        let Some(encoder) = net.feature_encoder.take() else {
            return Err(KernelError::InvalidBatch(
                "starting weights for a feature encoder the model does not have".into(),
            ));
        };
        let record = init.clone().into_record();
        net.feature_encoder =
            Some(encoder.try_load_record(record).map_err(|e| {
                KernelError::InvalidBatch(format!("pretrained feature encoder: {e}"))
            })?);
    }
    Ok(net)
}

/// `kind, hidden size, depth, ... , n tasks` of a model, for an error message.
fn architecture(m: &ModelConfig) -> String {
    match serde_json::to_value(m) {
        Ok(serde_json::Value::Object(fields)) => fields
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => format!("{m:?}"),
    }
}

/// [`fit`] with a resume checkpoint: after every completed epoch the whole training state is
/// written to `checkpoint.path` (atomically), and with `checkpoint.resume` training continues
/// from that file when it exists (the restored epochs are reported to `progress` first). The
/// result is the same, bit for bit, as one uninterrupted call with the same settings and
/// thread count. Resuming with other settings is a [`TrainError::Mismatch`]. Runs on `device`
/// as [`fit`] does.
#[allow(clippy::too_many_arguments)]
pub fn fit_resumable(
    model: &ModelConfig,
    task_type: TaskType,
    tasks: &[String],
    train: &Labelled,
    val: &Labelled,
    options: &TrainOptions,
    training_data_hash: String,
    checkpoint: Option<&ResumeFile>,
    device: &Device,
    progress: &mut dyn FnMut(&EpochRecord),
) -> Result<TrainedModel, TrainError> {
    let n_tasks = tasks.len();
    if model.head.has_variance() && task_type != TaskType::Regression {
        return Err(TrainError::Settings(format!(
            "a {} head predicts a regression's variance; this is a {task_type:?} task",
            model.head.name()
        )));
    }
    let plain_device = device.clone().without_autodiff();
    let device = plain_device.clone().autodiff();
    // The checkpoint file and the settings it must have been written with.
    let checkpoint = checkpoint.map(|c| {
        let hash = &training_data_hash;
        let print = fingerprint(
            model, task_type, tasks, train, val, options, hash, &c.context,
        );
        (c, print)
    });
    let restored = match &checkpoint {
        Some((c, print)) if c.resume => resume::load_training(&c.path, print, model, &device)?,
        _ => None,
    };
    // Fine-tuning keeps the starting model's scaling (its weights were learned for it).
    let start_scaling = options
        .initial_weights
        .as_ref()
        .and_then(|c| c.header.target_scaling.clone());
    let scaling = (task_type == TaskType::Regression)
        .then(|| start_scaling.unwrap_or_else(|| target_scaling(train, n_tasks)));
    let mut header = CheckpointHeader {
        format_version: crate::model::checkpoint::format_version_of(model),
        moltx_version: env!("CARGO_PKG_VERSION").to_string(),
        feature_layout: chemprop_v2_layout(),
        model: model.clone(),
        task_type,
        tasks: tasks.to_vec(),
        target_scaling: scaling.clone(),
        training_data_hash,
        seed: options.seed,
        metrics: serde_json::Value::Null,
        input_spec: Some(crate::model::InputSpec::of_model(
            model,
            &chemprop_v2_layout(),
        )),
    };
    // Standardized training targets.
    let targets: Vec<f32> = match &scaling {
        Some(s) => train
            .targets
            .iter()
            .enumerate()
            .map(|(k, &y)| ((f64::from(y) - s.mean[k % n_tasks]) / s.sd[k % n_tasks]) as f32)
            .collect(),
        None => train.targets.to_vec(),
    };
    let mask: Vec<f32> = train
        .mask
        .iter()
        .map(|&m| if m { 1.0 } else { 0.0 })
        .collect();

    // `[1, T]` scale and shift that undo target standardization (for the correlation term).
    let unscale = scaling.as_ref().map(|s| {
        let row = |v: &[f64]| {
            Tensor::<2>::from_data(
                TensorData::new(v.iter().map(|&x| x as f32).collect(), [1, n_tasks]),
                &device,
            )
        };
        (row(&s.sd), row(&s.mean))
    });
    let batch_size = options.batch_size.max(1);
    let steps_per_epoch = train.len().div_ceil(batch_size).max(1);
    let schedule = LrSchedule::chemprop(steps_per_epoch, options.epochs);
    let mut adam = AdamConfig::new().with_epsilon(1e-8);
    if let Some(clip) = options.grad_clip {
        adam = adam.with_grad_clipping(Some(GradientClippingConfig::Norm(clip)));
    }
    let mut optim = adam.init();
    let shards = resume::data_parallel_parts(options);
    let mut average = None;
    let (mut net, mut best_net, mut st) = match restored {
        Some(r) => {
            if let (Some(d), Some((avg, updates))) = (options.weight_average, r.average) {
                average = Some(WeightAverage::restored(avg, d, updates));
            }
            if let Some((c, _)) = &checkpoint {
                optim = resume::restore_optimizer(&c.path, optim, r.optim)?;
            }
            for record in &r.state.records {
                progress(record);
            }
            (r.net, r.best_net, r.state)
        }
        None => {
            let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
            let net = new_net(model, options, &mut rng, &device)?;
            if let Some(seed) = options.shuffle_seed {
                rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5bd1_e995_0000_0001);
            }
            let st = LoopState {
                epoch: 0,
                step: 0,
                finished: false,
                order: (0..train.len()).collect(),
                rng,
                // Dropout seeds of data-parallel parts: a stream of their own, so that
                // splitting batches leaves the shuffling (drawn from `rng`) unchanged.
                part_seeds: ChaCha8Rng::seed_from_u64(options.seed ^ 0x9e37_79b9_7f4a_7c15),
                best: f64::NEG_INFINITY,
                best_epoch: 0,
                train_seconds: 0.0,
                seen: 0,
                records: Vec::with_capacity(options.epochs),
            };
            (net.clone(), net, st)
        }
    };
    let mut steps = Vec::new();
    if average.is_none() {
        average = options.weight_average.map(|d| WeightAverage::new(&net, d));
    }
    while !st.finished && st.epoch < options.epochs {
        let epoch = st.epoch + 1;
        let LoopState {
            order,
            rng,
            part_seeds,
            step,
            ..
        } = &mut st;
        order.shuffle(rng);
        let start = Instant::now();
        let (mut loss_sum, mut batches) = (0.0f64, 0usize);
        let mut lr = schedule.at(*step);
        for chunk in order.chunks(batch_size) {
            lr = schedule.at(*step);
            let gather = |part: &[usize], src: &[f32]| -> Tensor<2> {
                let values: Vec<f32> = part
                    .iter()
                    .flat_map(|&i| src[i * n_tasks..(i + 1) * n_tasks].iter().copied())
                    .collect();
                Tensor::from_data(TensorData::new(values, [part.len(), n_tasks]), &device)
            };
            // The loss of `part`, as a share of the whole batch's loss.
            let part_loss = |net: &PropertyNet,
                             part: &[usize],
                             rng: &mut ChaCha8Rng,
                             whole: Option<f32>|
             -> Result<Tensor<1>, KernelError> {
                let inputs: Vec<&MoleculeInput> = part.iter().map(|&i| train.inputs[i]).collect();
                let batch = BatchTensors::new(&inputs, model, &device)?;
                let (y, m) = (gather(part, &targets), gather(part, &mask));
                let out = net.forward_outputs(model, &batch, true, rng)?;
                let share = part.len() as f32 / chunk.len() as f32;
                let correlation = match (&unscale, options.correlation_weight) {
                    (Some((sd, mean)), w) if w > 0.0 => {
                        let raw = |x: Tensor<2>| x * sd.clone() + mean.clone();
                        let values =
                            crate::model::head::value_columns(model.head, out.clone(), n_tasks);
                        let r = row_correlation_loss(raw(values), raw(y.clone()), m.clone());
                        Some(r.mul_scalar(w * share))
                    }
                    _ => None,
                };
                let loss = masked_head_loss(task_type, model.head, out, y, m, whole);
                Ok(match correlation {
                    Some(c) => loss + c,
                    None => loss,
                })
            };
            let before = loss_sum;
            let grads = if shards <= 1 || chunk.len() < 2 * shards {
                let loss = part_loss(&net, chunk, rng, None)?;
                loss_sum += f64::from(loss.clone().into_scalar::<f32>());
                GradientsParams::from_grads(loss.backward(), &net)
            } else {
                // Data parallel: contiguous parts of the batch on separate threads, each on a
                // fork of the network (its own autodiff graph, same parameter ids) with its own
                // dropout stream; gradients summed in part order (deterministic for a given
                // thread count).
                let count = chunk
                    .iter()
                    .map(|&i| mask[i * n_tasks..(i + 1) * n_tasks].iter().sum::<f32>())
                    .sum::<f32>();
                let seeds: Vec<u64> = (0..shards).map(|_| part_seeds.random()).collect();
                let parts: Vec<&[usize]> = chunk.chunks(chunk.len().div_ceil(shards)).collect();
                let results: Vec<Result<(GradientsParams, f32), KernelError>> = parts
                    .par_iter()
                    .zip(seeds)
                    .map(|(part, seed)| {
                        let replica = net.clone().fork(&device);
                        let mut part_rng = ChaCha8Rng::seed_from_u64(seed);
                        let loss = part_loss(&replica, part, &mut part_rng, Some(count))?;
                        let value = loss.clone().into_scalar::<f32>();
                        Ok((
                            GradientsParams::from_grads(loss.backward(), &replica),
                            value,
                        ))
                    })
                    .collect();
                let mut total = GradientsParams::new();
                for result in results {
                    let (grads, value) = result?;
                    loss_sum += f64::from(value);
                    total = sum_gradients(&net, total, grads);
                }
                total
            };
            batches += 1;
            if options.record_steps {
                steps.push(StepRecord {
                    epoch,
                    step: *step,
                    lr,
                    loss: loss_sum - before,
                    batch: chunk.to_vec(),
                });
            }
            net = optim.step(lr, net, grads);
            if let Some(a) = &mut average {
                a.update(&net);
            }
            *step += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        st.train_seconds += seconds;
        st.seen += train.len();
        // The weights validated and kept: the average when there is one.
        let candidate = average.as_ref().map_or(&net, |a| a.net());
        let (val_metrics, val_loss) = if val.is_empty() {
            (None, None)
        } else {
            let (m, l) = evaluate_with_loss(candidate, &header, val, 256, &plain_device)?;
            (Some(m), l)
        };
        let val_metric = val_metrics
            .as_ref()
            .and_then(|m| m.get(task_type.metric_names()[0]));
        let score = match options.selection {
            Selection::Loss => val_loss.map(|l| -l),
            Selection::Metric => val_metrics
                .as_ref()
                .and_then(|m| selection_score(task_type, m)),
        };
        // Without a validation set (or metric), the last epoch is kept.
        let improved = score.is_none_or(|s| s > st.best);
        if improved {
            st.best = score.unwrap_or(st.best);
            st.best_epoch = epoch;
            best_net = candidate.clone();
        }
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / batches.max(1) as f64,
            val_metric,
            val_loss,
            lr,
            seconds,
            molecules_per_second: train.len() as f64 / seconds.max(1e-9),
        };
        st.records.push(record.clone());
        st.epoch = epoch;
        st.finished =
            epoch == options.epochs || options.patience.is_some_and(|p| epoch - st.best_epoch >= p);
        if let Some((c, print)) = &checkpoint {
            let avg = average.as_ref();
            resume::save_training(&c.path, print, &st, &net, &best_net, &optim, avg)?;
        }
        progress(&record);
        if !st.finished && crate::data::stop::stop_requested(options.stop.as_ref()) {
            return Err(TrainError::Stopped { epoch });
        }
    }
    header.metrics = serde_json::json!({ "best_epoch": st.best_epoch });
    Ok(TrainedModel {
        checkpoint: Checkpoint {
            header,
            net: best_net.valid(),
        },
        epochs: st.records,
        best_epoch: st.best_epoch,
        train_seconds: st.train_seconds,
        molecules_per_second: st.seen as f64 / st.train_seconds.max(1e-9),
        steps,
    })
}
