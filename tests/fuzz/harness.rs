//! The campaign runner: a seeded, deterministic proptest run of mutated seed files through one
//! parser. Each case writes its input to a scratch file (the readers take paths) and calls the
//! target; the only acceptable outcomes are the parser's `Ok` or `Err`. A panic fails the case,
//! proptest shrinks it, and the report prints the minimal mutations and the input as escaped
//! bytes.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use super::alloc;
use super::mutate::{Mutation, escape, mutate, mutations};

/// Cases of a CI sample campaign (all samples together stay well under a minute in debug).
pub const SAMPLE_CASES: u32 = 256;
/// Cases of a full (`--ignored`) campaign.
pub const FULL_CASES: u32 = 100_000;

/// Cases to run: `MOLTX_FUZZ_CASES` when set, else the sample or full default.
pub fn cases(full: bool) -> u32 {
    std::env::var("MOLTX_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { FULL_CASES } else { SAMPLE_CASES })
}

/// A valid input file the mutations start from.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Where it came from (a fixture path or a description).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Seed {
    /// A seed from a fixture file.
    pub fn fixture(path: &str) -> Seed {
        Seed {
            name: path.to_string(),
            bytes: std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}")),
        }
    }

    /// A seed from bytes made at start-up.
    pub fn made(name: &str, bytes: impl Into<Vec<u8>>) -> Seed {
        Seed {
            name: name.to_string(),
            bytes: bytes.into(),
        }
    }
}

/// How a campaign's seeds are stored, which decides the parts a case can mutate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// As they are.
    Plain,
    /// moltx framed files (model, encoder, neighbour files): header or body mutated and
    /// re-framed, or the raw bytes.
    Framed,
    /// Plain text stored gzipped: the text mutated then compressed ([`Part::Body`]), or the
    /// compressed bytes ([`Part::Whole`]).
    Gzip,
}

/// Which part of a framed file (magic, version, header, body, CRC-32) a case mutates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The raw bytes (the checksum then rejects almost every case).
    Whole,
    /// The JSON header, re-framed with valid lengths and checksum.
    Header,
    /// The body (weights, fingerprints), re-framed.
    Body,
}

/// One fuzz case: a seed, the part of it mutated, and the mutations.
#[derive(Debug, Clone)]
pub struct Case {
    /// Index into the campaign's seeds.
    pub seed: usize,
    /// The part mutated.
    pub part: Part,
    /// The mutations, in order.
    pub mutations: Vec<Mutation>,
}

/// What a target saw.
pub type Outcome = Result<bool, TestCaseError>;

/// A parser under test: `Ok(true)` parsed, `Ok(false)` rejected with an error (both fine),
/// `Err` a violated property other than a panic (e.g. a stream that never ends).
pub type Target = dyn Fn(&Path) -> Outcome;

/// One parser's campaign.
pub struct Campaign {
    /// Its name (also the RNG seed and the test names).
    pub name: &'static str,
    /// The file name inputs are written to (its extension selects the format).
    pub file_name: &'static str,
    /// Valid seeds.
    pub seeds: Vec<Seed>,
    /// How the seeds are stored.
    pub encoding: Encoding,
    /// The parser.
    pub target: Box<Target>,
}

/// Little-endian framed file: magic(8) version(4) len(8) header len(8) body crc(4).
fn unframe(bytes: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let h = u64::from_le_bytes(bytes.get(12..20)?.try_into().ok()?) as usize;
    let header = bytes.get(20..20 + h)?;
    let w_at = 20 + h;
    let w = u64::from_le_bytes(bytes.get(w_at..w_at + 8)?.try_into().ok()?) as usize;
    let body = bytes.get(w_at + 8..w_at + 8 + w)?;
    Some((&bytes[..12], header, body))
}

/// Frames `header` and `body` after `prefix` (magic and version), with a valid checksum.
pub fn frame(prefix: &[u8], header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

impl Campaign {
    /// The input of a case.
    pub fn build(&self, case: &Case) -> Vec<u8> {
        let seed = &self.seeds[case.seed].bytes;
        if self.encoding == Encoding::Gzip {
            let text = mutate(
                seed,
                if case.part == Part::Body {
                    &case.mutations
                } else {
                    &[]
                },
            );
            let zipped = gzip(&text);
            return match case.part {
                Part::Body => zipped,
                _ => mutate(&zipped, &case.mutations),
            };
        }
        if self.encoding != Encoding::Framed {
            return mutate(seed, &case.mutations);
        }
        match (case.part, unframe(seed)) {
            (Part::Header, Some((prefix, header, body))) => {
                frame(prefix, &mutate(header, &case.mutations), body)
            }
            (Part::Body, Some((prefix, header, body))) => {
                frame(prefix, header, &mutate(body, &case.mutations))
            }
            _ => mutate(seed, &case.mutations),
        }
    }

    fn strategy(&self) -> impl Strategy<Value = Case> + use<> {
        let part = match self.encoding {
            Encoding::Plain => Just(Part::Whole).boxed(),
            Encoding::Framed => {
                prop_oneof![1 => Just(Part::Whole), 3 => Just(Part::Header), 2 => Just(Part::Body)]
                    .boxed()
            }
            Encoding::Gzip => prop_oneof![1 => Just(Part::Whole), 3 => Just(Part::Body)].boxed(),
        };
        (0..self.seeds.len(), part, mutations()).prop_map(|(seed, part, mutations)| Case {
            seed,
            part,
            mutations,
        })
    }
}

thread_local! {
    /// Set while a campaign runs on this thread: its panics are expected and reported once.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Installs (once) a panic hook that stays silent for campaign threads.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// A fixed 32-byte ChaCha seed per campaign (FNV-1a of its name, mixed with
/// `MOLTX_FUZZ_SEED` when set).
fn rng_seed(name: &str) -> [u8; 32] {
    let extra = std::env::var("MOLTX_FUZZ_SEED").unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        for b in name.bytes().chain(extra.bytes()).chain([i as u8]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    out
}

/// A deterministic runner of `cases` cases for the campaign `name`, without failure files.
pub fn runner(name: &str, cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed(name)),
    )
}

/// Runs `f` with this thread's panics silenced (they become proptest failures).
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    quiet_panics();
    QUIET.with(|q| q.set(true));
    let out = f();
    QUIET.with(|q| q.set(false));
    out
}

/// A scratch directory, in memory (`/dev/shm`) where there is one.
pub fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("moltx-fuzz")
            .tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("moltx-fuzz").tempdir()
    };
    dir.expect("scratch directory")
}

/// Runs the target on every seed as it is: each must parse (`Ok(true)`).
pub fn check_seeds(campaign: &Campaign) {
    let dir = scratch();
    let path = dir.path().join(campaign.file_name);
    for seed in &campaign.seeds {
        let bytes = match campaign.encoding {
            Encoding::Gzip => gzip(&seed.bytes),
            _ => seed.bytes.clone(),
        };
        std::fs::write(&path, bytes).expect("write seed");
        let outcome = (campaign.target)(&path);
        assert!(
            matches!(outcome, Ok(true)),
            "{}: seed {} does not parse: {outcome:?}",
            campaign.name,
            seed.name
        );
    }
}

/// Seconds one case may run before the watchdog aborts the campaign (a hang fails it).
pub const CASE_TIMEOUT_S: u64 = 60;

/// Aborts the process, naming the campaign and its input file, when `progress` stops
/// changing for [`CASE_TIMEOUT_S`] seconds; stops when `progress` is set to `u64::MAX`.
fn watchdog(name: &'static str, input: &'static str, progress: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        let (mut last, mut since) = (progress.load(Ordering::Relaxed), Instant::now());
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let now = progress.load(Ordering::Relaxed);
            if now == u64::MAX {
                return;
            }
            if now != last {
                (last, since) = (now, Instant::now());
            } else if since.elapsed().as_secs() >= CASE_TIMEOUT_S {
                eprintln!(
                    "\nfuzz: campaign {name}: one case has run for {CASE_TIMEOUT_S} s (a hang); \
                     input file {input}"
                );
                std::process::abort();
            }
        }
    });
}

/// Runs `cases` cases of a campaign; panics with the minimal failing input on failure.
pub fn run(campaign: &Campaign, cases: u32) {
    let dir = scratch();
    let path = dir.path().join(campaign.file_name);
    let input: &'static str = Box::leak(path.display().to_string().into_boxed_str());
    alloc::set_current(campaign.name, input);
    let mut runner = runner(campaign.name, cases);
    let (parsed, rejected) = (Cell::new(0u64), Cell::new(0u64));
    let progress = Arc::new(AtomicU64::new(0));
    watchdog(campaign.name, input, progress.clone());
    let start = Instant::now();
    let result = quietly(|| {
        runner.run(&campaign.strategy(), |case| {
            progress.fetch_add(1, Ordering::Relaxed);
            let bytes = campaign.build(&case);
            // A new file (a new inode) per case: libhdf5 recognises an open file by its inode
            // and would reuse what it cached for an earlier case's file it failed to close.
            let _ = std::fs::remove_file(&path);
            std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let counter = if (campaign.target)(&path)? {
                &parsed
            } else {
                &rejected
            };
            counter.set(counter.get() + 1);
            Ok(())
        })
    });
    progress.store(u64::MAX, Ordering::Relaxed);
    eprintln!(
        "fuzz {:<18} {:>7} cases  {:>7} parsed  {:>7} rejected  {:>7.1} s",
        campaign.name,
        cases,
        parsed.get(),
        rejected.get(),
        start.elapsed().as_secs_f64()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            let bytes = campaign.build(&case);
            panic!(
                "fuzz {}: {reason}\nseed: {}\nminimal case: {case:#?}\ninput ({} bytes): b\"{}\"",
                campaign.name,
                campaign.seeds[case.seed].name,
                bytes.len(),
                escape(&bytes)
            );
        }
        Err(TestError::Abort(reason)) => panic!("fuzz {}: aborted: {reason}", campaign.name),
    }
}

/// Fails a case whose stream went on for more items than its input could hold.
pub fn bounded(items: usize, limit: usize, what: &str) -> Result<(), TestCaseError> {
    if items > limit {
        return Err(TestCaseError::fail(format!(
            "{what}: {items} items from an input that can hold at most {limit}"
        )));
    }
    Ok(())
}
