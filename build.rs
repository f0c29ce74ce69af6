//! Generates `include/pancseg.h` from the C boundary in `src/ffi/` with cbindgen (from
//! `src/ffi/mod.rs`, whose `mod` declarations cbindgen follows into every file of the folder).
//!
//! The header is always written to `$OUT_DIR/pancseg.h`. Outside CI (the `CI` environment
//! variable unset) it is also copied to `include/pancseg.h` when it changed, so developers commit
//! an up-to-date header; in CI the committed file is left alone and the `header_is_current` test
//! fails when it is stale.

use std::path::PathBuf;

/// The ABI major of the C library: the number in its SONAME (`libpancseg.so.N`) and its symbol
/// version (`PANCSEG_N`). It changes only when a binary built against an earlier header could
/// misbehave with this library (docs/abi.md).
const ABI_MAJOR: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CI");
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let patch = std::env::var("CARGO_PKG_VERSION_PATCH").unwrap_or_default();
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    config.after_includes = Some(format!(
        "\n#define PANCSEG_VERSION_MAJOR {major}\n#define PANCSEG_VERSION_MINOR {minor}\n#define PANCSEG_VERSION_PATCH {patch}\n#define PANCSEG_VERSION_STRING \"{major}.{minor}.{patch}\"\n#define PANCSEG_ABI_MAJOR {ABI_MAJOR}"
    ));
    // the shared library names its ABI (scripts/install.sh links the installed one with the
    // same SONAME and the symbol version PANCSEG_<ABI_MAJOR>, packaging/link-c-library.sh)
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpancseg.so.{ABI_MAJOR}");
    // cbindgen follows the `mod` declarations of src/ffi/mod.rs into every file of the folder
    for entry in std::fs::read_dir(crate_dir.join("src/ffi")).expect("src/ffi is readable") {
        println!(
            "cargo:rerun-if-changed={}",
            entry.expect("src/ffi entry").path().display()
        );
    }
    let builder = cbindgen::Builder::new().with_src(crate_dir.join("src/ffi/mod.rs"));
    let bindings = builder
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let generated = out_dir.join("pancseg.h");
    bindings.write_to_file(&generated);
    if std::env::var_os("CI").is_none() {
        let target = crate_dir.join("include").join("pancseg.h");
        let new = std::fs::read(&generated).expect("generated header is readable");
        if std::fs::read(&target).ok().as_deref() != Some(new.as_slice()) {
            std::fs::create_dir_all(target.parent().expect("include dir"))
                .expect("create include/");
            std::fs::write(&target, new).expect("write include/pancseg.h");
        }
    }
}
