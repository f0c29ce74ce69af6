//! `pancseg batch` over an archive: a manifest of 12 scans (10 crops of the fixture phantom, one
//! of them a DICOM series, and 2 broken entries) run as a 3-task Slurm array by the script of
//! `docs/cluster/pancseg-array.slurm` (its command lines run locally for every index), one task
//! killed midway and resubmitted: every good case is segmented to completion exactly once with
//! the mask a single `pancseg segment` gives, the broken ones are reported, and the merged
//! summary is complete.

use ndarray::s;
use pancseg::io::dicom::ct_writer::{write_ct_series, SeriesWriteOptions};
use pancseg::io::nifti::{read_nifti, write_ct, write_nifti};
use pancseg::volume::Image;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bundle() -> PathBuf {
    root().join("tests/fixtures/bundle-tiny")
}

/// The shard of a case id, as `pancseg batch --shard` computes it (64-bit FNV-1a).
fn shard_of(id: &str, count: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h % count
}

/// 10 crops of the fixture phantom along z (case_05 as a DICOM series), a truncated file and a
/// missing one; returns the manifest and the good cases' inputs.
fn archive(dir: &Path) -> (PathBuf, Vec<(String, PathBuf)>) {
    let ct = read_nifti(root().join("tests/fixtures/phantom/ct.nii.gz"))
        .unwrap()
        .volume;
    let label = read_nifti(root().join("tests/fixtures/phantom/label.nii.gz"))
        .unwrap()
        .volume;
    std::fs::create_dir_all(dir.join("scans")).unwrap();
    let mut rows = vec!["id,input,truth".to_string()];
    let mut good = Vec::new();
    for k in 0..10 {
        let (z0, z1) = (k, 32 + k);
        let mut g = ct.geometry;
        g.origin = ct.geometry.index_to_lps([0.0, 0.0, z0 as f64]);
        let crop = Image::new(ct.data.slice(s![z0..z1, .., ..]).to_owned(), g).unwrap();
        let truth = Image::new(label.data.slice(s![z0..z1, .., ..]).to_owned(), g).unwrap();
        let id = format!("case_{k:02}");
        let input = if k == 5 {
            let d = dir.join("scans").join(&id);
            write_ct_series(
                &crop,
                &d,
                &SeriesWriteOptions::new("1.2.826.0.1.3680043.10.1234.600"),
            )
            .unwrap();
            d
        } else {
            let p = dir.join("scans").join(format!("{id}.nii.gz"));
            write_ct(&p, &crop).unwrap();
            p
        };
        let t = dir.join("scans").join(format!("{id}_label.nii.gz"));
        write_nifti(&t, &truth.map_mask()).unwrap();
        rows.push(format!(
            "{id},{},{}",
            input.strip_prefix(dir).unwrap().display(),
            t.strip_prefix(dir).unwrap().display()
        ));
        good.push((id, input));
    }
    let whole = std::fs::read(dir.join("scans/case_00.nii.gz")).unwrap();
    std::fs::write(
        dir.join("scans/truncated.nii.gz"),
        &whole[..whole.len() / 3],
    )
    .unwrap();
    rows.push("broken_truncated,scans/truncated.nii.gz,".into());
    rows.push("broken_missing,scans/does-not-exist.nii.gz,".into());
    let manifest = dir.join("manifest.csv");
    std::fs::write(&manifest, rows.join("\n") + "\n").unwrap();
    (manifest, good)
}

trait MapMask {
    fn map_mask(&self) -> pancseg::Mask;
}

impl MapMask for pancseg::Volume {
    fn map_mask(&self) -> pancseg::Mask {
        Image {
            data: self.data.mapv(|v| u8::from(v > 0.5)),
            geometry: self.geometry,
        }
    }
}

/// The array task `index` of 3, as Slurm would run the script.
fn slurm_task(manifest: &Path, out: &Path, index: u64) -> std::process::Output {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pancseg"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg(root().join("docs/cluster/pancseg-array.slurm"))
        .env("PATH", path)
        .env("MANIFEST", manifest)
        .env("OUT", out)
        .env("MODEL", bundle())
        .env("PANCSEG_BATCH_ARGS", "--rtstruct --jobs 2")
        .env("SLURM_ARRAY_TASK_ID", (index + 10).to_string())
        .env("SLURM_ARRAY_TASK_MIN", "10")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .env("SLURM_CPUS_PER_TASK", "2")
        .output()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn an_archive_in_three_shards_with_a_kill_is_segmented_once_and_summarised() {
    let tmp = tempfile::tempdir().unwrap();
    let (manifest, good) = archive(tmp.path());
    let out = tmp.path().join("out");
    // the shard holding the most good cases is killed after its first case
    let per_shard = |i: u64| good.iter().filter(|(id, _)| shard_of(id, 3) == i).count();
    let victim = (0..3).max_by_key(|&i| per_shard(i)).unwrap();
    assert!(
        per_shard(victim) >= 2,
        "{:?}",
        (0..3).map(per_shard).collect::<Vec<_>>()
    );
    let victims: Vec<&String> = good
        .iter()
        .map(|(id, _)| id)
        .filter(|id| shard_of(id, 3) == victim)
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .args(["batch", "--jobs", "1", "--threads", "2", "--rtstruct"])
        .arg("--manifest")
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .arg("--model")
        .arg(bundle())
        .arg("--shard")
        .arg(format!("{victim}/3"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let first_report = |out: &Path| {
        victims
            .iter()
            .find(|id| out.join(id.as_str()).join("report.json").exists())
            .map(|id| id.to_string())
    };
    let done_first = loop {
        if let Some(id) = first_report(&out) {
            break id;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "no case finished");
        assert!(child.try_wait().unwrap().is_none(), "the shard ended early");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read(out.join(&done_first).join("report.json")).unwrap();
    let unfinished = victims
        .iter()
        .filter(|id| !out.join(id.as_str()).join("report.json").exists())
        .count();
    assert!(unfinished >= 1, "the kill came too late");

    // the array, as Slurm runs it: every index, the killed one resubmitted
    for index in 0..3 {
        let o = slurm_task(&manifest, &out, index);
        let log = text(&o);
        assert!(o.status.success(), "task {index}: {log}");
        if index == victim {
            assert!(log.contains("done before"), "{log}");
            assert!(
                !log.contains(&format!("{done_first}: ok")),
                "re-segmented: {log}"
            );
        }
    }
    assert_eq!(
        std::fs::read(out.join(&done_first).join("report.json")).unwrap(),
        before,
        "a case done before the kill was redone"
    );

    // every good case: one complete report, the mask of a single `pancseg segment`
    for (id, input) in &good {
        let dir = out.join(id);
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        assert_eq!(r["status"], "ok", "{id}: {r}");
        assert!(r["dsc"].as_f64().is_some(), "{id}: truth given");
        let single = tmp.path().join(format!("{id}_single.nii.gz"));
        let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
            .arg("segment")
            .arg(input)
            .arg(&single)
            .arg("--model")
            .arg(bundle())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let a = read_nifti(&single).unwrap().volume;
        let b = read_nifti(dir.join("mask.nii.gz")).unwrap().volume;
        assert_eq!(a.data, b.data, "{id}: batch and single masks differ");
        assert_eq!(a.geometry, b.geometry);
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{id}: temporary files left");
        // the DICOM case has its RT Structure Set, the NIfTI cases a note instead
        if id == "case_05" {
            assert!(dir.join("rtstruct.dcm").exists());
        } else {
            assert!(r["notes"][0].as_str().unwrap().contains("NIfTI"), "{r}");
        }
    }
    for (id, why) in [
        ("broken_truncated", "truncated.nii.gz"),
        ("broken_missing", "does-not-exist"),
    ] {
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(id).join("report.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(r["status"], "failed");
        assert!(r["error"].as_str().unwrap().contains(why), "{r}");
    }

    // the summary step
    let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
        .arg("batch-summary")
        .arg(&out)
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("12 cases, 10 ok, 2 failed, 0 missing"),
        "{}",
        text(&o)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cases"].as_array().unwrap().len(), 12);
    assert!(summary["totals"]["mean_dsc"].as_f64().is_some());
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 13, "{csv}");

    // a rerun of a finished shard does nothing but say so
    let o = slurm_task(&manifest, &out, victim);
    assert!(text(&o).contains(" 0 segmented"), "{}", text(&o));
}

#[test]
fn bad_manifests_and_shards_fail_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m.csv");
    std::fs::write(&m, "id,input\na,x.nii.gz\na,y.nii.gz\n").unwrap();
    for (args, want) in [
        (vec!["--shard", "3/3"], "need 0 <= I < N"),
        (vec![], "appears twice"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_pancseg"))
            .arg("batch")
            .arg("--manifest")
            .arg(&m)
            .arg("--out")
            .arg(tmp.path().join("out"))
            .arg("--model")
            .arg(bundle())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(if args.is_empty() { 1 } else { 2 }));
        assert!(text(&o).contains(want), "{}", text(&o));
    }
}
