//! The fuzz targets' bodies (cargo-fuzz targets in `fuzz/` call these; `tests/fuzz_replay.rs` runs
//! every seed and every regression input through them on stable Rust, in `cargo test`). Each takes
//! arbitrary bytes and may return any error, but must not panic, abort or hang; where a parse
//! succeeds it checks that the result is consistent. Not part of the supported API.

use crate::ffi::{check_volume, pancseg_status, pancseg_volume};
use crate::io::dicom::series::{
    read_dicom_buffers, read_dicom_dir, read_dicom_files, DicomReadOptions,
};
use crate::io::nifti::{decode_nifti, read_nifti};
use crate::model::bundle::Manifest;
use crate::model::forest::Forest;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, for the replay test.
pub const TARGETS: [(&str, Target); 5] = [
    ("nifti", nifti),
    ("dicom_series", dicom_series),
    ("manifest", manifest),
    ("forest", forest),
    ("ffi_volume", ffi_volume),
];

/// A scratch directory private to this process and thread, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Option<Scratch> {
        let dir = std::env::temp_dir().join(format!(
            "pancseg-fuzz-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok()?;
        Some(Scratch(dir))
    }

    fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The NIfTI reader on arbitrary bytes: raw NIfTI-1 through `decode_nifti`, and gzip input through
/// the file reader (`read_nifti`, which gunzips). Any outcome but a panic, abort or hang is fine;
/// a successful read must give a volume whose geometry validates.
pub fn nifti(data: &[u8]) {
    let result = if data.starts_with(&[0x1f, 0x8b]) {
        let Some(dir) = Scratch::new("nifti") else {
            return;
        };
        let path = dir.join("input.nii.gz");
        if std::fs::write(&path, data).is_err() {
            return;
        }
        read_nifti(&path)
    } else {
        decode_nifti(Path::new("fuzz.nii"), data)
    };
    if let Ok(v) = result {
        assert!(v.volume.geometry.validate().is_ok());
        let [x, y, z] = v.volume.dims_xyz();
        assert_eq!(x * y * z, v.volume.data.len());
    }
}

const SEPARATOR: &[u8] = b"PANCSEGFILE";

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < 3 {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}
/// The DICOM series reader on arbitrary bytes: the input is split at the separator `PANCSEGFILE`
/// into up to 4 files; one file is read with `read_dicom_files`, several as a directory with
/// `read_dicom_dir` (grouping, sorting, spacing and orientation checks, pixel decoding), and the
/// same parts from memory with `read_dicom_buffers`. Any outcome but a panic, abort or hang is
/// fine; a successful read must give a consistent volume, the same from disk and memory.
pub fn dicom_series(data: &[u8]) {
    let Some(dir) = Scratch::new("dicom") else {
        return;
    };
    let parts = split(data);
    let mut files = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let f = dir.join(format!("{i}.dcm"));
        if std::fs::write(&f, p).is_err() {
            return;
        }
        files.push(f);
    }
    let opts = DicomReadOptions::default();
    let result = if files.len() == 1 {
        read_dicom_files(&files, &opts)
    } else {
        read_dicom_dir(&dir.0, &opts)
    };
    // the same instances from memory: the same outcome (the directory reader skips files
    // without the DICM marker, which the memory reader refuses)
    let marked: Vec<&[u8]> = parts
        .iter()
        .copied()
        .filter(|p| p.len() >= 132 && &p[128..132] == b"DICM")
        .collect();
    let memory = (marked.len() == parts.len()).then(|| read_dicom_buffers(&marked, &opts));
    if let Ok(s) = &result {
        assert!(s.volume.geometry.validate().is_ok());
        assert_eq!(s.files.len(), s.volume.data.dim().0);
    }
    if let Some(mem) = &memory {
        assert_eq!(
            result.is_ok(),
            mem.is_ok(),
            "disk and memory readers disagree"
        );
        if let (Ok(disk), Ok(mem)) = (&result, mem) {
            assert_eq!(disk.volume.geometry, mem.volume.geometry);
            assert_eq!(disk.volume.data.dim(), mem.volume.data.dim());
        }
    }
}

/// The model bundle's manifest parser and validator on arbitrary text. Any outcome but a panic is
/// fine; an accepted manifest must list only plain file names its loader can check.
pub fn manifest(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = Manifest::parse(&text, Path::new("manifest.json")) {
        for (file, sha) in m.files() {
            assert!(!file.is_empty() && !sha.is_empty());
        }
    }
}

/// The forest file reader on arbitrary bytes. The file ends in a SHA-256 of its body, which random
/// bytes never match; so when the first byte is odd, the target appends the correct checksum to
/// the rest, and the parser's structural checks (header, node arrays, child indices, leaf values)
/// are what is fuzzed. Any outcome but a panic is fine; an accepted forest must predict on any
/// feature vector of its width without panicking.
pub fn forest(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 1 {
        let mut b = rest.to_vec();
        let digest = Sha256::digest(rest);
        b.extend_from_slice(&digest);
        b
    } else {
        rest.to_vec()
    };
    if let Ok(f) = Forest::from_bytes(&bytes, Path::new("fuzz.psrf")) {
        let x = vec![0.5f32; f.n_features];
        let p = f.predict(&x);
        assert!((0.0..=1.0).contains(&p), "{p}");
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.bytes())
    }
}
/// The C API's validation of a caller's volume (`pancseg_segment` runs it before anything else):
/// dims, dtype, data length, spacing, origin, direction and rescale from the fuzz input, the data
/// the rest of the input (an honest caller: `data_bytes` is the real buffer length). Any outcome but
/// a panic is fine; the status of a refusal must name an argument or limit error.
pub fn ffi_volume(data: &[u8]) {
    let mut r = Reader(data);
    // small dims most of the time, any u64 when the high bit of the first dim is set
    let raw = [r.u64(), r.u64(), r.u64()];
    let dims = if raw[0] >> 63 == 1 {
        raw.map(|d| d as usize)
    } else {
        raw.map(|d| (d % 64) as usize)
    };
    let dtype = (r.u64() % 6) as i32 - 1;
    let spacing = [r.f64(), r.f64(), r.f64()];
    let origin = [r.f64(), r.f64(), r.f64()];
    let mut direction = [0.0f64; 9];
    for d in direction.iter_mut() {
        *d = r.f64();
    }
    let (rescale_slope, rescale_intercept) = (r.f64(), r.f64());
    let payload = r.0;
    let v = pancseg_volume {
        struct_size: std::mem::size_of::<pancseg_volume>(),
        data: if payload.is_empty() {
            std::ptr::null()
        } else {
            payload.as_ptr().cast()
        },
        data_bytes: payload.len(),
        dtype,
        dims,
        spacing,
        origin,
        direction,
        rescale_slope,
        rescale_intercept,
    };
    // SAFETY: data is NULL or points to data_bytes readable bytes.
    if let Err((status, message)) = unsafe { check_volume(&v) } {
        assert!(!message.is_empty());
        assert!(
            matches!(
                status,
                pancseg_status::PANCSEG_INVALID_ARGUMENT
                    | pancseg_status::PANCSEG_GEOMETRY_ERROR
                    | pancseg_status::PANCSEG_LIMIT_EXCEEDED
            ),
            "{status:?}: {message}"
        );
    }
}
