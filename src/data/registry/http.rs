//! Resumable downloads: a file is written to its `.part` beside the destination, and a later
//! attempt asks the server for the rest (`Range: bytes=N-`) instead of starting over.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use super::RegistryError;

/// Bytes read per chunk of a body.
const CHUNK: usize = 64 * 1024;

/// The client: no automatic decompression (byte ranges address the file itself), statuses
/// handled here, proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(format!("moltx/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Downloads `url` into `part` until it holds `total` bytes, resuming from what `part`
/// already holds; `progress` is told the bytes held after each chunk. A body cut short leaves
/// what arrived in `part` for the next attempt.
pub(super) fn download(
    url: &str,
    part: &Path,
    total: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<(), RegistryError> {
    let http = |reason: String| RegistryError::Http {
        url: url.to_string(),
        path: part.to_path_buf(),
        reason,
    };
    let mut held = match std::fs::metadata(part) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(RegistryError::io(part)(e)),
    };
    if held > total {
        // Longer than the file can be: not a prefix of it.
        std::fs::remove_file(part).map_err(RegistryError::io(part))?;
        held = 0;
    }
    progress(held);
    if held == total {
        return Ok(());
    }
    let agent = agent();
    let mut request = agent.get(url).header("Accept-Encoding", "identity");
    if held > 0 {
        request = request.header("Range", format!("bytes={held}-"));
    }
    let response = request.call().map_err(|e| http(e.to_string()))?;
    let status = response.status().as_u16();
    match status {
        206 => {
            let range = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !range.starts_with(&format!("bytes {held}-")) {
                return Err(http(format!(
                    "asked for bytes {held}- and got a part {range:?}"
                )));
            }
        }
        200 => {
            // The server sends the whole file (it ignored the range, or none was asked).
            held = 0;
        }
        416 if held > 0 => {
            // The server has no bytes after ours: what we hold is not a prefix of its file.
            std::fs::remove_file(part).map_err(RegistryError::io(part))?;
            return Err(http(format!(
                "HTTP 416 for bytes {held}- of a {total}-byte file; the partial download was \
                 discarded, fetch again to start over"
            )));
        }
        _ => return Err(http(format!("HTTP {status}"))),
    }
    // Opened only once the server answers: a failed request leaves no empty `.part`.
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(part)
        .map_err(RegistryError::io(part))?;
    file.set_len(held).map_err(RegistryError::io(part))?;
    file.seek(SeekFrom::Start(held))
        .map_err(RegistryError::io(part))?;
    let mut reader = response.into_body().into_reader();
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                file.flush().map_err(RegistryError::io(part))?;
                return Err(http(format!(
                    "connection lost after {held} of {total} bytes ({e}); fetch again to resume"
                )));
            }
        };
        if held + n as u64 > total {
            drop(file);
            let _ = std::fs::remove_file(part);
            return Err(http(format!(
                "the server sent more than the {total} bytes the registry names; the partial \
                 download was removed"
            )));
        }
        file.write_all(&buffer[..n])
            .map_err(RegistryError::io(part))?;
        held += n as u64;
        progress(held);
    }
    file.flush().map_err(RegistryError::io(part))?;
    Ok(())
}
