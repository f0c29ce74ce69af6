//! The description of a loaded volume printed by `pancseg info`: as stable JSON (`--json`,
//! snapshot-tested) and as human-readable text.

use pancseg::GeometrySource;
use pancseg::{LoadedVolume, Source};
use serde::Serialize;

/// Everything `pancseg info` reports about a volume.
#[derive(Debug, Clone, Serialize)]
pub struct VolumeInfo {
    pub input: String,
    pub format: &'static str,
    /// `[nx, ny, nz]`: columns, rows, slices.
    pub dims: [usize; 3],
    /// mm along x, y, z.
    pub spacing: [f64; 3],
    /// LPS mm of the centre of voxel (0, 0, 0).
    pub origin: [f64; 3],
    /// Rows of the LPS direction matrix (column c = voxel axis c).
    pub direction: [[f64; 3]; 3],
    /// nibabel-style axis codes, e.g. "LPS" or "RAS".
    pub orientation: String,
    pub hu: HuStats,
    pub nifti: Option<NiftiDetails>,
    pub dicom: Option<DicomDetails>,
}

/// HU statistics (f64 accumulation).
#[derive(Debug, Clone, Serialize)]
pub struct HuStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NiftiDetails {
    pub datatype: &'static str,
    pub geometry_source: GeometrySource,
    pub sform_code: i16,
    pub qform_code: i16,
}

#[derive(Debug, Clone, Serialize)]
pub struct DicomDetails {
    pub series_uid: String,
    pub description: String,
    pub slice_count: usize,
    pub transfer_syntax_uid: String,
    pub transfer_syntax: String,
}

/// Rounds to 6 decimals so JSON stays stable across platforms' last-bit float differences.
fn r6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6 + 0.0 // + 0.0 turns -0.0 into 0.0
}

impl VolumeInfo {
    /// Builds the report for a loaded volume; `input` is how the user named it.
    pub fn new(input: &str, loaded: &LoadedVolume) -> Self {
        let v = &loaded.volume;
        let g = &v.geometry;
        let stats = v.stats();
        let (format, nifti, dicom) = match &loaded.source {
            Source::Nifti {
                datatype,
                geometry_source,
                sform_code,
                qform_code,
            } => (
                "nifti",
                Some(NiftiDetails {
                    datatype,
                    geometry_source: *geometry_source,
                    sform_code: *sform_code,
                    qform_code: *qform_code,
                }),
                None,
            ),
            Source::Dicom { info, .. } => (
                "dicom",
                None,
                Some(DicomDetails {
                    series_uid: info.series_uid.clone(),
                    description: info.description.clone(),
                    slice_count: info.slice_count,
                    transfer_syntax_uid: info.transfer_syntax_uid.clone(),
                    transfer_syntax: info.transfer_syntax.clone(),
                }),
            ),
        };
        VolumeInfo {
            input: input.to_string(),
            format,
            dims: v.dims_xyz(),
            spacing: g.spacing.map(r6),
            origin: g.origin.map(r6),
            direction: g.direction.map(|row| row.map(r6)),
            orientation: g.orientation_code(),
            hu: HuStats {
                min: stats.min,
                max: stats.max,
                mean: r6(stats.mean),
            },
            nifti,
            dicom,
        }
    }

    /// Pretty JSON, the `--json` output.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Human-readable text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "input:       {}\nformat:      {}\ndims:        {} x {} x {} (x, y, z)\nspacing:     {:?} mm\norigin:      {:?} mm (LPS)\ndirection:   {:?}\norientation: {}\nHU:          min {} max {} mean {:.3}\n",
            self.input,
            self.format,
            self.dims[0],
            self.dims[1],
            self.dims[2],
            self.spacing,
            self.origin,
            self.direction,
            self.orientation,
            self.hu.min,
            self.hu.max,
            self.hu.mean
        );
        if let Some(d) = &self.dicom {
            s += &format!(
                "series:      {} \"{}\"\nslices:      {}\ntransfer:    {} ({})\n",
                d.series_uid,
                d.description,
                d.slice_count,
                d.transfer_syntax,
                d.transfer_syntax_uid
            );
        }
        if let Some(n) = &self.nifti {
            s += &format!(
                "datatype:    {}\ngeometry:    {:?} (sform_code {}, qform_code {})\n",
                n.datatype, n.geometry_source, n.sform_code, n.qform_code
            );
        }
        s
    }
}
