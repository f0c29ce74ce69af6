//! The committed C header must be exactly what cbindgen generates from the sources (build.rs
//! writes the generated one to OUT_DIR), and its version macros must match Cargo.toml.

#[test]
fn header_is_current() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/pancseg.h"));
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/pancseg.h"))
            .expect("include/pancseg.h exists");
    assert!(
        generated == committed,
        "include/pancseg.h is stale: rebuild outside CI (cargo build) and commit the header"
    );
}

#[test]
fn header_version_macros_match_cargo() {
    let h =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/pancseg.h")).unwrap();
    for (name, value) in [
        ("PANCSEG_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("PANCSEG_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PANCSEG_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(h.contains(&format!("#define {name} {value}\n")), "{name}");
    }
    assert!(h.contains(&format!(
        "#define PANCSEG_VERSION_STRING \"{}\"",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(h.contains("pancseg_version(void)"));
    assert!(h.contains("PANCSEG_OK = 0"));
}
