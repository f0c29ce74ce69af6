//! The fuzz targets on stable Rust, in `cargo test`:
//! - every fuzz seed (`fuzz/seeds/<target>`) and every input a fuzzing run found once
//!   (`tests/fixtures/fuzz-regressions/<target>`, fixed in the commit that added it; listed in
//!   docs/robustness.md) is replayed: none may panic;
//! - a time-boxed random-mutation pass per target (`PANCSEG_FUZZ_SECONDS`, default 10): seeds
//!   mutated by bit flips, byte and integer overwrites with boundary values, insertions,
//!   deletions, truncation and splicing, from a fixed RNG seed so a failure reproduces. It has no
//!   coverage feedback; the coverage-guided runs are `scripts/fuzz.sh` (cargo-fuzz, nightly). A
//!   failing input is written to `target/fuzz-failures/` and named in the failure.

use pancseg::fuzz_harness::{Target, TARGETS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn inputs(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in [
        root().join("fuzz/seeds").join(name),
        root().join("tests/fixtures/fuzz-regressions").join(name),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            out.push((f, data));
        }
    }
    out
}

#[test]
fn seeds_and_regressions_do_not_panic() {
    for (name, target) in TARGETS {
        let all = inputs(name);
        assert!(!all.is_empty(), "{name}: no seed inputs");
        for (path, data) in all {
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} panicked", path.display());
        }
    }
}

const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    u64::MAX,
    0x7ff8_0000_0000_0000, // f64 NaN
];

fn mutate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.random_range(1..=4) {
        let len = data.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = INTERESTING[rng.random_range(0..5)] as u8;
            }
            2 if len >= 8 => {
                let i = rng.random_range(0..=len - 8);
                let v = INTERESTING[rng.random_range(0..INTERESTING.len())];
                let v = if rng.random_bool(0.5) {
                    v
                } else {
                    v.wrapping_neg()
                };
                let n = [2usize, 4, 8][rng.random_range(0..3)];
                data[i..i + n].copy_from_slice(&v.to_le_bytes()[..n]);
            }
            3 => {
                let i = rng.random_range(0..=len);
                let n = rng.random_range(1..64);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(i..i, bytes);
            }
            4 if len > 1 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(256));
                data.drain(i..i + n);
            }
            5 if len > 0 => data.truncate(rng.random_range(0..len)),
            6 if !other.is_empty() => {
                let i = rng.random_range(0..=len);
                let j = rng.random_range(0..other.len());
                let n = rng.random_range(1..=(other.len() - j).min(512));
                data.splice(i..i, other[j..j + n].iter().copied());
            }
            _ if len >= 4 => {
                // duplicate a chunk (repeated records, repeated files)
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(128));
                let chunk = data[i..i + n].to_vec();
                data.splice(i..i, chunk);
            }
            _ => data.push(rng.random()),
        }
    }
}

/// Longest time one input may take before it counts as a hang.
const SLOW: Duration = Duration::from_secs(5);

fn save_failure(name: &str, tag: &str, data: &[u8]) -> PathBuf {
    let dir = root().join("target/fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{tag}"));
    std::fs::write(&path, data).unwrap();
    path
}

/// Runs mutated inputs for `budget`; returns the number of runs and the slowest run's time.
fn mutation_pass(name: &str, target: Target, budget: Duration) -> (usize, Duration) {
    let seeds: Vec<Vec<u8>> = inputs(name).into_iter().map(|(_, d)| d).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed ^ name.len() as u64);
    let start = Instant::now();
    let (mut runs, mut slowest) = (0, Duration::ZERO);
    while start.elapsed() < budget {
        let mut data = seeds[rng.random_range(0..seeds.len())].clone();
        let other = &seeds[rng.random_range(0..seeds.len())];
        mutate(&mut rng, &mut data, other);
        let t = Instant::now();
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            let path = save_failure(name, &runs.to_string(), &data);
            panic!("{name}: mutated input {} panicked", path.display());
        }
        let took = t.elapsed();
        if took > slowest {
            slowest = took;
            if took > SLOW {
                let path = save_failure(name, &format!("slow-{runs}"), &data);
                panic!("{name}: mutated input {} took {took:?}", path.display());
            }
        }
        runs += 1;
    }
    (runs, slowest)
}

#[test]
fn random_mutations_do_not_panic() {
    let secs: f64 = std::env::var("PANCSEG_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let budget = Duration::from_secs_f64(secs);
    let handles: Vec<_> = TARGETS
        .into_iter()
        .map(|(name, target)| {
            std::thread::spawn(move || (name, mutation_pass(name, target, budget)))
        })
        .collect();
    for h in handles {
        match h.join() {
            Ok((name, (runs, slowest))) => {
                eprintln!("{name}: {runs} mutated inputs in {secs} s, slowest {slowest:?}")
            }
            Err(e) => std::panic::resume_unwind(e),
        }
    }
}
