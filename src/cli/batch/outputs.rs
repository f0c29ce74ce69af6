//! A case's output folder: files written atomically (a temporary name in the same folder, then
//! a rename, so a kill at any point leaves either the old file or the new one, never half of
//! one), and the case report that is written last and lists every output with its size and
//! SHA-256. A case counts as done only when its report says `ok`, was made with the same
//! settings, and every output it lists is there with that size and hash; anything else (no
//! report, a failed case, a missing or changed file, other settings) is segmented again.

use pancseg::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The name of a case's report in its folder.
pub const REPORT: &str = "report.json";

/// One output file as the report records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What a run must match for an earlier case report to count (the method, the bundle, which
/// outputs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub method: String,
    pub bundle: String,
    pub bundle_id: String,
    pub largest_component: bool,
    pub dicom_seg: bool,
    pub rtstruct: bool,
}

/// The part of a case report that decides whether the case is done.
#[derive(Debug, Clone, Deserialize)]
struct Done {
    status: String,
    settings: Settings,
    outputs: Vec<Output>,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// The temporary name `write` gets for `name` in `dir`: hidden, unique to this process, and
/// ending like `name` (writers choose the format by the extension).
fn temporary(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".tmp-{}-{name}", std::process::id()))
}

/// Writes `dir/name` atomically through `write` (given the temporary path) and returns its
/// record.
pub fn write_atomic(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<Output> {
    let tmp = temporary(dir, name);
    let target = dir.join(name);
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // the data reach the disk before the name does
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&tmp, e))?;
    let bytes = std::fs::metadata(&tmp).map_err(|e| io(&tmp, e))?.len();
    let sha256 = sha256_file(&tmp)?;
    std::fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
    Ok(Output {
        file: name.to_string(),
        bytes,
        sha256,
    })
}

/// Writes a JSON value atomically as `dir/name`.
pub fn write_json_atomic(dir: &Path, name: &str, value: &impl Serialize) -> Result<Output> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| Error::Internal(format!("{name}: {e}")))?;
    write_atomic(dir, name, |p| {
        std::fs::write(p, text + "\n").map_err(|e| io(p, e))
    })
}

/// Whether the case in `dir` is done with these settings (see the module doc).
pub fn is_done(dir: &Path, settings: &Settings) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(REPORT)) else {
        return false;
    };
    let Ok(done) = serde_json::from_str::<Done>(&text) else {
        return false;
    };
    done.status == "ok"
        && &done.settings == settings
        && done.outputs.iter().all(|o| {
            let p = dir.join(&o.file);
            std::fs::metadata(&p).is_ok_and(|m| m.len() == o.bytes)
                && sha256_file(&p).is_ok_and(|h| h == o.sha256)
        })
}

/// Removes what a killed run left behind in `dir`: temporary files of any process.
pub fn remove_temporaries(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            method: "g-p2".into(),
            bundle: "b".into(),
            bundle_id: "x".into(),
            largest_component: false,
            dicom_seg: false,
            rtstruct: false,
        }
    }

    #[test]
    fn a_case_is_done_only_with_its_report_outputs_and_settings() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        assert!(!is_done(dir, &settings()));
        let out = write_atomic(dir, "mask.nii.gz", |p| {
            std::fs::write(p, b"mask").map_err(|e| io(p, e))
        })
        .unwrap();
        assert_eq!(out.bytes, 4);
        assert!(!dir
            .join(format!(".tmp-{}-mask.nii.gz", std::process::id()))
            .exists());
        let report = |status: &str, s: &Settings| serde_json::json!({"status": status, "settings": s, "outputs": [out]});
        write_json_atomic(dir, REPORT, &report("failed", &settings())).unwrap();
        assert!(!is_done(dir, &settings()));
        write_json_atomic(dir, REPORT, &report("ok", &settings())).unwrap();
        assert!(is_done(dir, &settings()));
        let other = Settings {
            rtstruct: true,
            ..settings()
        };
        assert!(!is_done(dir, &other));
        std::fs::write(dir.join("mask.nii.gz"), b"MASK").unwrap(); // same size, other bytes
        assert!(!is_done(dir, &settings()));
        std::fs::remove_file(dir.join("mask.nii.gz")).unwrap();
        assert!(!is_done(dir, &settings()));
        // a failing writer leaves nothing behind
        let e = write_atomic(dir, "seg.dcm", |p| {
            std::fs::write(p, b"half").unwrap();
            Err(Error::Internal("disk full".into()))
        });
        assert!(e.is_err() && !dir.join("seg.dcm").exists());
        std::fs::write(dir.join(".tmp-999-x.dcm"), b"left").unwrap();
        remove_temporaries(dir);
        assert!(!dir.join(".tmp-999-x.dcm").exists());
    }
}
