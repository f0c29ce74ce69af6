//! Hands the allocator's free memory back to the operating system between pipeline stages.
//!
//! The stages allocate and free large buffers on several threads (superpixel graphs, feature
//! rows, network batches). glibc's malloc keeps freed blocks in per-thread arenas, and once a
//! large block has been freed it raises its mmap threshold, so later blocks of that size come
//! from the arenas too and stay resident after they are freed. That retained memory adds
//! directly to the run's peak, which the memory target bounds. `malloc_trim(0)` releases the
//! free pages of every arena (a few milliseconds); other allocators and platforms return
//! memory on their own terms, and there the call is a no-op.

/// Releases free heap memory to the operating system where the allocator allows it.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the allocator's own locks and only returns free pages; it
    // touches no memory owned by the program.
    unsafe {
        libc::malloc_trim(0);
    }
}
