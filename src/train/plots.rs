//! PNG plots for training diagnostics: learning curves, parity plots and ROC curves (800×600).
//!
//! Drawing uses `plotters` (bitmap backend, pure-Rust `ab_glyph` text); the `png` crate encodes.
//! Text needs a TrueType font read at run time: `$MOLTX_FONT` if set, else DejaVu Sans (Debian:
//! `apt-get install fonts-dejavu-core`) or a common fallback. Without one: [`PlotError::NoFont`].

use plotters::coord::{Shift, types::RangedCoordf64};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::{fs::File, io, io::BufWriter, ops::Range, sync::OnceLock};

use super::metrics::{SplitMetrics, TaskType};
use super::trainer::EpochRecord;

const W: u32 = 800;
const H: u32 = 600;
const FONT: &str = "sans-serif";
/// Tried after `$MOLTX_FONT`: Debian/Ubuntu (`fonts-dejavu-core`), Fedora, Arch, macOS.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Errors from the plotting functions.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The data cannot be plotted (empty, mismatched lengths, a single class, ...).
    #[error("cannot plot {path}: {msg}")]
    Input { path: PathBuf, msg: String },
    /// No usable TrueType font was found for the plot text.
    #[error("no usable font for plot text (install fonts-dejavu-core or set MOLTX_FONT); {tried}")]
    NoFont { tried: String },
    /// Creating or writing the PNG file failed.
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// Rendering or PNG encoding failed.
    #[error("cannot draw {path}: {msg}")]
    Draw { path: PathBuf, msg: String },
}

/// One training run's per-epoch curve.
#[derive(Debug, Clone, Copy)]
pub struct Curve<'a> {
    /// Legend label, e.g. "model 0".
    pub label: &'a str,
    /// Training loss per epoch (non-finite values are skipped).
    pub train_loss: &'a [f64],
    /// Validation metric per epoch; `None` (or NaN) where it was not computed.
    pub val_metric: &'a [Option<f64>],
}

type Area<'b> = DrawingArea<BitMapBackend<'b>, Shift>;
type DrawErr = DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>;
type XyChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Registers the first candidate that reads and parses as a font; the error lists every try.
fn register_first(candidates: &[PathBuf]) -> Result<(), String> {
    let mut tried = Vec::new();
    for p in candidates {
        match std::fs::read(p) {
            Err(e) => tried.push(format!("{}: {e}", p.display())),
            Ok(bytes) => {
                // plotters keeps `&'static` font data: leak it (once per process, < 1 MB).
                let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font(FONT, FontStyle::Normal, leaked).is_ok() {
                    return Ok(());
                }
                tried.push(format!("{}: not a valid TrueType font", p.display()));
            }
        }
    }
    Err(format!("tried {}", tried.join("; ")))
}

/// Registers the font with plotters once per process; later calls reuse the outcome.
fn ensure_font() -> Result<(), PlotError> {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        let env = std::env::var_os("MOLTX_FONT").map(PathBuf::from);
        let fixed = FONT_CANDIDATES.iter().map(PathBuf::from);
        register_first(&env.into_iter().chain(fixed).collect::<Vec<_>>())
    });
    state.clone().map_err(|tried| PlotError::NoFont { tried })
}

/// Renders into an in-memory RGB buffer via `draw`, then writes it to `path` as a PNG.
fn render(
    path: &Path,
    draw: impl FnOnce(&Area<'_>) -> Result<(), DrawErr>,
) -> Result<(), PlotError> {
    ensure_font()?;
    let p = || path.to_path_buf();
    let err = |msg: String| PlotError::Draw { path: p(), msg };
    let mut buf = vec![0u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        let drawn = root.fill(&WHITE).and_then(|()| draw(&root));
        let presented = drawn.and_then(|()| root.present());
        presented.map_err(|e| err(e.to_string()))?;
    }
    let io_err = |source| PlotError::Io { path: p(), source };
    let png_err = |e| match e {
        png::EncodingError::IoError(source) => io_err(source),
        other => err(other.to_string()),
    };
    let mut enc = png::Encoder::new(BufWriter::new(File::create(path).map_err(io_err)?), W, H);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(png_err)?;
    writer.write_image_data(&buf).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

/// Axis range covering the finite `values` with 5% padding (constant data gets a small pad);
/// `None` if there are none or the padded range overflows.
fn padded(values: impl Iterator<Item = f64>) -> Option<Range<f64>> {
    let finite: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    let lo = finite.iter().copied().reduce(f64::min)?;
    let hi = finite.iter().copied().reduce(f64::max)?;
    let span = hi - lo;
    let tiny = span <= 1e-12 * lo.abs().max(hi.abs());
    let pad = if tiny {
        (lo.abs() * 0.1).max(1e-3)
    } else {
        span * 0.05
    };
    let range = lo - pad..hi + pad;
    (range.start.is_finite() && range.end.is_finite()).then_some(range)
}

/// Tick labels for an axis over `r`: fixed decimals suited to its span, scientific notation
/// for very large or tiny values.
fn tick_fmt(r: &Range<f64>) -> impl Fn(&f64) -> String + use<> {
    let span = r.end - r.start;
    let sci = span < 1e-4 || r.start.abs().max(r.end.abs()) >= 1e5;
    let digits = (1 - span.log10().floor() as i32).clamp(0, 6) as usize;
    move |&v| {
        let v = if v.abs() < span * 1e-9 { 0.0 } else { v }; // no "-0.0"
        if sci {
            format!("{v:.2e}")
        } else {
            format!("{v:.digits$}")
        }
    }
}

/// Caption font: 24 px, shrunk (down to 10 px) until `text` fits the image width.
fn caption_font(text: &str) -> FontDesc<'static> {
    let width = |s: u32| (FONT, s).into_font().box_size(text).map_or(0, |b| b.0);
    let size = (5..=12).rev().map(|s| s * 2).find(|&s| width(s) + 30 <= W);
    (FONT, size.unwrap_or(10)).into()
}

/// `(epoch, y)` for the finite values, epochs counted from 1.
fn epoch_points(ys: impl Iterator<Item = Option<f64>>) -> Vec<(i32, f64)> {
    let pts = (1..).zip(ys).filter_map(|(e, y)| Some((e, y?)));
    pts.filter(|p| p.1.is_finite()).collect()
}

/// A roughly square f64 chart with caption, mesh and axis names `desc` = [x, y].
fn xy_chart<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    (x, y): (Range<f64>, Range<f64>),
    desc: [&str; 2],
) -> Result<XyChart<'a, 'b>, DrawErr> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, caption_font(title))
        .margin(15)
        .margin_left(110) // the wide side margins make the plotting area about square
        .margin_right(110)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(x.clone(), y.clone())?;
    let (fx, fy) = (tick_fmt(&x), tick_fmt(&y));
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(desc[0]).y_desc(desc[1]);
    mesh.x_labels(7).x_label_formatter(&fx);
    mesh.y_label_formatter(&fy);
    mesh.label_style((FONT, 15)).axis_desc_style((FONT, 17));
    mesh.draw()?;
    Ok(chart)
}

fn input_err(path: &Path, msg: impl Into<String>) -> PlotError {
    let (path, msg) = (path.to_path_buf(), msg.into());
    PlotError::Input { path, msg }
}

/// Learning curve: epoch on x; training loss (left axis) and validation metric (right axis,
/// named by `metric_name`, e.g. "val RMSE" / "val ROC-AUC") for one or more ensemble members.
pub fn learning_curve_png(
    path: &Path,
    curves: &[Curve<'_>],
    metric_name: &str,
) -> Result<(), PlotError> {
    let loss = |c: &Curve| epoch_points(c.train_loss.iter().map(|&v| Some(v)));
    let val = |c: &Curve| epoch_points(c.val_metric.iter().copied());
    let (losses, vals): (Vec<_>, Vec<_>) = curves.iter().map(|c| (loss(c), val(c))).unzip();
    let range = |pts: &[Vec<(i32, f64)>]| padded(pts.iter().flatten().map(|p| p.1));
    let (loss_range, val_range) = (range(&losses).unwrap_or(0.0..1.0), range(&vals));
    let val_range = val_range.unwrap_or(0.0..1.0);
    let last = losses.iter().chain(&vals).filter_map(|v| v.last());
    let no_data = || input_err(path, "no finite training loss or validation values");
    let x_max = last.map(|p| p.0).max().ok_or_else(no_data)? + 1;
    let title = format!("Learning curve ({metric_name})");
    render(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(&title, caption_font(&title))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .right_y_label_area_size(75)
            .build_cartesian_2d(0..x_max, loss_range.clone())?
            .set_secondary_coord(0..x_max, val_range.clone());
        let (f_loss, f_val) = (tick_fmt(&loss_range), tick_fmt(&val_range));
        let mut mesh = chart.configure_mesh();
        mesh.x_desc("epoch").y_desc("train loss");
        mesh.y_label_formatter(&f_loss);
        mesh.label_style((FONT, 15)).axis_desc_style((FONT, 17));
        mesh.draw()?;
        if vals.iter().any(|v| !v.is_empty()) {
            let mut axes = chart.configure_secondary_axes();
            axes.y_desc(metric_name).y_label_formatter(&f_val);
            axes.label_style((FONT, 15));
            axes.axis_desc_style((FONT, 17));
            axes.draw()?;
        }
        for (i, ((c, loss), val)) in curves.iter().zip(losses).zip(vals).enumerate() {
            let color = Palette99::pick(i).to_rgba();
            // A lone run gets a second colour for its validation metric.
            let vcolor = Palette99::pick(if curves.len() == 1 { 1 } else { i }).to_rgba();
            if !loss.is_empty() {
                let line = LineSeries::new(loss.iter().copied(), color.stroke_width(2));
                chart
                    .draw_series(line.point_size(if loss.len() == 1 { 3 } else { 0 }))?
                    .label(format!("{} train loss", c.label))
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
            }
            if !val.is_empty() {
                let style = vcolor.stroke_width(1);
                let dashed = DashedLineSeries::new(val.iter().copied(), 6, 4, style);
                chart.draw_secondary_series(dashed)?;
                let dots = val.iter().map(|&p| Circle::new(p, 3, vcolor.filled()));
                chart
                    .draw_secondary_series(dots)?
                    .label(format!("{} {metric_name}", c.label))
                    .legend(move |(x, y)| Circle::new((x + 10, y), 3, vcolor.filled()));
            }
        }
        let mut legend = chart.configure_series_labels();
        legend.label_font((FONT, 14)).border_style(BLACK);
        legend.background_style(WHITE.mix(0.85));
        legend.position(SeriesLabelPosition::UpperRight).draw()
    })
}

/// Parity plot for a regression task: measured (x) vs predicted (y) scatter and the y = x line.
/// `title` should carry the task name and metrics (e.g. RMSE, R²). Non-finite pairs are skipped.
pub fn parity_png(
    path: &Path,
    title: &str,
    measured: &[f64],
    predicted: &[f64],
) -> Result<(), PlotError> {
    if measured.len() != predicted.len() {
        let (m, p) = (measured.len(), predicted.len());
        let msg = format!("{m} measured vs {p} predicted values");
        return Err(input_err(path, msg));
    }
    let pairs = measured.iter().copied().zip(predicted.iter().copied());
    let finite = |&(m, p): &(f64, f64)| m.is_finite() && p.is_finite();
    let pts: Vec<(f64, f64)> = pairs.filter(finite).collect();
    let r = padded(pts.iter().flat_map(|&(m, p)| [m, p]))
        .ok_or_else(|| input_err(path, "no finite (measured, predicted) pairs"))?;
    render(path, |root| {
        let axes = ["measured", "predicted"];
        let mut chart = xy_chart(root, title, (r.clone(), r.clone()), axes)?;
        let diag = [(r.start, r.start), (r.end, r.end)];
        chart.draw_series(LineSeries::new(diag, BLACK.mix(0.6).stroke_width(1)))?;
        let style = BLUE.mix(0.5).filled();
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, style)))?;
        Ok(())
    })
}

/// ROC curve points `(FPR, TPR)` from (0, 0) to (1, 1), sorting by score descending; tied
/// scores are stepped through together (one diagonal segment). NaN scores are skipped. Returns
/// an empty vector for mismatched lengths or when either class is absent.
pub fn roc_points(labels: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    if labels.len() != scores.len() {
        return Vec::new();
    }
    let pairs = scores.iter().copied().zip(labels.iter().copied());
    let mut pairs: Vec<(f64, bool)> = pairs.filter(|(s, _)| !s.is_nan()).collect();
    let pos = pairs.iter().filter(|(_, l)| *l).count();
    let neg = pairs.len() - pos;
    if pos == 0 || neg == 0 {
        return Vec::new();
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut out = vec![(0.0, 0.0)];
    for group in pairs.chunk_by(|a, b| a.0 == b.0) {
        let t = group.iter().filter(|(_, l)| *l).count();
        tp += t;
        fp += group.len() - t;
        out.push((fp as f64 / neg as f64, tp as f64 / pos as f64));
    }
    out
}

/// ROC curve for a binary task from `labels` and `scores` (see [`roc_points`]), with the
/// chance diagonal and `title` (e.g. task name and ROC-AUC).
pub fn roc_png(path: &Path, title: &str, labels: &[bool], scores: &[f64]) -> Result<(), PlotError> {
    if labels.len() != scores.len() {
        let msg = format!("{} labels vs {} scores", labels.len(), scores.len());
        return Err(input_err(path, msg));
    }
    let pts = roc_points(labels, scores);
    if pts.is_empty() {
        let msg = "ROC needs positive and negative labels with non-NaN scores";
        return Err(input_err(path, msg));
    }
    render(path, |root| {
        let axes = ["false positive rate", "true positive rate"];
        let mut chart = xy_chart(root, title, (-0.01..1.01, -0.01..1.01), axes)?;
        let diag = [(0.0, 0.0), (1.0, 1.0)];
        chart.draw_series(LineSeries::new(diag, BLACK.mix(0.5).stroke_width(1)))?;
        chart.draw_series(LineSeries::new(pts, BLUE.stroke_width(2)))?;
        Ok(())
    })
}

/// Writes `learning_curve.png` and, per task, `test_parity_<task>.png` (regression) or
/// `test_roc_<task>.png` (classification) of the ensemble's test predictions (row-major
/// `test × tasks` targets, mask and predictions). Returns the files written and, for plots
/// that could not be drawn, why (plots never fail the job).
pub(crate) fn write_train_plots(
    out: &Path,
    curves: &[Vec<EpochRecord>],
    task_type: TaskType,
    tasks: &[String],
    (test_targets, test_mask): (&[f32], &[bool]),
    test_pred: &[f64],
    test_metrics: &SplitMetrics,
) -> (Vec<PathBuf>, Vec<String>) {
    let (mut written, mut problems) = (Vec::new(), Vec::new());
    let mut record = |path: PathBuf, result: Result<(), PlotError>| match result {
        Ok(()) => written.push(path),
        Err(e) => problems.push(e.to_string()),
    };
    let losses: Vec<Vec<f64>> = curves
        .iter()
        .map(|c| c.iter().map(|r| r.train_loss).collect())
        .collect();
    let vals: Vec<Vec<Option<f64>>> = curves
        .iter()
        .map(|c| c.iter().map(|r| r.val_metric).collect())
        .collect();
    let labels: Vec<String> = (0..curves.len()).map(|i| format!("model {i}")).collect();
    let series: Vec<Curve<'_>> = (0..curves.len())
        .map(|i| Curve {
            label: &labels[i],
            train_loss: &losses[i],
            val_metric: &vals[i],
        })
        .collect();
    let metric = match task_type {
        TaskType::Regression => "val RMSE",
        TaskType::Classification => "val ROC-AUC",
    };
    let path = out.join("learning_curve.png");
    record(path.clone(), learning_curve_png(&path, &series, metric));
    let t = tasks.len();
    // One plot per task, for up to 24 tasks (not for 978-gene signatures).
    for (j, task) in tasks.iter().enumerate().take(if t > 24 { 0 } else { t }) {
        let labelled = (0..test_mask.len() / t).filter(|&i| test_mask[i * t + j]);
        let (truth, pred): (Vec<f64>, Vec<f64>) = labelled
            .map(|i| (f64::from(test_targets[i * t + j]), test_pred[i * t + j]))
            .unzip();
        let safe: String = task
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let value = |m: &str| {
            test_metrics
                .per_task
                .get(task)
                .and_then(|v| v.get(m))
                .map_or("n/a".to_string(), |v| format!("{v:.3}"))
        };
        let result = match task_type {
            TaskType::Regression => {
                let path = out.join(format!("test_parity_{safe}.png"));
                let title = format!(
                    "{task} (test, n = {}): RMSE {}, R² {}",
                    truth.len(),
                    value("rmse"),
                    value("r2")
                );
                (path.clone(), parity_png(&path, &title, &truth, &pred))
            }
            TaskType::Classification => {
                let path = out.join(format!("test_roc_{safe}.png"));
                let title = format!(
                    "{task} (test, n = {}): ROC-AUC {}",
                    truth.len(),
                    value("roc_auc")
                );
                let labels: Vec<bool> = truth.iter().map(|&v| v >= 0.5).collect();
                (path.clone(), roc_png(&path, &title, &labels, &pred))
            }
        };
        record(result.0, result.1);
    }
    (written, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_png(path: &Path) {
        let bytes = std::fs::read(path).expect("png written");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
        assert!(bytes.len() > 5_000, "only {} bytes", bytes.len());
    }

    fn curve<'a>(train_loss: &'a [f64], val_metric: &'a [Option<f64>]) -> Curve<'a> {
        let label = "model";
        Curve {
            label,
            train_loss,
            val_metric,
        }
    }

    #[test]
    fn roc_points_hand_example_with_ties() {
        // Sorted: 0.9(+) | 0.8(-), 0.8(+) tied | 0.3(-) | 0.1(+); P = 3, N = 2.
        let (labels, scores) = ([true, false, true, false, true], [0.9, 0.8, 0.8, 0.3, 0.1]);
        let got = roc_points(&labels, &scores);
        let (a, b) = (1.0 / 3.0, 2.0 / 3.0);
        assert_eq!(got, [(0.0, 0.0), (0.0, a), (0.5, b), (1.0, b), (1.0, 1.0)]);
        // Trapezoid AUC equals the Mann-Whitney value 3.5 / 6 (a tie counts one half).
        let trapezoid = |w: &[(f64, f64)]| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0;
        let auc: f64 = got.windows(2).map(trapezoid).sum();
        assert!((auc - 7.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn roc_points_degenerate_inputs() {
        assert!(roc_points(&[], &[]).is_empty());
        assert!(roc_points(&[true, true], &[0.1, 0.2]).is_empty());
        assert!(roc_points(&[true], &[0.1, 0.2]).is_empty());
        assert!(roc_points(&[true, false], &[0.5, f64::NAN]).is_empty());
        let skipped_nan = roc_points(&[true, false, true], &[0.9, 0.1, f64::NAN]);
        assert_eq!(skipped_nan, [(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]);
    }

    #[test]
    fn writes_pngs_including_single_points_and_constants() {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        let loss = [1.0, 0.6, 0.45, 0.4, f64::NAN, 0.35];
        let val = [None, Some(0.9), Some(0.8), None, Some(0.75), Some(0.74)];
        let two = [curve(&loss, &val), curve(&loss[..3], &val[..3])];
        learning_curve_png(&p("lc.png"), &two, "val RMSE").unwrap();
        learning_curve_png(&p("lc1.png"), &[curve(&[0.5], &[Some(0.7)])], "val AUC").unwrap();
        learning_curve_png(&p("lc2.png"), &[curve(&[0.5, 0.4], &[])], "val RMSE").unwrap();
        learning_curve_png(&p("lc3.png"), &[curve(&[], &[None, Some(0.3)])], "val R2").unwrap();
        let (measured, predicted) = ([1.0, 2.0, 3.0, f64::NAN], [1.2, 1.9, 3.3, 2.0]);
        parity_png(
            &p("par.png"),
            "logS  RMSE 0.31  R² 0.92",
            &measured,
            &predicted,
        )
        .unwrap();
        parity_png(&p("par1.png"), "one", &[2.0], &[2.0]).unwrap();
        parity_png(&p("par2.png"), "zeros", &[0.0; 3], &[0.0; 3]).unwrap();
        let labels = [true, false, true, false, true, false];
        let scores = [0.9, 0.8, 0.8, 0.3, 0.1, 0.05];
        roc_png(&p("roc.png"), "BBBP  ROC-AUC 0.78", &labels, &scores).unwrap();
        for name in ["lc", "lc1", "lc2", "lc3", "par", "par1", "par2", "roc"] {
            assert_png(&p(&format!("{name}.png")));
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.png");
        let input = |r: Result<(), PlotError>| matches!(r, Err(PlotError::Input { .. }));
        assert!(input(learning_curve_png(&p, &[], "val RMSE")));
        let nan = [curve(&[f64::NAN], &[None, Some(f64::NAN)])];
        assert!(input(learning_curve_png(&p, &nan, "val RMSE")));
        assert!(input(parity_png(&p, "t", &[], &[])));
        assert!(input(parity_png(&p, "t", &[1.0, 2.0], &[1.0])));
        assert!(input(parity_png(&p, "t", &[f64::NAN], &[1.0])));
        assert!(input(roc_png(&p, "t", &[], &[])));
        assert!(input(roc_png(&p, "t", &[true, false], &[0.5])));
        assert!(input(roc_png(&p, "t", &[true, true], &[0.5, 0.6])));
        assert!(!p.exists());
        let missing_dir = dir.path().join("no/such/dir/x.png");
        let err = parity_png(&missing_dir, "t", &[1.0], &[1.0]).unwrap_err();
        assert!(matches!(err, PlotError::Io { .. }), "{err}");
    }

    #[test]
    fn missing_or_invalid_font_lists_paths() {
        let dir = tempfile::tempdir().unwrap();
        let (missing, junk) = (dir.path().join("missing.ttf"), dir.path().join("junk.ttf"));
        std::fs::write(&junk, b"not a font").unwrap();
        let msg = register_first(&[missing.clone(), junk]).unwrap_err();
        assert!(msg.contains(&*missing.to_string_lossy()), "{msg}");
        assert!(msg.contains("not a valid TrueType font"), "{msg}");
    }
}
