//! [`KernelBackend`] for burn's Flex CPU backend: zero-copy slices in, [`super::cpu`] kernels,
//! the output `Vec<f32>` moved into a new tensor.

use super::{KernelBackend, cpu};
use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, TensorData};
use std::borrow::Cow;

/// Contiguous `f32` view of a 2-D float tensor and its row width (copies only if strided).
///
/// # Panics
/// If the tensor is not 2-D (an internal invariant: the public API checks ranks).
fn floats(x: &FlexTensor) -> (Cow<'_, [f32]>, usize) {
    let shape = x.shape();
    assert_eq!(shape.num_dims(), 2, "kernel inputs are 2-D");
    let f = shape[1];
    let data = match x.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(x.clone().into_data().iter::<f32>().collect()),
    };
    (data, f)
}

macro_rules! ints_fn {
    ($name:ident, $t:ty) => {
        /// Zero-copy view of an index tensor (converts if its dtype or layout differ).
        fn $name(t: &FlexTensor) -> Cow<'_, [$t]> {
            match t.as_slice::<$t>() {
                Some(s) => Cow::Borrowed(s),
                None => Cow::Owned(t.clone().into_data().iter::<$t>().collect()),
            }
        }
    };
}
ints_fn!(ints_i32, i32);
ints_fn!(ints_i64, i64);

fn tensor(data: Vec<f32>, rows: usize, f: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, [rows, f]))
}

/// Runs `$body` with every named index tensor bound as a `Cow<[T]>` of one common index type,
/// chosen from the dtype of the first one (I32 on Flex by default, I64 otherwise).
macro_rules! with_ints {
    ($first:ident $(, $rest:ident)* => $body:expr) => {
        match $first.dtype() {
            DType::I32 => {
                let $first = ints_i32(&$first);
                $(let $rest = ints_i32(&$rest);)*
                $body
            }
            _ => {
                let $first = ints_i64(&$first);
                $(let $rest = ints_i64(&$rest);)*
                $body
            }
        }
    };
}

impl KernelBackend for Flex {
    fn gather_rows(
        x: FlexTensor,
        idx: FlexTensor,
        _inv_offsets: FlexTensor,
        _inv_items: FlexTensor,
    ) -> FlexTensor {
        let (x, f) = floats(&x);
        let rows = idx.shape()[0];
        let out = with_ints!(idx => cpu::gather_rows(&x, f, &idx));
        tensor(out, rows, f)
    }

    fn csr_sum(
        x: FlexTensor,
        offsets: FlexTensor,
        items: FlexTensor,
        _inv_idx: FlexTensor,
    ) -> FlexTensor {
        let (x, f) = floats(&x);
        let rows = offsets.shape()[0].saturating_sub(1);
        let out = with_ints!(offsets, items => cpu::csr_sum(&x, f, &offsets, &items));
        tensor(out, rows, f)
    }

    fn segment_reduce(x: FlexTensor, offsets: FlexTensor, mean: bool, scale: f32) -> FlexTensor {
        let (x, f) = floats(&x);
        let rows = offsets.shape()[0].saturating_sub(1);
        let out = with_ints!(offsets => cpu::segment_reduce(&x, f, &offsets, mean, scale));
        tensor(out, rows, f)
    }

    fn segment_broadcast(g: FlexTensor, offsets: FlexTensor, mean: bool, scale: f32) -> FlexTensor {
        let (g, f) = floats(&g);
        let (out, rows) = with_ints!(offsets => {
            let rows = offsets.last().map_or(0, |&o| o as usize);
            (cpu::segment_broadcast(&g, f, &offsets, mean, scale), rows)
        });
        tensor(out, rows, f)
    }

    fn dmpnn_message(
        h: FlexTensor,
        out_offsets: FlexTensor,
        reverse: FlexTensor,
        atom_offsets: FlexTensor,
    ) -> FlexTensor {
        let (h, f) = floats(&h);
        let rows = reverse.shape()[0];
        let out = with_ints!(out_offsets, reverse, atom_offsets =>
            cpu::dmpnn_message(&h, f, &out_offsets, &reverse, &atom_offsets));
        tensor(out, rows, f)
    }

    fn dmpnn_message_backward(
        g: FlexTensor,
        out_offsets: FlexTensor,
        reverse: FlexTensor,
        atom_offsets: FlexTensor,
    ) -> FlexTensor {
        let (g, f) = floats(&g);
        let rows = reverse.shape()[0];
        let out = with_ints!(out_offsets, reverse, atom_offsets =>
            cpu::dmpnn_message_backward(&g, f, &out_offsets, &reverse, &atom_offsets));
        tensor(out, rows, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx<T: burn::tensor::Element>(v: &[T]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(v.to_vec(), [v.len()]))
    }

    fn vals(t: FlexTensor) -> Vec<f32> {
        t.into_data().iter::<f32>().collect()
    }

    /// The I64 and I32 index paths (NdArray-style and Flex-style) give the same result.
    #[test]
    fn i32_and_i64_indices_agree() {
        // 3-chain 0-1-2 plus a single atom (see cpu tests).
        let (out, rev, atoms) = ([0i64, 1, 3, 4, 4], [1i64, 0, 3, 2], [0i64, 3, 4]);
        let h = tensor(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 4, 2);
        let as32 = |v: &[i64]| idx(&v.iter().map(|&x| x as i32).collect::<Vec<_>>());
        let a = Flex::dmpnn_message(h.clone(), idx(&out), idx(&rev), idx(&atoms));
        let b = Flex::dmpnn_message(h.clone(), as32(&out), as32(&rev), as32(&atoms));
        assert_eq!(idx(&rev).dtype(), DType::I64);
        assert_eq!(vals(a), vals(b));
        let a = Flex::segment_reduce(h.clone(), idx(&[0i64, 1, 4]), true, 1.0);
        let b = Flex::segment_reduce(h, as32(&[0, 1, 4]), true, 1.0);
        assert_eq!(vals(a), vals(b));
    }
}
