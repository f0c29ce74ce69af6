//! The batch manifest: which scans to segment, as CSV (a header row naming `id` and `input`,
//! optionally `truth` and `series`) or JSON Lines (one object per line with the same keys).
//! Relative paths are taken from the manifest's folder. Case ids name output folders, so they
//! must be unique and made of letters, digits, `.`, `_` and `-` (not starting with `.`).
//!
//! Sharding: `--shard I/N` keeps the cases whose id hashes (64-bit FNV-1a of its UTF-8 bytes)
//! to I modulo N. The hash depends on the id alone, not on the manifest's order or length, so N
//! workers of an array job split any manifest without coordination, and a case stays in its
//! shard when others are added.

use pancseg::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One scan of the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    pub input: PathBuf,
    /// A reference mask on the scan's grid, for DSC, ASSD and HD95.
    pub truth: Option<PathBuf>,
    /// `auto` or a SeriesInstanceUID, for a DICOM input.
    pub series: Option<String>,
}

/// `I/N`: this worker's share of the manifest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("shard {s:?} is not I/N"))?;
        let index: u64 = i.trim().parse().map_err(|_| format!("shard index {i:?}"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("shard count {n:?}"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {s}: need 0 <= I < N"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// 64-bit FNV-1a (stable across platforms and versions, unlike the standard library's hasher).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Shard {
    /// Whether the case `id` belongs to this shard.
    pub fn holds(&self, id: &str) -> bool {
        fnv1a(id.as_bytes()) % self.count == self.index
    }
}

fn bad(path: &Path, line: usize, reason: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{}:{line}: {reason}", path.display()))
}

fn check_id(path: &Path, line: usize, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(bad(
            path,
            line,
            format!("case id {id:?} must be 1-128 letters, digits, '.', '_' or '-', not starting with '.'"),
        ))
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Reads a manifest (`.csv`, or `.jsonl` / `.ndjson`); every problem fails naming the line.
pub fn read_manifest(path: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let name = path.to_string_lossy().to_ascii_lowercase();
    let raw: Vec<RawCase> = if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
        read_jsonl(path, &text)?
    } else if name.ends_with(".csv") {
        read_csv(path, &text)?
    } else {
        return Err(Error::InvalidArgument(format!(
            "{}: a manifest ends in .csv or .jsonl",
            path.display()
        )));
    };
    let mut seen = BTreeSet::new();
    let mut cases = Vec::with_capacity(raw.len());
    for (line, id, input, truth, series) in raw {
        check_id(path, line, &id)?;
        if !seen.insert(id.clone()) {
            return Err(bad(path, line, format!("case id {id:?} appears twice")));
        }
        cases.push(Case {
            id,
            input: resolve(base, &input),
            truth: truth.map(|t| resolve(base, &t)),
            series,
        });
    }
    if cases.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{}: the manifest lists no cases",
            path.display()
        )));
    }
    Ok(cases)
}

type RawCase = (usize, String, String, Option<String>, Option<String>);

fn read_csv(path: &Path, text: &str) -> Result<Vec<RawCase>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad(path, 1, format!("header row: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id_col), Some(input_col)) = (column("id"), column("input")) else {
        return Err(bad(
            path,
            1,
            format!("the header row must name the columns id and input (has {headers:?})"),
        ));
    };
    let (truth_col, series_col) = (column("truth"), column("series"));
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            bad(path, line, e)
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let get = |c: Option<usize>| non_empty(c.and_then(|c| record.get(c))).map(str::to_string);
        let input = get(Some(input_col)).ok_or_else(|| bad(path, line, "no input"))?;
        out.push((
            line,
            get(Some(id_col)).unwrap_or_default(),
            input,
            get(truth_col),
            get(series_col),
        ));
    }
    Ok(out)
}

fn read_jsonl(path: &Path, text: &str) -> Result<Vec<RawCase>> {
    let mut out = Vec::new();
    for (k, l) in text.lines().enumerate() {
        let line = k + 1;
        if l.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(l).map_err(|e| bad(path, line, format!("not JSON: {e}")))?;
        let field = |name: &str| -> Result<Option<String>> {
            match v.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(non_empty(Some(s)).map(str::to_string)),
                Some(other) => Err(bad(path, line, format!("{name} is {other}, not a string"))),
            }
        };
        if !v.is_object() {
            return Err(bad(path, line, "not a JSON object"));
        }
        let input = field("input")?.ok_or_else(|| bad(path, line, "no input"))?;
        out.push((
            line,
            field("id")?.unwrap_or_default(),
            input,
            field("truth")?,
            field("series")?,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn csv_and_jsonl_give_the_same_cases() {
        let (d, csv) = manifest(
            "m.csv",
            "# archive export\nid,input,truth\ncase-1, scans/a.nii.gz ,labels/a.nii.gz\ncase-2,/abs/b,\n",
        );
        let (_d2, jsonl) = manifest(
            "m.jsonl",
            "{\"id\":\"case-1\",\"input\":\"scans/a.nii.gz\",\"truth\":\"labels/a.nii.gz\"}\n\n{\"id\":\"case-2\",\"input\":\"/abs/b\"}\n",
        );
        let a = read_manifest(&csv).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].input, d.path().join("scans/a.nii.gz"));
        assert_eq!(a[1].input, PathBuf::from("/abs/b"));
        assert_eq!(a[1].truth, None);
        let b = read_manifest(&jsonl).unwrap();
        assert_eq!(a[1], b[1]);
        assert_eq!(a[0].id, b[0].id);
    }

    #[test]
    fn bad_manifests_name_the_line() {
        for (name, text, want) in [
            (
                "m.csv",
                "id,path\na,b\n",
                "must name the columns id and input",
            ),
            (
                "m.csv",
                "id,input\na,x\na,y\n",
                ":3: case id \"a\" appears twice",
            ),
            ("m.csv", "id,input\n../up,x\n", ":2: case id"),
            ("m.csv", "id,input\nok,\n", ":2: no input"),
            (
                "m.jsonl",
                "{\"id\":\"a\",\"input\":\"x\"}\n[1]\n",
                ":2: not a JSON object",
            ),
            ("m.jsonl", "{\"id\":\"a\",\"input\":3}\n", ":1: input is 3"),
            ("m.jsonl", "{oops\n", ":1: not JSON"),
            ("m.txt", "id,input\n", "ends in .csv or .jsonl"),
            ("m.csv", "id,input\n", "lists no cases"),
        ] {
            let (_d, p) = manifest(name, text);
            let e = read_manifest(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn shards_split_every_manifest_stably() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let ids: Vec<String> = (0..300).map(|k| format!("case_{k:04}")).collect();
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for id in &ids {
            assert_eq!(shards.iter().filter(|s| s.holds(id)).count(), 1, "{id}");
        }
        for s in &shards {
            let n = ids.iter().filter(|id| s.holds(id)).count();
            assert!((70..=130).contains(&n), "shard {s}: {n} of 300");
        }
        for bad in ["3/3", "1", "a/2", "0/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
