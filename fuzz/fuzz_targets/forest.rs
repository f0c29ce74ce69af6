//! Fuzz target: see `pancseg::fuzz_harness::forest`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pancseg::fuzz_harness::forest(data));
