//! Replays every fuzz seed (`fuzz/seeds/<target>`) and every regression input found by fuzzing
//! (`tests/fixtures/fuzz-regressions/<target>`) through the fuzz targets' bodies on stable Rust:
//! none may panic. Each regression file was a crash or hang once; its fix is in the commit that
//! added it (docs/robustness.md lists them).

use pancseg::fuzz_harness::TARGETS;
use std::path::PathBuf;

#[test]
fn seeds_and_regressions_do_not_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let mut inputs = 0;
        for dir in [
            root.join("fuzz/seeds").join(name),
            root.join("tests/fixtures/fuzz-regressions").join(name),
        ] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).unwrap();
                let outcome = std::panic::catch_unwind(|| target(&data));
                assert!(outcome.is_ok(), "{name}: {} panicked", f.display());
                inputs += 1;
            }
        }
        assert!(inputs > 0, "{name}: no seed inputs");
        replayed += inputs;
    }
    eprintln!("replayed {replayed} inputs");
}
