//! A global allocator that aborts on any single request above [`CAP`], so a parser that lets a
//! header ask for a giant buffer fails the campaign instead of swapping or being OOM-killed.
//! Before aborting it names the campaign and the file holding the input (the scratch
//! directory is not removed on abort).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

/// Largest single allocation a parser may make on the fuzz inputs (all seeds are < 2 MiB).
pub const CAP: usize = 512 << 20;

/// Wraps [`System`], aborting above [`CAP`].
pub struct CappedAlloc;

thread_local! {
    /// The campaign running on this thread and its input file (set by the harness).
    static CURRENT: Cell<(&'static str, &'static str)> = const { Cell::new(("", "")) };
}

/// Records the campaign and input file the next allocations belong to.
pub fn set_current(campaign: &'static str, input: &'static str) {
    CURRENT.with(|c| c.set((campaign, input)));
}

/// Writes `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: usize, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cold]
fn too_big(size: usize) -> ! {
    let (campaign, input) = CURRENT.try_with(Cell::get).unwrap_or(("?", "?"));
    let mut digits = [0u8; 24];
    let mut err = std::io::stderr().lock();
    for part in [
        b"\nfuzz: allocation of ".as_slice(),
        decimal(size, &mut digits),
        b" bytes exceeds the cap (campaign ",
        campaign.as_bytes(),
        b", input file ",
        input.as_bytes(),
        b")\n",
    ] {
        let _ = err.write_all(part);
    }
    std::process::abort()
}

// SAFETY: every call is forwarded to `System` unchanged; the only addition is an abort before
// requests above the cap, which never returns.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > CAP {
            too_big(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > CAP {
            too_big(layout.size());
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > CAP {
            too_big(new_size);
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
