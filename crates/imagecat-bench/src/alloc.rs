//! A counting global allocator: every allocation (and reallocation) made
//! on the client's side of the process (every thread but the emulators'),
//! and the bytes asked for, counted with relaxed atomics over the system
//! allocator. The only `unsafe` of the workspace: `GlobalAlloc` is an
//! unsafe trait.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The system allocator, counting.
#[derive(Debug)]
pub(crate) struct Counting;

static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the emulators' threads: their allocations are the server's.
    static UNCOUNTED: Cell<bool> = const { Cell::new(false) };
}

/// Stops counting the allocations of the calling thread (the emulators'
/// runtime calls it on every thread it starts).
pub(crate) fn exclude_this_thread() {
    UNCOUNTED.with(|c| c.set(true));
}

fn count(size: usize) {
    // During thread teardown the flag is gone: not counted.
    if !UNCOUNTED.try_with(Cell::get).unwrap_or(true) {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(size as u64, Relaxed);
    }
}

/// The counts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Allocs {
    /// Calls of `alloc`, `alloc_zeroed` and `realloc`.
    pub(crate) calls: u64,
    /// Bytes those calls asked for (`realloc`: the new size).
    pub(crate) bytes: u64,
}

impl Allocs {
    /// The counts now.
    pub(crate) fn now() -> Allocs {
        Allocs {
            calls: CALLS.load(Relaxed),
            bytes: BYTES.load(Relaxed),
        }
    }

    /// What was counted since `earlier`.
    pub(crate) fn since(self, earlier: Allocs) -> Allocs {
        Allocs {
            calls: self.calls.saturating_sub(earlier.calls),
            bytes: self.bytes.saturating_sub(earlier.bytes),
        }
    }
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches
// only atomics and a const-initialised thread-local `Cell` (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
