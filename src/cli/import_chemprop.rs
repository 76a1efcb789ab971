//! `moltx import-chemprop MODEL.pt... --out FILE_OR_DIR`: chemprop v2 models as moltx model
//! files (see [`crate::model::chemprop`] for what maps to what and what is refused).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::tensor::Device;

use crate::model::chemprop::{ImportOptions, import_chemprop};

/// Flags of `moltx import-chemprop`.
#[derive(Debug, clap::Args)]
pub struct ImportChempropArgs {
    /// chemprop 2.x model files (`.pt` from `chemprop train`, or Lightning `.ckpt`); several
    /// make an ensemble folder.
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// Output model file, or a folder (created if absent; required for several models)
    /// that receives `<model name>.moltx` per model.
    #[arg(long)]
    pub out: PathBuf,
    /// Task names in output order (comma-separated), replacing the file's own (`.ckpt` files
    /// have none: `task_0…` otherwise).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Option<Vec<String>>,
}

/// Where one imported model goes: `out` itself, or `out/<stem>.moltx` when `out` is a folder
/// (an existing one, a path ending in `/`, or any path when several models are imported).
fn destination(model: &Path, out: &Path, several: bool) -> PathBuf {
    let folder = several || out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/');
    if !folder {
        return out.to_path_buf();
    }
    // chemprop names every model `best.pt` inside `model_<k>/`: use the folder then.
    let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned());
    let stem = match stem.as_deref() {
        Some("best") | Some("last") | None => model
            .parent()
            .and_then(Path::file_name)
            .map_or_else(|| "model".to_string(), |p| p.to_string_lossy().into_owned()),
        Some(s) => s.to_string(),
    };
    out.join(format!("{stem}.moltx"))
}

/// One line on what was imported: task type and names, encoder, head, target scaling.
fn summary(checkpoint: &crate::model::Checkpoint) -> String {
    use crate::model::Aggregation;
    use crate::model::config::TaskType;
    let (h, m) = (&checkpoint.header, &checkpoint.header.model);
    let kind = match (h.task_type, m.head.has_variance()) {
        (TaskType::Regression, false) => "regression".to_string(),
        (TaskType::Regression, true) => format!("regression ({} head)", m.head.name()),
        (TaskType::Classification, _) => "classification".to_string(),
    };
    let aggregation = match m.aggregation {
        Aggregation::Mean => "mean".to_string(),
        Aggregation::Sum => "sum".to_string(),
        Aggregation::Norm => format!("norm ({})", m.norm),
    };
    let ffn = match m.ffn_layers {
        0 => "linear".to_string(),
        n => format!("{n}×{}", m.ffn_hidden),
    };
    format!(
        "{kind}, {} task(s) ({}); D-MPNN hidden {}, depth {}, {aggregation} aggregation; \
         FFN {ffn}{}",
        h.tasks.len(),
        h.tasks.join(", "),
        m.hidden,
        m.depth,
        if h.target_scaling.is_some() {
            "; target scaling"
        } else {
            ""
        }
    )
}

/// Runs `moltx import-chemprop`.
pub fn run(args: &ImportChempropArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let options = ImportOptions {
        tasks: args.tasks.clone(),
    };
    let several = args.models.len() > 1;
    if several || args.out.as_os_str().to_string_lossy().ends_with('/') {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
    }
    let mut written = Vec::new();
    for model in &args.models {
        let dest = destination(model, &args.out, several);
        if written.contains(&dest) {
            bail!(
                "{} and another model would both be written to {}",
                model.display(),
                dest.display()
            );
        }
        let checkpoint = import_chemprop(model, &options, &device)?;
        checkpoint.save(&dest)?;
        println!(
            "{}: {} → {}",
            model.display(),
            summary(&checkpoint),
            dest.display()
        );
        written.push(dest);
    }
    Ok(())
}
