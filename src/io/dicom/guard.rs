//! A bounds check of a DICOM file's element lengths, run before dicom-rs parses it.
//!
//! dicom-rs reserves and zero-fills a value's declared length before reading it, so a 2 kB file
//! whose element header claims 4 GB makes the parser touch 4 GB of memory (found by fuzzing:
//! `tests/fixtures/fuzz-regressions/dicom_series/`): seconds of work, and on a memory-limited
//! host the out-of-memory killer. This walk refuses any element whose declared length runs past
//! the end of the file, naming the element, without allocating.
//!
//! It follows the encoding of the file: the meta group (explicit VR little endian), then the data
//! set in the transfer syntax's encoding (implicit VR little endian, explicit VR little or big
//! endian; a deflated data set is left to the parser, which inflates in bounded steps). Sequences
//! and items are entered (their contents are elements too); encapsulated pixel data fragments are
//! skipped by their lengths. In implicit VR, sequences of defined length are recognised from the
//! standard dictionary.

use crate::error::{Error, Result};
use dicom::core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom::core::{Tag, VR};
use dicom::dictionary_std::StandardDataDictionary;
use std::path::Path;

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const SEQUENCE_DELIMITER: (u16, u16) = (0xFFFE, 0xE0DD);
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

struct Walker<'a> {
    bytes: &'a [u8],
    path: &'a Path,
}

impl Walker<'_> {
    fn u16(&self, at: usize, big: bool) -> u16 {
        let b = [self.bytes[at], self.bytes[at + 1]];
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(&self, at: usize, big: bool) -> u32 {
        let b = [
            self.bytes[at],
            self.bytes[at + 1],
            self.bytes[at + 2],
            self.bytes[at + 3],
        ];
        if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn error(&self, at: usize, tag: (u16, u16), what: String) -> Error {
        Error::dicom(
            self.path,
            format!(
                "element ({:04X},{:04X}) at byte {at} {what}: the file is truncated or corrupt",
                tag.0, tag.1
            ),
        )
    }

    /// Walks elements from `pos` to `end` (or to the end of the meta group when `meta_only`);
    /// returns where it stopped.
    fn walk(&self, mut pos: usize, end: usize, enc: Encoding, meta_only: bool) -> Result<usize> {
        let big = enc == Encoding::ExplicitBe;
        // inside undefined-length encapsulated pixel data (its items are raw fragments)
        let mut in_fragments = false;
        while pos < end {
            if end - pos < 8 {
                // a few trailing bytes: the parser reports them; nothing to allocate
                return Ok(end);
            }
            let tag = (self.u16(pos, big), self.u16(pos + 2, big));
            if meta_only && tag.0 != 0x0002 {
                return Ok(pos);
            }
            if tag.0 == 0xFFFE {
                // item and delimiters: tag + 4-byte length, always
                let len = self.u32(pos + 4, big);
                pos += 8;
                if tag == SEQUENCE_DELIMITER {
                    in_fragments = false;
                } else if tag == ITEM && in_fragments {
                    if len == UNDEFINED || len as usize > end - pos {
                        return Err(self.error(
                            pos - 8,
                            tag,
                            format!(
                                "(pixel data fragment) declares {len} bytes, {} remain",
                                end - pos
                            ),
                        ));
                    }
                    pos += len as usize;
                } else if tag == ITEM && len != UNDEFINED && len as usize > end - pos {
                    return Err(self.error(
                        pos - 8,
                        tag,
                        format!("(item) declares {len} bytes, {} remain", end - pos),
                    ));
                }
                continue;
            }
            let explicit = enc != Encoding::ImplicitLe || tag.0 == 0x0002;
            let (vr, len, header) = if explicit {
                // an unknown VR is read as UN (4-byte length), as dicom-rs does
                let vr =
                    VR::from_binary([self.bytes[pos + 4], self.bytes[pos + 5]]).unwrap_or(VR::UN);
                let long = matches!(
                    vr,
                    VR::OB
                        | VR::OD
                        | VR::OF
                        | VR::OL
                        | VR::OV
                        | VR::OW
                        | VR::SQ
                        | VR::SV
                        | VR::UC
                        | VR::UN
                        | VR::UR
                        | VR::UT
                        | VR::UV
                );
                if long {
                    if end - pos < 12 {
                        return Ok(end);
                    }
                    (Some(vr), self.u32(pos + 8, big), 12)
                } else {
                    (Some(vr), u32::from(self.u16(pos + 6, big)), 8)
                }
            } else {
                let vr = StandardDataDictionary
                    .by_tag(Tag(tag.0, tag.1))
                    .and_then(|e| match e.vr() {
                        VirtualVr::Exact(v) => Some(v),
                        _ => None,
                    });
                (vr, self.u32(pos + 4, false), 8)
            };
            pos += header;
            if len == UNDEFINED {
                // a sequence, an undefined-length UN, or encapsulated pixel data: enter it
                if tag == PIXEL_DATA {
                    in_fragments = true;
                }
                continue;
            }
            if len as usize > end - pos {
                return Err(self.error(
                    pos - header,
                    tag,
                    format!("declares {len} bytes, {} remain", end - pos),
                ));
            }
            if vr == Some(VR::SQ) {
                continue; // walk the items
            }
            pos += len as usize;
        }
        Ok(pos.min(end))
    }
}

/// Checks every element length of a DICOM file held in `bytes` (preamble and "DICM" included).
pub fn check_element_lengths(bytes: &[u8], path: &Path) -> Result<()> {
    if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
        return Ok(()); // not a Part 10 file: the parser refuses it
    }
    let w = Walker { bytes, path };
    let end = bytes.len();
    let meta_end = w.walk(132, end, Encoding::ExplicitLe, true)?;
    // the transfer syntax UID, (0002,0010), found by a second look at the meta group
    let mut ts = String::new();
    let mut pos = 132;
    while pos + 8 <= meta_end {
        let tag = (w.u16(pos, false), w.u16(pos + 2, false));
        let len = usize::from(w.u16(pos + 6, false));
        let (header, len) = if matches!(&bytes[pos + 4..pos + 6], b"OB" | b"UN" | b"SQ" | b"UT") {
            if pos + 12 > meta_end {
                break;
            }
            (12, w.u32(pos + 8, false) as usize)
        } else {
            (8, len)
        };
        let start = pos + header;
        if start + len > meta_end {
            break;
        }
        if tag == (0x0002, 0x0010) {
            ts = String::from_utf8_lossy(&bytes[start..start + len])
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        pos = start + len;
    }
    let enc = match ts.as_str() {
        "1.2.840.10008.1.2" => Encoding::ImplicitLe,
        "1.2.840.10008.1.2.2" => Encoding::ExplicitBe,
        "1.2.840.10008.1.2.1.99" => return Ok(()),
        _ => Encoding::ExplicitLe,
    };
    w.walk(meta_end, end, enc, false).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dataset: &[u8], ts: &str) -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        let mut ts_bytes = ts.as_bytes().to_vec();
        if ts_bytes.len() % 2 == 1 {
            ts_bytes.push(0);
        }
        b.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        b.extend_from_slice(&(ts_bytes.len() as u16).to_le_bytes());
        b.extend_from_slice(&ts_bytes);
        b.extend_from_slice(dataset);
        b
    }

    fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8], declared: Option<u32>) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&tag.0.to_le_bytes());
        b.extend_from_slice(&tag.1.to_le_bytes());
        b.extend_from_slice(vr);
        let len = declared.unwrap_or(value.len() as u32);
        if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&len.to_le_bytes());
        } else {
            b.extend_from_slice(&(len as u16).to_le_bytes());
        }
        b.extend_from_slice(value);
        b
    }

    #[test]
    fn well_formed_files_pass() {
        let mut ds = explicit((0x0008, 0x0060), b"CS", b"CT", None);
        // a sequence of undefined length with one item holding one element
        ds.extend(explicit((0x0008, 0x1115), b"SQ", &[], Some(UNDEFINED)));
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        ds.extend_from_slice(&UNDEFINED.to_le_bytes());
        ds.extend(explicit((0x0020, 0x000E), b"UI", b"1.2", None));
        ds.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        // encapsulated pixel data: offset table and one fragment
        ds.extend(explicit((0x7FE0, 0x0010), b"OB", &[], Some(UNDEFINED)));
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 0xFF, 0xD8, 0xFF, 0xD9]);
        ds.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let f = file(&ds, "1.2.840.10008.1.2.4.90");
        check_element_lengths(&f, Path::new("x.dcm")).unwrap();
    }

    #[test]
    fn a_length_past_the_end_is_refused_by_name() {
        let mut ds = explicit((0x0008, 0x0060), b"CS", b"CT", None);
        ds.extend(explicit(
            (0x7FE0, 0x0010),
            b"OW",
            &[0; 16],
            Some(0x4000_0000),
        ));
        let f = file(&ds, "1.2.840.10008.1.2.1");
        let e = check_element_lengths(&f, Path::new("x.dcm"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("(7FE0,0010)") && e.contains("1073741824"), "{e}");
        // inside a sequence item, and in implicit VR
        let mut ds = explicit((0x0008, 0x1115), b"SQ", &[], Some(UNDEFINED));
        ds.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        ds.extend_from_slice(&UNDEFINED.to_le_bytes());
        ds.extend(explicit((0x0008, 0x0016), b"UT", &[], Some(0x7000_0000)));
        let f = file(&ds, "1.2.840.10008.1.2.1");
        assert!(check_element_lengths(&f, Path::new("x.dcm")).is_err());
        let mut implicit = Vec::new();
        implicit.extend_from_slice(&[0x10, 0x00, 0x10, 0x00]);
        implicit.extend_from_slice(&0x1000_0000u32.to_le_bytes());
        implicit.extend_from_slice(b"DOE^JOHN");
        let f = file(&implicit, "1.2.840.10008.1.2");
        assert!(check_element_lengths(&f, Path::new("x.dcm")).is_err());
    }
}
