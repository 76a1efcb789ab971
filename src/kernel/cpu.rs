//! Hand-written CPU kernels on raw row-major `f32` slices.
//!
//! Every function here is a pure function of its slices (no burn types), so it can be used and
//! tested without a tensor library. Conventions:
//! - a matrix is a row-major `&[f32]` plus its row width `f` (`x.len() == rows * f`);
//! - index slices may be any [`Index`] type (`u32`, `i32`, `i64`, `usize`), so the zero-copy
//!   views of burn's I32 (Flex) and I64 (NdArray) index tensors can be passed directly;
//! - every output is a fresh, uninitialized `Vec<f32>` whose rows are split into cache-sized
//!   chunks; each chunk is computed by exactly one rayon worker (no atomics, no locks), so
//!   results do not depend on the number of threads;
//! - a worker writes its chunk strictly row after row through a write cursor (`Rows`), the
//!   only way to initialize output memory: no zero-fill pass, and the chunk is checked to be
//!   completely written before the output is handed out;
//! - outputs of at least [`STREAM_MIN_BYTES`] are written with non-temporal stores on x86-64
//!   (no write-allocate read of the output, no eviction of the inputs); smaller outputs, which
//!   the next op will read from cache, use ordinary stores;
//! - inner loops are plain loops over contiguous feature rows, which LLVM vectorizes.
//!
//! Runs on the current rayon pool: wrap a call in `ThreadPool::install` to choose the threads.
//!
//! # Panics
//! The functions panic (never read or write out of bounds, never produce uninitialized memory)
//! when their index arguments violate the documented invariants, e.g. an index past the end of
//! `x`, decreasing offsets, or (for the D-MPNN kernels) a reverse edge outside its molecule.
//! [`super::GraphIndex::new`] checks all of these once per batch, so through the tensor API they
//! are internal invariants.

use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Bytes of output one rayon task produces (about an L2 cache), for row-chunked kernels.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// Outputs of at least this many bytes are written with non-temporal (streaming) stores: they
/// do not fit the last-level cache together with their input, so the next op reads them from
/// memory anyway, and streaming saves the write-allocate read of every output line.
pub const STREAM_MIN_BYTES: usize = 16 << 20;

/// An integer type usable as a row index or offset.
pub trait Index: Copy + Send + Sync {
    /// The value as `usize`. Negative values map to huge numbers, so they fail bounds checks.
    fn ix(self) -> usize;
}

macro_rules! impl_index {
    ($($t:ty),*) => {$(
        impl Index for $t {
            #[inline(always)]
            fn ix(self) -> usize {
                self as usize
            }
        }
    )*};
}
impl_index!(u32, i32, i64, usize);

#[inline(always)]
fn row(x: &[f32], f: usize, r: usize) -> &[f32] {
    &x[r * f..(r + 1) * f]
}

#[inline(always)]
fn row_mut(x: &mut [f32], f: usize, r: usize) -> &mut [f32] {
    &mut x[r * f..(r + 1) * f]
}

#[inline(always)]
fn add_assign(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += *s;
    }
}

/// Asks the cache hierarchy for row `r` of `x` ahead of use (a hint; no-op off x86-64 or when
/// `r` is out of range).
#[inline(always)]
fn prefetch_row(x: &[f32], f: usize, r: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = r.checked_mul(f).and_then(|a| x.get(a..a.checked_add(f)?)) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        for off in (0..s.len()).step_by(16) {
            // SAFETY: SSE is part of the x86-64 baseline; a prefetch never faults and has no
            // memory effect, and the address `s[off]` is inside the slice `s` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(s.as_ptr().add(off).cast()) };
        }
    }
    let _ = (x, f, r);
}

/// Writes `dst[i] = el(i)` for every `i`, with ordinary or (if `nt`) non-temporal stores.
#[inline(always)]
fn put(dst: &mut [MaybeUninit<f32>], nt: bool, el: impl Fn(usize) -> f32) {
    #[cfg(target_arch = "x86_64")]
    if nt {
        use std::arch::x86_64::{_mm_set_ps, _mm_stream_ps};
        let n = dst.len();
        // Elements before the first 16-byte boundary (ordinary stores).
        let head = dst.as_ptr().align_offset(16).min(n);
        for (i, d) in dst[..head].iter_mut().enumerate() {
            d.write(el(i));
        }
        let mut i = head;
        while i + 4 <= n {
            let p = dst[i..i + 4].as_mut_ptr().cast::<f32>();
            let (x0, x1, x2, x3) = (el(i), el(i + 1), el(i + 2), el(i + 3));
            // SAFETY: SSE is part of the x86-64 baseline, so both intrinsics are available.
            // `p` points to 4 elements of `dst` (the bounds-checked subslice
            // `dst[i..i + 4]`, and `i + 4 <= n`), writable and 16-byte aligned because
            // `dst[head]` is aligned and `i - head` is a multiple of 4 floats. Writing an
            // `f32` into `MaybeUninit<f32>` memory is always valid.
            unsafe { _mm_stream_ps(p, _mm_set_ps(x3, x2, x1, x0)) };
            i += 4;
        }
        for (j, d) in dst[i..].iter_mut().enumerate() {
            d.write(el(i + j));
        }
        return;
    }
    let _ = nt;
    for (i, d) in dst.iter_mut().enumerate() {
        d.write(el(i));
    }
}

/// Makes the non-temporal stores of this thread visible before it signals completion.
#[inline(always)]
fn store_fence(nt: bool) {
    #[cfg(target_arch = "x86_64")]
    if nt {
        // SAFETY: SSE is part of the x86-64 baseline; a fence has no memory-safety effect.
        unsafe { std::arch::x86_64::_mm_sfence() };
    }
    let _ = nt;
}

/// Write cursor over one output chunk: rows are written in order, each exactly once.
///
/// This is the only way the kernels initialize output memory; [`par_build`] checks that the
/// cursor reached the end of its chunk before treating the chunk as initialized.
struct Rows<'a> {
    buf: &'a mut [MaybeUninit<f32>],
    f: usize,
    pos: usize,
    nt: bool,
}

impl Rows<'_> {
    /// The next row to write (panics when the chunk is full).
    #[inline(always)]
    fn next(&mut self) -> &mut [MaybeUninit<f32>] {
        let start = self.pos;
        self.pos += self.f;
        &mut self.buf[start..self.pos]
    }

    /// Next row `= src`.
    #[inline(always)]
    fn copy(&mut self, src: &[f32]) {
        let nt = self.nt;
        let dst = self.next();
        let src = &src[..dst.len()];
        put(dst, nt, |i| src[i]);
    }

    /// Next row `= c · src`.
    #[inline(always)]
    fn scaled(&mut self, src: &[f32], c: f32) {
        if c == 1.0 {
            return self.copy(src);
        }
        let nt = self.nt;
        let dst = self.next();
        let src = &src[..dst.len()];
        put(dst, nt, |i| src[i] * c);
    }

    /// Next row `= a − b`.
    #[inline(always)]
    fn sub(&mut self, a: &[f32], b: &[f32]) {
        let nt = self.nt;
        let dst = self.next();
        let (a, b) = (&a[..dst.len()], &b[..dst.len()]);
        put(dst, nt, |i| a[i] - b[i]);
    }
}

/// Per-task scratch buffers (reused across the chunks one rayon task computes).
#[derive(Default)]
struct Scratch {
    /// Feature rows (an accumulator row, or one row per atom of a chunk).
    rows: Vec<f32>,
    /// Chunk-local source atom of each edge of a chunk.
    src: Vec<u32>,
}

/// Row boundaries `0, k, 2k, …, rows` with `k` rows of width `f` filling about [`CHUNK_BYTES`].
fn uniform_bounds(rows: usize, f: usize) -> Vec<usize> {
    let k = (CHUNK_BYTES / (4 * f.max(1))).max(1);
    let mut b: Vec<usize> = (0..rows).step_by(k).collect();
    b.push(rows);
    b
}

/// Allocates a `rows × f` output and fills it chunk by chunk in parallel.
///
/// `bounds` are row boundaries (`bounds[0] == 0`, last == `rows`, non-decreasing). Chunk `k`
/// covers rows `bounds[k]..bounds[k+1]`; `body(k, first_row, rows, scratch)` must write all of
/// its rows, in order, through the cursor `rows` (checked: a chunk left short panics). The
/// allocation is never zero-filled (neither by the allocator nor by the kernels).
fn par_build<F>(rows: usize, f: usize, bounds: &[usize], body: F) -> Vec<f32>
where
    F: Fn(usize, usize, &mut Rows<'_>, &mut Scratch) + Sync,
{
    assert!(
        bounds.first() == Some(&0) && bounds.last() == Some(&rows),
        "chunk bounds must cover all rows"
    );
    let len = rows * f;
    let nt = len * 4 >= STREAM_MIN_BYTES;
    let mut out: Vec<MaybeUninit<f32>> = Vec::with_capacity(len);
    // SAFETY: MaybeUninit<f32> needs no initialization.
    unsafe { out.set_len(len) };
    let mut chunks = Vec::with_capacity(bounds.len().saturating_sub(1));
    let mut rest: &mut [MaybeUninit<f32>] = &mut out;
    for (k, w) in bounds.windows(2).enumerate() {
        assert!(w[0] <= w[1], "chunk bounds must be non-decreasing");
        let (head, tail) = rest.split_at_mut((w[1] - w[0]) * f);
        chunks.push((k, w[0], head));
        rest = tail;
    }
    chunks
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, (k, r0, chunk)| {
            let len = chunk.len();
            let mut cursor = Rows {
                buf: chunk,
                f,
                pos: 0,
                nt,
            };
            body(k, r0, &mut cursor, scratch);
            store_fence(nt);
            assert_eq!(cursor.pos, len, "kernel left output rows unwritten");
        });
    // Every chunk's cursor reached the end of its chunk (asserted above; a panic in any task
    // propagates out of `for_each_init` before this point), the cursor writes each element it
    // passes, and the chunks tile `out` exactly (asserted above): every element is initialized.
    let mut out = std::mem::ManuallyDrop::new(out);
    // SAFETY: same allocation, length and capacity; every element is an initialized f32, and
    // MaybeUninit<f32> has the same layout as f32.
    unsafe { Vec::from_raw_parts(out.as_mut_ptr().cast::<f32>(), out.len(), out.capacity()) }
}

/// Row gather: `out[i] = x[idx[i]]` (`x` is `n × f`, output `idx.len() × f`).
pub fn gather_rows<I: Index>(x: &[f32], f: usize, idx: &[I]) -> Vec<f32> {
    let rows = idx.len();
    if f == 0 {
        return Vec::new();
    }
    par_build(rows, f, &uniform_bounds(rows, f), |k, r0, out, _| {
        let _ = k;
        let n = out.buf.len() / f;
        for &i in &idx[r0..r0 + n] {
            out.copy(row(x, f, i.ix()));
        }
    })
}

/// How many output rows ahead [`csr_sum`] prefetches its scattered input rows.
const CSR_PREFETCH: usize = 2;

/// CSR row sum: `out[r] = Σ_{j ∈ offsets[r]..offsets[r+1]} x[items[j]]`
/// (output `(offsets.len() − 1) × f`; an empty row gives zeros).
///
/// This is the scatter-add adjoint of [`gather_rows`] when `(offsets, items)` is the CSR of
/// `idx` grouped by value, done without atomics: each output row is summed by one worker.
pub fn csr_sum<I: Index, J: Index>(x: &[f32], f: usize, offsets: &[I], items: &[J]) -> Vec<f32> {
    let rows = offsets.len().saturating_sub(1);
    if f == 0 {
        return Vec::new();
    }
    par_build(rows, f, &uniform_bounds(rows, f), |_, r0, out, s| {
        s.rows.clear();
        s.rows.resize(f, 0.0);
        let acc = &mut s.rows[..];
        for r in r0..r0 + out.buf.len() / f {
            let (a, b) = (offsets[r].ix(), offsets[r + 1].ix());
            // The input rows are scattered: fetch those of a later output row meanwhile.
            if let (Some(p), Some(q)) = (
                offsets.get(r + CSR_PREFETCH),
                offsets.get(r + CSR_PREFETCH + 1),
            ) {
                for j in items.get(p.ix()..q.ix()).unwrap_or(&[]) {
                    prefetch_row(x, f, j.ix());
                }
            }
            acc.fill(0.0);
            for &j in &items[a..b] {
                add_assign(acc, row(x, f, j.ix()));
            }
            out.copy(acc);
        }
    })
}

fn segment_factor<I: Index>(offsets: &[I], s: usize, mean: bool, scale: f32) -> f32 {
    if mean {
        let n = offsets[s + 1].ix() - offsets[s].ix();
        if n == 0 { 0.0 } else { scale / n as f32 }
    } else {
        scale
    }
}

/// Contiguous segment reduction: `out[s] = c_s · Σ_{i ∈ offsets[s]..offsets[s+1]} x[i]` with
/// `c_s = scale / count_s` if `mean` (0 for an empty segment) else `c_s = scale`.
/// Output `(offsets.len() − 1) × f`.
pub fn segment_reduce<I: Index>(
    x: &[f32],
    f: usize,
    offsets: &[I],
    mean: bool,
    scale: f32,
) -> Vec<f32> {
    let rows = offsets.len().saturating_sub(1);
    if f == 0 {
        return Vec::new();
    }
    par_build(rows, f, &uniform_bounds(rows, f), |_, r0, out, sc| {
        sc.rows.clear();
        sc.rows.resize(f, 0.0);
        let acc = &mut sc.rows[..];
        for s in r0..r0 + out.buf.len() / f {
            let (a, b) = (offsets[s].ix(), offsets[s + 1].ix());
            acc.fill(0.0);
            for i in a..b {
                add_assign(acc, row(x, f, i));
            }
            out.scaled(acc, segment_factor(offsets, s, mean, scale));
        }
    })
}

/// Adjoint of [`segment_reduce`]: `out[i] = c_s · g[s]` for every `i` in segment `s`
/// (output `offsets.last() × f`; `offsets[0]` must be 0).
pub fn segment_broadcast<I: Index>(
    g: &[f32],
    f: usize,
    offsets: &[I],
    mean: bool,
    scale: f32,
) -> Vec<f32> {
    let rows = offsets.last().map_or(0, |o| o.ix());
    if f == 0 {
        return Vec::new();
    }
    assert!(offsets[0].ix() == 0, "segment offsets must start at 0");
    par_build(rows, f, &uniform_bounds(rows, f), |_, r0, out, _| {
        let r1 = r0 + out.buf.len() / f;
        // First segment whose end is past r0.
        let mut s = offsets.partition_point(|o| o.ix() <= r0).saturating_sub(1);
        let mut i = r0;
        while i < r1 {
            let end = offsets[s + 1].ix().min(r1);
            let c = segment_factor(offsets, s, mean, scale);
            let src = row(g, f, s);
            for _ in i..end {
                out.scaled(src, c);
            }
            i = i.max(end);
            s += 1;
        }
    })
}

/// Chunk plan for the D-MPNN kernels: atom and edge boundaries at molecule boundaries, so that
/// an edge and its reverse always fall into the same chunk.
fn molecule_chunks<I: Index>(
    f: usize,
    out_offsets: &[I],
    atom_offsets: &[I],
) -> (Vec<usize>, Vec<usize>) {
    let target = (CHUNK_BYTES / (4 * f.max(1))).max(1);
    let mut atoms = vec![0usize];
    let mut edges = vec![0usize];
    for m in 1..atom_offsets.len() {
        let a = atom_offsets[m].ix();
        let e = out_offsets[a].ix();
        let last = *edges.last().unwrap_or(&0);
        if e - last >= target || m + 1 == atom_offsets.len() {
            atoms.push(a);
            edges.push(e);
        }
    }
    (atoms, edges)
}

/// Fills `src[e − e0]` with the chunk-local source atom `v − v0` of each edge `e` of a chunk
/// (atoms `v0..v1`, edges `e0..e0 + src.len()`).
fn chunk_sources<I: Index>(src: &mut Vec<u32>, out_offsets: &[I], v0: usize, v1: usize, e0: usize) {
    src.clear();
    for v in v0..v1 {
        let (a, b) = (out_offsets[v].ix(), out_offsets[v + 1].ix());
        assert!(a == e0 + src.len(), "out_offsets must not decrease");
        src.resize(src.len() + (b - a), (v - v0) as u32);
    }
}

/// Fused D-MPNN directed-edge message: `m[e] = Σ_{k→v} h[k→v] − h[rev(e)]` for `e = v→w`.
///
/// Two passes per chunk of whole molecules (about [`CHUNK_BYTES`] of rows), both over rows in
/// storage order: (1) the chunk's `h` rows are read once, sequentially, and each is added to
/// the chunk-local atom sum `a[target(e')]` (`target(e') = source(rev(e'))`), which stays in
/// cache; (2) the output rows are written in order as `m[e] = a[source(e)] − h[rev(e)]`, the
/// `h` row being re-read from cache. Memory traffic is one read of `h` and one (streamed)
/// write of `m`; no gathered `E × f` copy is materialized.
///
/// Inputs: `h` is `E × f` with `E == reverse.len()`; edges sorted by source with CSR
/// `out_offsets` (`n_atoms + 1`); `atom_offsets` (`n_molecules + 1`, starting at 0) gives
/// molecules, and `reverse[e]` must lie in the molecule of `e`.
pub fn dmpnn_message<I: Index>(
    h: &[f32],
    f: usize,
    out_offsets: &[I],
    reverse: &[I],
    atom_offsets: &[I],
) -> Vec<f32> {
    let rows = reverse.len();
    if f == 0 {
        return Vec::new();
    }
    let (atoms, edges) = molecule_chunks(f, out_offsets, atom_offsets);
    par_build(rows, f, &edges, |k, e0, out, s| {
        let (v0, v1, e1) = (atoms[k], atoms[k + 1], edges[k + 1]);
        chunk_sources(&mut s.src, out_offsets, v0, v1, e0);
        let src = &s.src[..];
        s.rows.clear();
        s.rows.resize((v1 - v0) * f, 0.0);
        let acc = &mut s.rows[..];
        // Pass 1: a[target(e)] += h[e], h read in order.
        for (e, &r) in (e0..e1).zip(&reverse[e0..e1]) {
            let t = src[r.ix().wrapping_sub(e0)] as usize;
            add_assign(row_mut(acc, f, t), row(h, f, e));
        }
        // Pass 2: m[e] = a[source(e)] − h[rev(e)], m written in order.
        for (&v, &r) in src.iter().zip(&reverse[e0..e1]) {
            out.sub(row(acc, f, v as usize), row(h, f, r.ix()));
        }
    })
}

/// Adjoint of [`dmpnn_message`]: `g_h[e'] = Σ_{e ∈ out(target(e'))} g[e] − g[rev(e')]`.
///
/// Same two-pass shape as the forward: (1) `s[t] = Σ_{e ∈ out(t)} g[e]` for every atom of the
/// chunk, reading the chunk's `g` rows once in order; (2) the output rows in order as
/// `g_h[e'] = s[source(rev(e'))] − g[rev(e')]`, re-reading `g` from cache. Same arguments as
/// the forward.
pub fn dmpnn_message_backward<I: Index>(
    g: &[f32],
    f: usize,
    out_offsets: &[I],
    reverse: &[I],
    atom_offsets: &[I],
) -> Vec<f32> {
    let rows = reverse.len();
    if f == 0 {
        return Vec::new();
    }
    let (atoms, edges) = molecule_chunks(f, out_offsets, atom_offsets);
    par_build(rows, f, &edges, |k, e0, out, s| {
        let (v0, v1, e1) = (atoms[k], atoms[k + 1], edges[k + 1]);
        chunk_sources(&mut s.src, out_offsets, v0, v1, e0);
        let src = &s.src[..];
        s.rows.clear();
        s.rows.resize((v1 - v0) * f, 0.0);
        let acc = &mut s.rows[..];
        // Pass 1: s[t] = Σ_{e ∈ out(t)} g[e], g read in order.
        for (e, &t) in (e0..e1).zip(src) {
            add_assign(row_mut(acc, f, t as usize), row(g, f, e));
        }
        // Pass 2: g_h[e'] = s[source(rev(e'))] − g[rev(e')], g_h written in order.
        for &r in &reverse[e0..e1] {
            let r = r.ix();
            let t = src[r.wrapping_sub(e0)] as usize;
            out.sub(row(acc, f, t), row(g, f, r));
        }
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    // Two molecules: a 3-chain 0-1-2 (edges 0:0→1, 1:1→0, 2:1→2, 3:2→1) and a single atom 3.
    const OUT: [u32; 5] = [0, 1, 3, 4, 4];
    const REV: [u32; 4] = [1, 0, 3, 2];
    const ATOMS: [u32; 3] = [0, 3, 4];

    #[test]
    fn dmpnn_small_chain() {
        let h = [1.0, 2.0, 3.0, 4.0]; // f = 1
        let m = dmpnn_message(&h, 1, &OUT, &REV, &ATOMS);
        // atom 0 incoming {1}: m0 = h1 - h1 = 0; atom 1 incoming {0, 3}: m1 = 1+4-h0 = 4,
        // m2 = 5 - h3 = 1; atom 2 incoming {2}: m3 = 0.
        assert_eq!(m, vec![0.0, 4.0, 1.0, 0.0]);
        let g = dmpnn_message_backward(&[1.0, 10.0, 100.0, 1000.0], 1, &OUT, &REV, &ATOMS);
        // <A h, g> = <h, A^T g> for h = unit vectors.
        for e in 0..4 {
            let mut u = [0.0; 4];
            u[e] = 1.0;
            let au = dmpnn_message(&u, 1, &OUT, &REV, &ATOMS);
            let lhs: f32 = au
                .iter()
                .zip([1.0, 10.0, 100.0, 1000.0])
                .map(|(a, b)| a * b)
                .sum();
            assert_eq!(lhs, g[e]);
        }
    }

    /// Outputs past [`STREAM_MIN_BYTES`] take the streaming-store path; an odd row width makes
    /// rows start unaligned, exercising the scalar head and tail of every row.
    #[test]
    fn large_outputs_match_naive() {
        let f = 1001;
        let n_mol = (STREAM_MIN_BYTES / (4 * 4 * f)) + 3;
        let (mut out, mut rev, mut atoms) = (vec![0u32], Vec::new(), vec![0u32]);
        for m in 0..n_mol as u32 {
            let (a, e) = (3 * m, 4 * m);
            out.extend([e + 1, e + 3, e + 4]);
            rev.extend(REV.iter().map(|r| r + e));
            atoms.push(a + 3);
        }
        let rows = rev.len();
        assert!(rows * f * 4 >= STREAM_MIN_BYTES);
        let h: Vec<f32> = (0..rows * f).map(|i| (i % 97) as f32 - 40.0).collect();
        let src: Vec<usize> = (0..rows)
            .map(|e| out.partition_point(|&o| o as usize <= e) - 1)
            .collect();
        let m = dmpnn_message(&h, f, &out, &rev, &atoms);
        let gb = dmpnn_message_backward(&h, f, &out, &rev, &atoms);
        for e in 0..rows {
            let (v, t) = (src[e], src[rev[e] as usize]);
            for j in [0, 1, 2, 3, f / 2, f - 1] {
                let at = |w: usize, k: &dyn Fn(usize) -> usize| -> f32 {
                    (out[w] as usize..out[w + 1] as usize)
                        .map(|x| h[k(x) * f + j])
                        .sum()
                };
                let fwd = at(v, &|x| rev[x] as usize) - h[rev[e] as usize * f + j];
                assert_eq!(m[e * f + j], fwd, "forward row {e} col {j}");
                let bwd = at(t, &|x| x) - h[rev[e] as usize * f + j];
                assert_eq!(gb[e * f + j], bwd, "backward row {e} col {j}");
            }
        }
        let idx: Vec<u32> = (0..rows as u32).rev().collect();
        let gathered = gather_rows(&h, f, &idx);
        assert!(
            gathered
                .chunks_exact(f)
                .zip(&idx)
                .all(|(r, &i)| r == row(&h, f, i as usize))
        );
    }

    #[test]
    fn segments_and_empty() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 3 rows, f = 2
        let off = [0i64, 2, 2, 3];
        assert_eq!(
            segment_reduce(&x, 2, &off, true, 1.0),
            vec![2.0, 3.0, 0.0, 0.0, 5.0, 6.0]
        );
        let b = segment_broadcast(&[1.0, 1.0, 7.0, 7.0, 2.0, 2.0], 2, &off, false, 0.5);
        assert_eq!(b, vec![0.5, 0.5, 0.5, 0.5, 1.0, 1.0]);
        assert!(segment_reduce(&x, 2, &[0i32], false, 1.0).is_empty());
        assert!(gather_rows::<u32>(&x, 2, &[]).is_empty());
        assert_eq!(
            csr_sum(&x, 2, &[0u32, 0, 2], &[2i32, 0]),
            vec![0.0, 0.0, 6.0, 8.0]
        );
    }
}
