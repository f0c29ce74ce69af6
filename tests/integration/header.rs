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

/// Every function and enum value of the header, in the form of `tests/fixtures/abi/*.txt`.
fn abi_of(header: &str) -> Vec<String> {
    let mut fns = std::collections::BTreeSet::new();
    let mut enums = Vec::new();
    for line in header.lines() {
        let t = line.trim();
        if t.starts_with('*') || t.starts_with("/*") || t.starts_with("//") {
            continue;
        }
        if let Some((name, value)) = t.trim_end_matches(',').split_once(" = ") {
            if name.starts_with("PANCSEG_") {
                enums.push(format!("enum {name} = {value}"));
            }
        }
        let mut rest = t;
        while let Some(i) = rest.find("pancseg_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if tail[end..].starts_with('(') {
                fns.insert(format!("fn {}", &tail[..end]));
            }
            rest = &tail[end..];
        }
    }
    fns.into_iter().chain(enums).collect()
}

#[test]
fn abi_is_unchanged() {
    let h =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/pancseg.h")).unwrap();
    let expected: Vec<String> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/abi/pancseg-0.1.txt"
    ))
    .unwrap()
    .lines()
    .filter(|l| !l.starts_with('#') && !l.is_empty())
    .map(str::to_string)
    .collect();
    let actual = abi_of(&h);
    assert_eq!(
        actual, expected,
        "the header's functions or enum values differ from tests/fixtures/abi/pancseg-0.1.txt"
    );
    assert_eq!(actual.iter().filter(|l| l.starts_with("fn ")).count(), 27);
}

/// The declarations of `header` that have no doc comment right above them: every function
/// (a line at column 0 naming `pancseg_*(`), every struct field and enum value (a line at two
/// spaces' indentation ending in `;` or `,`, or an enum's last value).
fn undocumented(header: &str) -> Vec<String> {
    let lines: Vec<&str> = header.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let documented = i > 0 && lines[i - 1].trim() == "*/";
        let t = l.trim();
        let function = !l.starts_with(' ')
            && !t.starts_with("typedef")
            && !t.starts_with('#')
            && t.contains("pancseg_")
            && t.contains('(')
            && !t.starts_with("/*")
            && !t.starts_with('*');
        let member = l.starts_with("  ")
            && !l.starts_with("   ")
            && !t.starts_with('*')
            && !t.starts_with("/*")
            && (t.ends_with(';') || t.ends_with(',') || t.starts_with("PANCSEG_"));
        if (function || member) && !documented {
            out.push(t.to_string());
        }
    }
    out
}

#[test]
fn every_c_function_field_and_enum_value_is_documented() {
    let h =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/pancseg.h")).unwrap();
    let missing = undocumented(&h);
    assert!(
        missing.is_empty(),
        "declarations of include/pancseg.h without a doc comment (document them in src/ffi/):\n{}",
        missing.join("\n")
    );
    // the check sees what it must: an undocumented function and field fail it
    let bare = "/**\n * Documented.\n */\nint pancseg_a(void);\nint pancseg_b(void);\ntypedef struct {\n  /**\n   * Documented.\n   */\n  int x;\n  int y;\n} s;\n";
    assert_eq!(undocumented(bare), ["int pancseg_b(void);", "int y;"]);
}
