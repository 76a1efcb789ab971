//! [`StopFlag`]: asks a long job (a screen, a training run) to stop at its next safe point,
//! from another thread or from its own progress callback. A stopped job returns an error
//! value and leaves what it wrote resumable, as after a kill; nothing unwinds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared "please stop" flag (cloning shares it).
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag: the job stops at its next safe point (after a chunk, an epoch).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`StopFlag::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// True when `flag` is given and raised.
pub fn stop_requested(flag: Option<&StopFlag>) -> bool {
    flag.is_some_and(StopFlag::is_stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let flag = StopFlag::new();
        let other = flag.clone();
        assert!(!stop_requested(Some(&other)) && !stop_requested(None));
        flag.stop();
        assert!(other.is_stopped() && stop_requested(Some(&other)));
    }
}
