//! Bounded best-K selection: a heap holding at most K rows, so memory is O(K) however long
//! the library is. Ties are broken by the lower row number, so the result equals sorting every
//! row by (value, row) and taking the first K. The value is the task's prediction `ŷ`, or a
//! confidence bound `ŷ ∓ κσ` of it ([`TopK::with_bound`]).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::ScoredRow;
use super::uncertain::ConfidenceBound;

/// Keeps the K best rows by one task's prediction.
#[derive(Debug, Clone)]
pub struct TopK {
    k: usize,
    task: usize,
    ascending: bool,
    bound: Option<ConfidenceBound>,
    heap: BinaryHeap<Ranked>,
}

/// A row with its sort key; "greater" means worse, so the heap's top is the row to evict.
#[derive(Debug, Clone)]
struct Ranked {
    /// The value, negated when lower is better, so that higher is always better.
    key: f64,
    row: ScoredRow,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .total_cmp(&self.key)
            .then(self.row.row.cmp(&other.row.row))
    }
}

impl TopK {
    /// Keeps the `k` rows with the highest (or, `ascending`, lowest) value of task `task`.
    pub fn new(k: usize, task: usize, ascending: bool) -> Self {
        TopK {
            k,
            task,
            ascending,
            bound: None,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// The same selection ranking by the confidence bound `ŷ ∓ κσ` of its task (`σ` the row's
    /// uncertainty, [`ScoredRow::stds`]) instead of `ŷ`; `None` keeps `ŷ`.
    pub fn with_bound(mut self, bound: Option<ConfidenceBound>) -> Self {
        self.bound = bound;
        self
    }

    /// The value a row is ranked by: its prediction, or the bound of it.
    fn value(&self, row: &ScoredRow) -> Option<f64> {
        let value = *row.values.get(self.task)?;
        match &self.bound {
            Some(b) => Some(b.of(value, *row.stds.get(self.task)?)),
            None => Some(value),
        }
    }

    /// Offers a row; rows that failed or whose value (or bound) is NaN are ignored.
    pub fn offer(&mut self, row: &ScoredRow) {
        let Some(value) = self.value(row) else {
            return;
        };
        if value.is_nan() || row.error.is_some() || self.k == 0 {
            return;
        }
        let key = if self.ascending { -value } else { value };
        if self.heap.len() == self.k
            && let Some(worst) = self.heap.peek()
            && (key < worst.key || (key == worst.key && row.row > worst.row.row))
        {
            return;
        }
        self.heap.push(Ranked {
            key,
            row: row.clone(),
        });
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// The kept rows, best first.
    pub fn sorted(&self) -> Vec<ScoredRow> {
        self.heap
            .clone()
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.row)
            .collect()
    }

    /// Rebuilds a selection from rows saved earlier (e.g. from a resume manifest).
    pub fn restore(&mut self, rows: &[ScoredRow]) {
        for row in rows {
            self.offer(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(row: u64, value: f64) -> ScoredRow {
        ScoredRow {
            row,
            values: vec![value],
            ..ScoredRow::default()
        }
    }

    #[test]
    fn equals_full_sort_with_ties_and_nan() {
        let values = [3.0, 1.0, 3.0, f64::NAN, 2.0, 5.0, 2.0, 5.0, 0.5];
        for ascending in [false, true] {
            for k in 0..=values.len() + 1 {
                let mut top = TopK::new(k, 0, ascending);
                for (i, &v) in values.iter().enumerate() {
                    top.offer(&row(i as u64, v));
                }
                let mut all: Vec<(f64, u64)> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_nan())
                    .map(|(i, &v)| (if ascending { -v } else { v }, i as u64))
                    .collect();
                all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let want: Vec<u64> = all.iter().take(k).map(|x| x.1).collect();
                let got: Vec<u64> = top.sorted().iter().map(|r| r.row).collect();
                assert_eq!(got, want, "k={k} ascending={ascending}");
            }
        }
    }

    #[test]
    fn bounds_rank_by_value_minus_kappa_sd() {
        use crate::screen::uncertain::BoundSide;
        // (value, sd): by value 3 > 2 > 1; by value − 2·sd: 1.0 (row 1) > 0.8 (row 2) > −1 (row 0).
        let rows = [(3.0, 2.0), (2.0, 0.5), (1.0, 0.1)];
        let make = |i: usize| ScoredRow {
            row: i as u64,
            values: vec![rows[i].0],
            stds: vec![rows[i].1],
            ..ScoredRow::default()
        };
        let bound = |side| Some(ConfidenceBound { side, kappa: 2.0 });
        let order = |b, ascending| {
            let mut top = TopK::new(3, 0, ascending).with_bound(b);
            (0..3).for_each(|i| top.offer(&make(i)));
            top.sorted().iter().map(|r| r.row).collect::<Vec<_>>()
        };
        assert_eq!(order(None, false), vec![0, 1, 2]);
        assert_eq!(order(bound(BoundSide::Lcb), false), vec![1, 2, 0]);
        assert_eq!(order(bound(BoundSide::Lcb), true), vec![0, 2, 1]);
        // value + 2·sd: 7, 3, 1.2.
        assert_eq!(order(bound(BoundSide::Ucb), false), vec![0, 1, 2]);
        // A row without an uncertainty is not ranked by a bound.
        let mut top = TopK::new(3, 0, false).with_bound(bound(BoundSide::Lcb));
        top.offer(&row(5, 9.0));
        assert!(top.sorted().is_empty());
    }

    #[test]
    fn failed_rows_are_never_selected() {
        let mut top = TopK::new(2, 0, false);
        let mut failed = row(0, 9.0);
        failed.error = Some("bad".into());
        top.offer(&failed);
        top.offer(&row(1, 1.0));
        assert_eq!(top.sorted().len(), 1);
        assert_eq!(top.sorted()[0].row, 1);
    }
}
