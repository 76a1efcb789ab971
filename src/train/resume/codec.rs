//! Exact, serializable forms of a random stream's position and of an epoch's log line.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::train::trainer::EpochRecord;

/// A random stream's position: ChaCha8 seed, stream and word position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RngState {
    seed: String,
    stream: u64,
    word_pos: String,
}

impl RngState {
    pub(super) fn of(rng: &ChaCha8Rng) -> Self {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    pub(super) fn restore(&self) -> Option<ChaCha8Rng> {
        let mut seed = [0u8; 32];
        if self.seed.len() != 64 {
            return None;
        }
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(self.seed.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().ok()?);
        Some(rng)
    }
}

/// An [`EpochRecord`] with its numbers as bits (exact round trip, NaN included).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RecordBits {
    epoch: usize,
    train_loss: u64,
    val_metric: Option<u64>,
    val_loss: Option<u64>,
    lr: u64,
    seconds: u64,
    molecules_per_second: u64,
}

impl From<&EpochRecord> for RecordBits {
    fn from(r: &EpochRecord) -> Self {
        RecordBits {
            epoch: r.epoch,
            train_loss: r.train_loss.to_bits(),
            val_metric: r.val_metric.map(f64::to_bits),
            val_loss: r.val_loss.map(f64::to_bits),
            lr: r.lr.to_bits(),
            seconds: r.seconds.to_bits(),
            molecules_per_second: r.molecules_per_second.to_bits(),
        }
    }
}

impl From<&RecordBits> for EpochRecord {
    fn from(r: &RecordBits) -> Self {
        EpochRecord {
            epoch: r.epoch,
            train_loss: f64::from_bits(r.train_loss),
            val_metric: r.val_metric.map(f64::from_bits),
            val_loss: r.val_loss.map(f64::from_bits),
            lr: f64::from_bits(r.lr),
            seconds: f64::from_bits(r.seconds),
            molecules_per_second: f64::from_bits(r.molecules_per_second),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn rng_state_round_trips_mid_block() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        rng.set_stream(3);
        for n in [0usize, 1, 15, 16, 63, 64, 100] {
            for _ in 0..n {
                let _: u32 = rng.random();
            }
            let _: u64 = rng.random();
            let mut copy = RngState::of(&rng).restore().unwrap();
            let a: Vec<u64> = (0..50).map(|_| rng.random()).collect();
            let b: Vec<u64> = (0..50).map(|_| copy.random()).collect();
            assert_eq!(a, b);
        }
    }
}
