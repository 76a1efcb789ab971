//! chemprop's learning-rate schedule (its `NoamLR`): linear warm-up from `init_lr` to
//! `max_lr` over `warmup` steps, then exponential decay to `final_lr` at the last step:
//!
//! `lr(s) = init + (max − init)·s/warmup` for `s < warmup`, else
//! `lr(s) = max·(final/max)^{(s − warmup)/(total − warmup)}`.

/// The schedule's parameters, in optimizer steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// Learning rate at step 0.
    pub init_lr: f64,
    /// Learning rate at the end of warm-up.
    pub max_lr: f64,
    /// Learning rate at the last step.
    pub final_lr: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// Total steps.
    pub total_steps: usize,
}

impl LrSchedule {
    /// chemprop's defaults (1e-4 → 1e-3 over 2 epochs → 1e-4) for a run of this shape.
    pub fn chemprop(steps_per_epoch: usize, epochs: usize) -> Self {
        LrSchedule {
            init_lr: 1e-4,
            max_lr: 1e-3,
            final_lr: 1e-4,
            warmup_steps: 2 * steps_per_epoch,
            total_steps: steps_per_epoch * epochs,
        }
    }

    /// The learning rate at optimizer step `step` (0-based).
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.init_lr
                + (self.max_lr - self.init_lr) * step as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
        self.max_lr * (self.final_lr / self.max_lr).powf(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        let s = LrSchedule::chemprop(10, 50);
        assert!((s.at(0) - 1e-4).abs() < 1e-12);
        assert!((s.at(10) - 5.5e-4).abs() < 1e-12);
        assert!((s.at(20) - 1e-3).abs() < 1e-12);
        assert!((s.at(500) - 1e-4).abs() < 1e-12);
        assert!(s.at(300) < s.at(100));
    }
}
