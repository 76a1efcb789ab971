//! The writer stage of the screening pipeline: appends scored chunks to the output, keeps the
//! top-k and per-task selections, and records durable progress in the resume manifest.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::output::{OutputLayout, RowSink, open_sink, write_table};
use super::resume::{MANIFEST_VERSION, Manifest};
use super::topk::TopK;
use super::{ScoredChunk, ScoredRow, ScreenError, WriterMessage};

/// Writer stage state: the sink, the selections, and the manifest of what is durable.
pub(super) struct WriterState {
    out: PathBuf,
    layout: OutputLayout,
    sink: Option<Box<dyn RowSink>>,
    top_k: Option<TopK>,
    pub(super) best: Vec<TopK>,
    pub(super) manifest: Manifest,
}

impl WriterState {
    pub(super) fn new(
        out: &Path,
        layout: OutputLayout,
        top_k: Option<TopK>,
        (report_top, report_lowest): (usize, bool),
        identity: String,
    ) -> Self {
        let best = (0..layout.tasks.len())
            .map(|j| TopK::new(report_top, j, report_lowest))
            .collect();
        WriterState {
            out: out.to_path_buf(),
            layout,
            sink: None,
            top_k,
            best,
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
            let sink = open_sink(&self.out, &self.layout, resume_at)?;
            if resume_at.is_none() {
                self.manifest.output_bytes = sink.position();
            }
            self.sink = Some(sink);
        }
        self.manifest.store(&self.out)?;
        Ok(())
    }

    /// Writes rows scored before the library (a fresh run's first entries) and records them.
    pub(super) fn write_leading(&mut self, rows: &[ScoredRow]) -> Result<(), ScreenError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.offer(rows);
        if let Some(sink) = &mut self.sink {
            self.manifest.output_bytes = sink.write_rows(rows)?;
        }
        self.record_selections();
        self.manifest.store(&self.out)
    }

    fn offer(&mut self, rows: &[ScoredRow]) {
        for row in rows {
            if let Some(top) = &mut self.top_k {
                top.offer(row);
            }
            for best in &mut self.best {
                best.offer(row);
            }
        }
    }

    fn record_selections(&mut self) {
        if let Some(top) = &self.top_k {
            self.manifest.top_k = top.sorted();
        }
        self.manifest.best_per_task = self.best.iter().map(TopK::sorted).collect();
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
        self.offer(&chunk.rows);
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
        for row in chunk.rows.iter().filter(|r| r.error.is_none()) {
            if let Some(note) = row.notes.first() {
                *m.note_counts.entry(note.clone()).or_insert(0) += 1;
            }
        }
        m.rows_read = m.next_row;
        self.record_selections();
        self.manifest.store(&self.out)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ScreenError> {
        if let Some(top) = &self.top_k {
            write_table(&self.out, &self.layout, &top.sorted())?;
        } else if let Some(sink) = self.sink.take() {
            sink.finish()?;
        }
        self.manifest.rows_read = self.manifest.next_row;
        Manifest::remove(&self.out)
    }
}
