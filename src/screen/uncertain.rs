//! What the pipeline adds to a scorer's outputs for uncertainty: `<task>_unc` columns, a
//! calibration applied to every scored row (conformal intervals `<task>_lo`/`<task>_hi`,
//! prediction sets `<task>_set`, recalibrated probabilities or standard deviations), and a
//! top-k selection ranked by a confidence bound.
//!
//! The uncertainty is the scorer's spread ([`crate::model::Scores::spread`]): a standard
//! deviation `σ` per value in the value's units ([`crate::model::uncertainty`]).

use std::sync::Arc;

use super::output::OutputLayout;
use super::{ScoredRow, ScreenError, TopKOption};
use crate::model::Scorer;
use crate::model::calibration::{Calibration, set_label};

/// Which confidence bound ranks a top-k selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BoundSide {
    /// The lower confidence bound `ŷ − κσ` (a pessimistic value: high only when sure).
    Lcb,
    /// The upper confidence bound `ŷ + κσ` (an optimistic value: high when possibly high).
    Ucb,
}

/// A confidence bound `ŷ ∓ κσ` of a value `ŷ` with standard deviation `σ`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceBound {
    /// Lower or upper.
    pub side: BoundSide,
    /// `κ ≥ 0`, the standard deviations below or above the value.
    pub kappa: f64,
}

impl ConfidenceBound {
    /// The signed factor `c` of `ŷ + cσ`: `−κ` for the lower bound, `+κ` for the upper.
    pub fn factor(&self) -> f64 {
        match self.side {
            BoundSide::Lcb => -self.kappa,
            BoundSide::Ucb => self.kappa,
        }
    }

    /// The bound `ŷ + cσ` ([`ConfidenceBound::factor`]).
    pub fn of(&self, value: f64, sd: f64) -> f64 {
        value + self.factor() * sd
    }
}

/// What the pipeline adds for uncertainty; nothing by default.
#[derive(Debug, Clone, Default)]
pub struct UncertaintyOptions {
    /// Write the scorer's spread as `<task>_unc` columns (in place of an ensemble's
    /// `<task>_std`): an uncertainty was asked for. A calibration or a bound implies it.
    pub columns: bool,
    /// Applied to every scored row ([`Calibration::apply`]).
    pub calibration: Option<Arc<Calibration>>,
    /// Ranks the top-k selection by this bound of its task instead of the value.
    pub bound: Option<ConfidenceBound>,
}

impl UncertaintyOptions {
    /// True when nothing is asked for (the output is the scorer's plain one).
    pub fn is_empty(&self) -> bool {
        !self.columns && self.calibration.is_none() && self.bound.is_none()
    }

    /// Checks the options against the scorer and the top-k selection.
    pub(super) fn check(
        &self,
        scorer: &dyn Scorer,
        top_k: Option<&TopKOption>,
    ) -> Result<(), ScreenError> {
        let spread = scorer.has_spread();
        let fail = |m: &str| Err(ScreenError::Options(m.to_string()));
        if let Some(b) = &self.bound {
            if top_k.is_none() {
                return fail("a confidence bound ranks a top-k selection, and none is asked for");
            }
            if !(b.kappa.is_finite() && b.kappa >= 0.0) {
                return Err(ScreenError::Options(format!(
                    "kappa = {} must be a finite number >= 0",
                    b.kappa
                )));
            }
        }
        if (self.columns || self.bound.is_some()) && !spread {
            return fail(
                "an uncertainty was asked for, and the model reports none: use an ensemble (a \
                 folder of models) or MC dropout",
            );
        }
        if let Some(cal) = &self.calibration {
            if cal.model.tasks != scorer.tasks() {
                return fail("the calibration's tasks differ from the model's");
            }
            if cal.needs_spread() && !spread {
                return Err(ScreenError::Options(format!(
                    "the calibration rests on {}, and this model reports no uncertainty",
                    cal.uncertainty
                        .map_or("an uncertainty".to_string(), |u| u.to_string())
                )));
            }
        }
        Ok(())
    }

    /// Adds the options' columns to a layout of the scorer's outputs.
    pub(super) fn extend_layout(&self, layout: &mut OutputLayout) {
        layout.unc = layout.with_std && !self.is_empty();
        if let Some(cal) = &self.calibration {
            layout.intervals = cal.has_intervals();
            layout.sets = cal.has_sets();
        }
    }

    /// What the options add to a run's identity (nothing when empty, so older identities
    /// stay as they were).
    pub(super) fn identity(&self) -> Result<String, ScreenError> {
        if self.is_empty() {
            return Ok(String::new());
        }
        let cal = match &self.calibration {
            Some(c) => c
                .checksum()
                .map_err(|e| ScreenError::Options(e.to_string()))?,
            None => "none".into(),
        };
        Ok(format!(
            " unc={} calibration={cal} bound={:?}",
            self.columns, self.bound
        ))
    }

    /// Calibrates a scored row in place, filling its intervals or sets.
    pub(super) fn apply(&self, row: &mut ScoredRow) {
        let Some(cal) = &self.calibration else {
            return;
        };
        let sds = (!row.stds.is_empty()).then_some(row.stds.as_mut_slice());
        let out = cal.apply(&mut row.values, sds);
        row.lower = out.lower;
        row.upper = out.upper;
        row.sets = out.sets.into_iter().map(|s| set_label(s).into()).collect();
    }
}

/// Serde of bounds that may be infinite: finite values as numbers, others as the strings
/// `"inf"`, `"-inf"` and `"nan"` (JSON has no infinity).
pub(super) mod bounds_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Bound {
        Number(f64),
        Text(String),
    }

    pub(crate) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let out: Vec<Bound> = v
            .iter()
            .map(|&x| match x {
                x if x.is_finite() => Bound::Number(x),
                x if x.is_nan() => Bound::Text("nan".into()),
                x if x > 0.0 => Bound::Text("inf".into()),
                _ => Bound::Text("-inf".into()),
            })
            .collect();
        out.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Bound>::deserialize(d)?
            .into_iter()
            .map(|b| match b {
                Bound::Number(x) => Ok(x),
                Bound::Text(t) => match t.as_str() {
                    "inf" => Ok(f64::INFINITY),
                    "-inf" => Ok(f64::NEG_INFINITY),
                    "nan" => Ok(f64::NAN),
                    other => Err(serde::de::Error::custom(format!("bad bound {other:?}"))),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_move_by_kappa_sds() {
        let lcb = ConfidenceBound {
            side: BoundSide::Lcb,
            kappa: 2.0,
        };
        assert_eq!(lcb.of(1.0, 0.25), 0.5);
        let ucb = ConfidenceBound {
            side: BoundSide::Ucb,
            ..lcb
        };
        assert_eq!(ucb.of(1.0, 0.25), 1.5);
    }

    #[test]
    fn infinite_bounds_survive_a_manifest() {
        let row = ScoredRow {
            lower: vec![f64::NEG_INFINITY, 1.5],
            upper: vec![f64::INFINITY, 2.5],
            sets: vec!["0,1".into(), String::new()],
            ..ScoredRow::default()
        };
        let json = serde_json::to_string(&row).unwrap();
        assert!(
            json.contains("\"-inf\"") && json.contains("\"inf\""),
            "{json}"
        );
        let back: ScoredRow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, row);
        // Rows without bounds serialize as before.
        let plain = serde_json::to_string(&ScoredRow::default()).unwrap();
        assert!(
            !plain.contains("lower") && !plain.contains("sets"),
            "{plain}"
        );
    }
}
