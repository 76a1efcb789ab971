//! Running library calls off the interpreter: without the GIL, on a rayon pool of the
//! caller's size, interruptible with Ctrl-C.
//!
//! Python runs signal handlers only on its main thread, so the calling thread stays the
//! watcher: the work runs on a scoped thread while the caller sleeps with the GIL released,
//! waking every [`POLL`] to run `PyErr_CheckSignals`. A pending `KeyboardInterrupt` raises the
//! work's stop flag, which the work checks between chunks (a screen's chunk, a training epoch,
//! a slice of an in-memory batch); the call then returns that `KeyboardInterrupt`.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// How often the waiting caller checks for signals.
const POLL: Duration = Duration::from_millis(50);

/// The stop flag a running call checks between chunks of its work.
#[derive(Debug, Default)]
pub struct Stop(AtomicBool);

impl Stop {
    /// True once the caller asked the work to stop.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn request(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What a call ended with: its value, or the `KeyboardInterrupt` (or other signal handler
/// error) that stopped it.
pub enum Outcome<T> {
    /// The work finished (it may have stopped early on the flag).
    Done(T),
    /// A signal handler raised while the work ran; the work saw the stop flag.
    Interrupted(PyErr, T),
}

impl<T> Outcome<T> {
    /// The value, or the signal's exception when there was one.
    pub fn into_result(self) -> PyResult<T> {
        match self {
            Outcome::Done(v) => Ok(v),
            Outcome::Interrupted(e, _) => Err(e),
        }
    }
}

/// The rayon pool of `threads` threads, built once per size and kept.
fn pool(threads: usize) -> PyResult<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let built = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("moltx-{i}"))
        .build()
        .map_err(|e| PyValueError::new_err(format!("cannot start {threads} threads: {e}")))?;
    let built = Arc::new(built);
    pools.insert(threads, Arc::clone(&built));
    Ok(built)
}

/// Runs `work` without the GIL on a pool of `threads` threads (`None` or 0: rayon's global
/// pool, one thread per core), watching for signals meanwhile. A panic in the work is
/// re-raised here (pyo3 turns it into a `PanicException`).
pub fn run<T, F>(py: Python<'_>, threads: Option<usize>, work: F) -> PyResult<Outcome<T>>
where
    F: FnOnce(&Stop) -> T + Send,
    T: Send,
{
    let pool = match threads {
        Some(n) if n > 0 => Some(pool(n)?),
        _ => None,
    };
    let stop = Stop::default();
    let done = AtomicBool::new(false);
    let caller = std::thread::current();
    let mut interrupt = None;
    let result = std::thread::scope(|s| {
        let (stop, done) = (&stop, &done);
        let handle = s.spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| match &pool {
                Some(p) => p.install(|| work(stop)),
                None => work(stop),
            }));
            done.store(true, Ordering::Release);
            caller.unpark();
            r
        });
        while !done.load(Ordering::Acquire) {
            py.detach(|| std::thread::park_timeout(POLL));
            if interrupt.is_none()
                && let Err(e) = py.check_signals()
            {
                stop.request();
                interrupt = Some(e);
            }
        }
        // A signal that came as the work finished is the call's too, not the caller's next line.
        if interrupt.is_none()
            && let Err(e) = py.check_signals()
        {
            interrupt = Some(e);
        }
        handle.join()
    });
    let value = match result {
        Ok(Ok(v)) => v,
        Ok(Err(payload)) | Err(payload) => resume_unwind(payload),
    };
    Ok(match interrupt {
        Some(e) => Outcome::Interrupted(e, value),
        None => Outcome::Done(value),
    })
}
