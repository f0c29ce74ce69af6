//! The README's examples are the ones the tests build: its C program is
//! `ffi-tests/link_program.c` (built and run by the ctest `pkg_config_link`), its Rust program
//! is a doctest of the library (`ReadmeDoctests` in `src/lib.rs`).

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The body of the first fenced block of `lang` in `text`.
fn fenced<'a>(text: &'a str, lang: &str) -> Option<&'a str> {
    let open = format!("```{lang}\n");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find("\n```")?;
    Some(&text[start..start + len])
}

#[test]
fn the_c_example_is_the_program_ctest_builds() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let program = std::fs::read_to_string(root().join("ffi-tests/link_program.c")).unwrap();
    let body = program
        .split_once("*/\n")
        .map(|(_, b)| b.trim_matches('\n'))
        .unwrap();
    let example = fenced(&readme, "c").expect("a ```c block in README.md");
    assert_eq!(
        example, body,
        "README.md's C example differs from ffi-tests/link_program.c"
    );
}

#[test]
fn the_rust_example_is_a_doctest() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let example = fenced(&readme, "rust").expect("a ```rust block in README.md");
    assert!(example.contains("Segmenter::new"), "{example}");
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    assert!(lib.contains("#[doc = include_str!(\"../README.md\")]"));
}
