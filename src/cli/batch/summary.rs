//! `pancseg batch-summary DIR`: merges the case reports that every shard wrote under DIR into
//! `DIR/summary.json` and `DIR/summary.csv` (one row per case: status, volume, times, DSC, ASSD
//! and HD95 when a truth was given, the error of a failed case) with totals; with the manifest,
//! cases without a report are listed as `missing`.

use crate::cli::batch::manifest::read_manifest;
use crate::cli::batch::outputs::{write_atomic, write_json_atomic, REPORT};
use pancseg::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `pancseg batch-summary`.
#[derive(clap::Args)]
pub struct SummaryArgs {
    /// The output folder of `pancseg batch` (shared by every shard).
    pub dir: PathBuf,
    /// The manifest: cases it lists without a report are counted as missing.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
}

/// One case of the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub id: String,
    /// ok, failed or missing.
    pub status: String,
    pub volume_ml: Option<f64>,
    pub dsc: Option<f64>,
    pub assd_mm: Option<f64>,
    pub hd95_mm: Option<f64>,
    pub total_seconds: Option<f64>,
    pub shard: Option<String>,
    pub error: Option<String>,
}

/// Totals over the cases.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Totals {
    pub cases: usize,
    pub ok: usize,
    pub failed: usize,
    pub missing: usize,
    /// Sum of the cases' times (the scans' own work, not the wall time of the shards).
    pub seconds: f64,
    pub mean_volume_ml: Option<f64>,
    /// Mean DSC over the ok cases with a truth.
    pub mean_dsc: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
struct Summary {
    pancseg_version: &'static str,
    totals: Totals,
    cases: Vec<Row>,
}

fn row_of(id: &str, v: &serde_json::Value) -> Row {
    let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let s = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    Row {
        id: id.to_string(),
        status: s("status").unwrap_or_else(|| "invalid".into()),
        volume_ml: f("volume_ml"),
        dsc: f("dsc"),
        assd_mm: f("assd_mm"),
        hd95_mm: f("hd95_mm"),
        total_seconds: f("total_seconds"),
        shard: s("shard"),
        error: s("error"),
    }
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, s) = v.fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| s / n as f64)
}

/// Reads every case report under `dir` (and, with `manifest`, names the cases without one).
pub fn collect(dir: &Path, manifest: Option<&Path>) -> Result<(Vec<Row>, Totals)> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    for e in entries.flatten() {
        let path = e.path().join(REPORT);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let id = e.file_name().to_string_lossy().into_owned();
        let row = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => row_of(&id, &v),
            Err(err) => Row {
                error: Some(format!("{}: {err}", path.display())),
                ..row_of(&id, &serde_json::Value::Null)
            },
        };
        rows.insert(id, row);
    }
    if let Some(m) = manifest {
        for case in read_manifest(m)? {
            rows.entry(case.id.clone()).or_insert_with(|| Row {
                status: "missing".into(),
                ..row_of(&case.id, &serde_json::Value::Null)
            });
        }
    }
    let rows: Vec<Row> = rows.into_values().collect();
    let ok: Vec<&Row> = rows.iter().filter(|r| r.status == "ok").collect();
    let totals = Totals {
        cases: rows.len(),
        ok: ok.len(),
        failed: rows
            .iter()
            .filter(|r| r.status != "ok" && r.status != "missing")
            .count(),
        missing: rows.iter().filter(|r| r.status == "missing").count(),
        seconds: rows.iter().filter_map(|r| r.total_seconds).sum(),
        mean_volume_ml: mean(ok.iter().filter_map(|r| r.volume_ml)),
        mean_dsc: mean(ok.iter().filter_map(|r| r.dsc)),
    };
    Ok((rows, totals))
}

fn csv_text(rows: &[Row]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Internal(format!("summary.csv: {e}"));
    w.write_record([
        "id",
        "status",
        "volume_ml",
        "dsc",
        "assd_mm",
        "hd95_mm",
        "total_seconds",
        "shard",
        "error",
    ])
    .map_err(err)?;
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for r in rows {
        w.write_record([
            r.id.clone(),
            r.status.clone(),
            num(r.volume_ml),
            num(r.dsc),
            num(r.assd_mm),
            num(r.hd95_mm),
            num(r.total_seconds),
            r.shard.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("summary.csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(format!("summary.csv: {e}")))
}

/// Writes `summary.json` and `summary.csv` into `dir`; returns the totals.
pub fn write_summary(dir: &Path, manifest: Option<&Path>) -> Result<Totals> {
    let (rows, totals) = collect(dir, manifest)?;
    let csv = csv_text(&rows)?;
    write_atomic(dir, "summary.csv", |p| {
        std::fs::write(p, &csv).map_err(|e| Error::Io {
            path: p.to_path_buf(),
            source: e,
        })
    })?;
    write_json_atomic(
        dir,
        "summary.json",
        &Summary {
            pancseg_version: env!("CARGO_PKG_VERSION"),
            totals: totals.clone(),
            cases: rows,
        },
    )?;
    Ok(totals)
}

/// `pancseg batch-summary`.
pub fn run(a: &SummaryArgs) -> Result<()> {
    let t = write_summary(&a.dir, a.manifest.as_deref())?;
    println!(
        "wrote {}/summary.json and summary.csv: {} cases, {} ok, {} failed, {} missing; {:.1} s of scan time{}{}",
        a.dir.display(),
        t.cases,
        t.ok,
        t.failed,
        t.missing,
        t.seconds,
        t.mean_volume_ml
            .map_or(String::new(), |v| format!(", mean volume {v:.1} mL")),
        t.mean_dsc.map_or(String::new(), |d| format!(", mean DSC {d:.3}")),
    );
    Ok(())
}
