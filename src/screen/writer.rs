//! The writer stage of the screening pipeline: appends scored chunks to the output, keeps the
//! top-k and per-task selections, and records durable progress in the resume manifest.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::output::{OutputLayout, RowSink, open_sink};
use super::resume::{MANIFEST_VERSION, Manifest};
use super::topk::TopK;
use super::{ScoredChunk, ScreenError, WriterMessage};

/// Writer stage state: the sink, the selections, and the manifest of what is durable.
pub(super) struct WriterState {
    out: PathBuf,
    layout: OutputLayout,
    sink: Option<Box<dyn RowSink>>,
    top_k: Option<TopK>,
    pub(super) best: Vec<TopK>,
    resumable: bool,
    pub(super) manifest: Manifest,
}

impl WriterState {
    pub(super) fn new(
        out: &Path,
        layout: OutputLayout,
        top_k: Option<TopK>,
        report_top: usize,
        resumable: bool,
        identity: String,
    ) -> Self {
        let best = (0..layout.tasks.len())
            .map(|j| TopK::new(report_top, j, false))
            .collect();
        WriterState {
            out: out.to_path_buf(),
            layout,
            sink: None,
            top_k,
            best,
            resumable,
            manifest: Manifest {
                version: MANIFEST_VERSION,
                identity,
                ..Manifest::default()
            },
        }
    }

    /// Takes over an interrupted run's counts and selections.
    pub(super) fn restore(&mut self, m: &Manifest) {
        if let Some(top) = &mut self.top_k {
            top.restore(&m.top_k);
        }
        for (best, rows) in self.best.iter_mut().zip(&m.best_per_task) {
            best.restore(rows);
        }
        self.manifest = m.clone();
    }

    /// Opens the output (cut back to `resume_at` bytes when resuming) and records the start.
    pub(super) fn open(&mut self, resume_at: Option<u64>) -> Result<(), ScreenError> {
        if self.top_k.is_some() {
            // Rows are written at the end; check now that the output can be created.
            if resume_at.is_none() {
                std::fs::File::create(&self.out).map_err(|source| ScreenError::Io {
                    path: self.out.clone(),
                    source,
                })?;
            }
        } else {
            self.sink = Some(open_sink(&self.out, &self.layout, resume_at)?);
            if resume_at.is_none() {
                self.manifest.output_bytes = self.sink_len()?;
            }
        }
        if self.resumable {
            self.manifest.store(&self.out)?;
        }
        Ok(())
    }

    fn sink_len(&self) -> Result<u64, ScreenError> {
        std::fs::metadata(&self.out)
            .map(|m| m.len())
            .map_err(|source| ScreenError::Io {
                path: self.out.clone(),
                source,
            })
    }

    /// Consumes chunks until `Finish` (completes the output) or a closed queue (leaves the
    /// manifest for a resume). Returns the state and the seconds spent writing.
    pub(super) fn run(mut self, rx: &Receiver<WriterMessage>) -> Result<(Self, f64), ScreenError> {
        let mut seconds = 0.0;
        while let Ok(message) = rx.recv() {
            let t0 = Instant::now();
            match message {
                WriterMessage::Chunk(chunk) => self.write_chunk(chunk)?,
                WriterMessage::Finish => {
                    self.finish()?;
                    seconds += t0.elapsed().as_secs_f64();
                    break;
                }
            }
            seconds += t0.elapsed().as_secs_f64();
        }
        Ok((self, seconds))
    }

    fn write_chunk(&mut self, chunk: ScoredChunk) -> Result<(), ScreenError> {
        for row in &chunk.rows {
            if let Some(top) = &mut self.top_k {
                top.offer(row);
            }
            for best in &mut self.best {
                best.offer(row);
            }
        }
        if let Some(sink) = &mut self.sink {
            self.manifest.output_bytes = sink.write_rows(&chunk.rows)?;
        }
        let m = &mut self.manifest;
        m.next_row = chunk.next_row;
        m.rows_in_shard += chunk.rows.len() as u64;
        m.scored += chunk.rows.iter().filter(|r| r.error.is_none()).count() as u64;
        for (reason, n) in chunk.failed {
            *m.failed.entry(reason).or_insert(0) += n;
        }
        if self.resumable {
            if let Some(top) = &self.top_k {
                m.top_k = top.sorted();
            }
            m.best_per_task = self.best.iter().map(TopK::sorted).collect();
            m.rows_read = m.next_row;
            self.manifest.store(&self.out)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ScreenError> {
        if let Some(top) = &self.top_k {
            let mut sink = open_sink(&self.out, &self.layout, None)?;
            sink.write_rows(&top.sorted())?;
            sink.finish()?;
        } else if let Some(sink) = self.sink.take() {
            sink.finish()?;
        }
        self.manifest.rows_read = self.manifest.next_row;
        Manifest::remove(&self.out)
    }
}
