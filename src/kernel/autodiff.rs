//! [`KernelBackend`] for `Autodiff<B>`: every op is linear in its float input, so its backward
//! is its adjoint op, which is itself an op of the trait (and runs the hand-written kernel of `B`):
//!
//! | forward                | backward (adjoint)        |
//! |------------------------|---------------------------|
//! | `gather_rows`          | `csr_sum`                 |
//! | `csr_sum`              | `gather_rows`             |
//! | `segment_reduce`       | `segment_broadcast`       |
//! | `segment_broadcast`    | `segment_reduce`          |
//! | `dmpnn_message`        | `dmpnn_message_backward`  |
//! | `dmpnn_message_backward` | `dmpnn_message`         |
//!
//! The index tensors are not tracked; they are kept in the backward state.

use super::KernelBackend;
use burn::backend::Backend;
use burn::backend::autodiff::{
    Autodiff,
    checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::tensor::{FloatTensor, IntTensor};

/// Which adjoint to run in the backward pass, with the index tensors it needs.
enum Adjoint<B: Backend> {
    /// Backward of `gather_rows(x, idx, inv_offsets, inv_items)`.
    Gather([IntTensor<B>; 3]),
    /// Backward of `csr_sum(x, offsets, items, inv_idx)`.
    CsrSum([IntTensor<B>; 3]),
    /// Backward of `segment_reduce(x, offsets, mean, scale)`.
    Reduce(IntTensor<B>, bool, f32),
    /// Backward of `segment_broadcast(x, offsets, mean, scale)`.
    Broadcast(IntTensor<B>, bool, f32),
    /// Backward of `dmpnn_message` (`false`) or `dmpnn_message_backward` (`true`).
    Dmpnn([IntTensor<B>; 3], bool),
}

impl<B: Backend> Clone for Adjoint<B> {
    fn clone(&self) -> Self {
        match self {
            Self::Gather(t) => Self::Gather(t.clone()),
            Self::CsrSum(t) => Self::CsrSum(t.clone()),
            Self::Reduce(o, m, s) => Self::Reduce(o.clone(), *m, *s),
            Self::Broadcast(o, m, s) => Self::Broadcast(o.clone(), *m, *s),
            Self::Dmpnn(t, b) => Self::Dmpnn(t.clone(), *b),
        }
    }
}

impl<B: Backend> std::fmt::Debug for Adjoint<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Gather(_) => "gather_rows",
            Self::CsrSum(_) => "csr_sum",
            Self::Reduce(..) => "segment_reduce",
            Self::Broadcast(..) => "segment_broadcast",
            Self::Dmpnn(_, false) => "dmpnn_message",
            Self::Dmpnn(_, true) => "dmpnn_message_backward",
        };
        write!(f, "Adjoint({name})")
    }
}

impl<B: KernelBackend> Adjoint<B> {
    fn apply(self, g: FloatTensor<B>) -> FloatTensor<B> {
        match self {
            Self::Gather([idx, off, items]) => B::csr_sum(g, off, items, idx),
            Self::CsrSum([off, items, inv]) => B::gather_rows(g, inv, off, items),
            Self::Reduce(off, mean, scale) => B::segment_broadcast(g, off, mean, scale),
            Self::Broadcast(off, mean, scale) => B::segment_reduce(g, off, mean, scale),
            Self::Dmpnn([o, r, a], false) => B::dmpnn_message_backward(g, o, r, a),
            Self::Dmpnn([o, r, a], true) => B::dmpnn_message(g, o, r, a),
        }
    }
}

/// The backward step shared by all ops: `grad_input = adjoint(grad_output)`.
#[derive(Debug)]
struct AdjointBackward;

impl<B: KernelBackend> Backward<B, 1> for AdjointBackward {
    type State = Adjoint<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let g = grads.consume::<B>(&ops.node);
        if let Some(parent) = parent {
            grads.register::<B>(parent.id, ops.state.apply(g));
        }
    }
}

/// Runs `forward` on the inner backend and records `adjoint` for the backward pass if `x` is
/// tracked.
fn tracked<B: KernelBackend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    adjoint: Adjoint<B>,
    forward: impl FnOnce(FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    let (x, node) = x.into_parts();
    match AdjointBackward
        .prepare::<C>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(adjoint, forward(x)),
        OpsKind::UnTracked(prep) => prep.finish(forward(x)),
    }
}

impl<B: KernelBackend, C: CheckpointStrategy> KernelBackend for Autodiff<B, C> {
    fn gather_rows(
        x: FloatTensor<Self>,
        idx: IntTensor<Self>,
        inv_offsets: IntTensor<Self>,
        inv_items: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        let adj = Adjoint::Gather([idx.clone(), inv_offsets.clone(), inv_items.clone()]);
        tracked::<B, C>(x, adj, |x| B::gather_rows(x, idx, inv_offsets, inv_items))
    }

    fn csr_sum(
        x: FloatTensor<Self>,
        offsets: IntTensor<Self>,
        items: IntTensor<Self>,
        inv_idx: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        let adj = Adjoint::CsrSum([offsets.clone(), items.clone(), inv_idx.clone()]);
        tracked::<B, C>(x, adj, |x| B::csr_sum(x, offsets, items, inv_idx))
    }

    fn segment_reduce(
        x: FloatTensor<Self>,
        offsets: IntTensor<Self>,
        mean: bool,
        scale: f32,
    ) -> FloatTensor<Self> {
        let adj = Adjoint::Reduce(offsets.clone(), mean, scale);
        tracked::<B, C>(x, adj, |x| B::segment_reduce(x, offsets, mean, scale))
    }

    fn segment_broadcast(
        g: FloatTensor<Self>,
        offsets: IntTensor<Self>,
        mean: bool,
        scale: f32,
    ) -> FloatTensor<Self> {
        let adj = Adjoint::Broadcast(offsets.clone(), mean, scale);
        tracked::<B, C>(g, adj, |g| B::segment_broadcast(g, offsets, mean, scale))
    }

    fn dmpnn_message(
        h: FloatTensor<Self>,
        out_offsets: IntTensor<Self>,
        reverse: IntTensor<Self>,
        atom_offsets: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        let adj = Adjoint::Dmpnn(
            [out_offsets.clone(), reverse.clone(), atom_offsets.clone()],
            false,
        );
        tracked::<B, C>(h, adj, |h| {
            B::dmpnn_message(h, out_offsets, reverse, atom_offsets)
        })
    }

    fn dmpnn_message_backward(
        g: FloatTensor<Self>,
        out_offsets: IntTensor<Self>,
        reverse: IntTensor<Self>,
        atom_offsets: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        let adj = Adjoint::Dmpnn(
            [out_offsets.clone(), reverse.clone(), atom_offsets.clone()],
            true,
        );
        tracked::<B, C>(g, adj, |g| {
            B::dmpnn_message_backward(g, out_offsets, reverse, atom_offsets)
        })
    }
}
