//! Parquet output that survives a kill. A Parquet file is valid only once closed (its footer
//! comes last), so a streaming run does not write `<out>` directly: each chunk becomes a
//! complete part file `<out>.moltx-parts/part-NNNNNNNN.parquet`, written under a temporary
//! name, made durable and renamed, so every finished chunk stands on its own. The resume
//! manifest counts the finished parts; a resumed run deletes any part past that count (one
//! written after the last manifest) and carries on. At the end the parts' column chunks are
//! copied, without decoding, into `<out>`, one row group per part, and the folder is removed.
//! The merged file is the same bytes whether or not the run was interrupted.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
use parquet::file::writer::SerializedFileWriter;

use super::ScoredRow;
use super::ScreenError;
use super::output::{OutputLayout, RowSink};
use super::parquet_out::{ParquetSink, parquet_error, properties, schema};

/// The folder of an output's part files: `<out>.moltx-parts`.
pub fn parts_dir(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".moltx-parts");
    PathBuf::from(name)
}

/// Part file `index` of a parts folder.
fn part_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("part-{index:08}.parquet"))
}

/// A Parquet output written as part files and merged at the end (see the module docs).
pub(super) struct PartsSink {
    out: PathBuf,
    dir: PathBuf,
    layout: OutputLayout,
    parts: u64,
}

impl PartsSink {
    /// Starts afresh (any earlier parts are removed), or continues after `resume_parts`
    /// finished parts (later ones are removed).
    pub(super) fn open(
        out: &Path,
        layout: &OutputLayout,
        resume_parts: Option<u64>,
    ) -> Result<Self, ScreenError> {
        let dir = parts_dir(out);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ScreenError::Io { path, source }
        };
        let parts = resume_parts.unwrap_or(0);
        if resume_parts.is_none() && dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            let index = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("part-"))
                .and_then(|n| n.strip_suffix(".parquet"))
                .and_then(|n| n.parse::<u64>().ok());
            if index.is_none_or(|i| i >= parts) {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        for index in 0..parts {
            let path = part_path(&dir, index);
            if !path.is_file() {
                return Err(ScreenError::Resume(format!(
                    "{} is missing: the parts of the interrupted run are incomplete",
                    path.display()
                )));
            }
        }
        Ok(PartsSink {
            out: out.to_path_buf(),
            dir,
            layout: layout.clone(),
            parts,
        })
    }

    /// Copies every part's row groups into `<out>` (through a temporary file, renamed).
    fn merge(&self) -> Result<(), ScreenError> {
        let tmp = self.dir.join("merged.parquet.tmp");
        let pq = parquet_error(&self.out);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ScreenError::Io { path, source }
        };
        let file = File::create(&tmp).map_err(io(&tmp))?;
        let mut writer =
            SerializedFileWriter::new(file, schema(&self.layout).map_err(&pq)?, properties())
                .map_err(&pq)?;
        for index in 0..self.parts {
            let path = part_path(&self.dir, index);
            let part_pq = parquet_error(&path);
            let input = File::open(&path).map_err(io(&path))?;
            let metadata = ParquetMetaDataReader::new()
                .with_page_index_policy(PageIndexPolicy::Optional)
                .parse_and_finish(&input)
                .map_err(&part_pq)?;
            let page_index = metadata.page_index();
            for (g, group) in metadata.row_groups().iter().enumerate() {
                let mut out_group = writer.next_row_group().map_err(&pq)?;
                for (c, column) in group.columns().iter().enumerate() {
                    let close = ColumnCloseResult {
                        bytes_written: column.compressed_size() as u64,
                        rows_written: group.num_rows() as u64,
                        metadata: column.clone(),
                        bloom_filter: None,
                        column_index: page_index.and_then(|p| p.column_index(g, c)).cloned(),
                        offset_index: page_index.and_then(|p| p.offset_index(g, c)).cloned(),
                    };
                    out_group.append_column(&input, close).map_err(&part_pq)?;
                }
                out_group.close().map_err(&pq)?;
            }
        }
        let file = writer.into_inner().map_err(&pq)?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &self.out).map_err(io(&self.out))?;
        std::fs::remove_dir_all(&self.dir).map_err(io(&self.dir))
    }
}

impl RowSink for PartsSink {
    /// Writes the rows as the next part; returns the number of finished parts.
    fn write_rows(&mut self, rows: &[ScoredRow]) -> Result<u64, ScreenError> {
        let path = part_path(&self.dir, self.parts);
        let tmp = path.with_extension("parquet.tmp");
        let mut sink = ParquetSink::create(&tmp, &self.layout)?;
        if !rows.is_empty() {
            sink.write_rows(rows)?;
        }
        sink.close_durably()?;
        std::fs::rename(&tmp, &path).map_err(|source| ScreenError::Io {
            path: path.clone(),
            source,
        })?;
        self.parts += 1;
        Ok(self.parts)
    }

    fn position(&self) -> u64 {
        self.parts
    }

    fn finish(self: Box<Self>) -> Result<(), ScreenError> {
        self.merge()
    }
}
