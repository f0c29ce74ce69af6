//! Fuzz target: see `pancseg::fuzz_harness::manifest`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pancseg::fuzz_harness::manifest(data));
