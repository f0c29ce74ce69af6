//! DICOM element helpers shared by the writers ([`super::ct_writer`], [`super::seg`]): transfer
//! syntax UIDs, DS formatting, element and sequence constructors, UIDs, the DA/TM of now and the
//! ImageOrientationPatient of a grid. One place, so the two writers depend on it and not on each
//! other.

use crate::volume::Geometry;
use dicom::core::value::DataSetSequence;
use dicom::core::{DataElement, PrimitiveValue, Tag, VR};
use dicom::dictionary_std::tags;
use dicom::object::InMemDicomObject;

/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
/// Implicit VR Little Endian.
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Big Endian (retired, still found in archives).
pub const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
/// Deflated Explicit VR Little Endian.
pub const DEFLATED_EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1.99";

/// A DS (decimal string) value: at most 16 characters.
pub(crate) fn ds(v: f64) -> String {
    // DS values are at most 16 characters.
    let s = format!("{v}");
    if s.len() <= 16 {
        s
    } else {
        let mut p = 10usize;
        loop {
            let t = format!("{v:.p$}");
            if t.len() <= 16 || p == 0 {
                return t;
            }
            p -= 1;
        }
    }
}

/// A multi-valued DS.
pub(crate) fn multi_ds(values: &[f64]) -> String {
    values.iter().map(|v| ds(*v)).collect::<Vec<_>>().join("\\")
}

/// Puts a string element.
pub(crate) fn put_str(obj: &mut InMemDicomObject, tag: dicom::core::Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// A UID under the "2.25" root (ITU-T X.667): the decimal form of a random 128-bit value.
pub fn new_uid() -> String {
    let v: u128 = rand::random::<u128>() & ((1u128 << 122) - 1) | (1u128 << 121);
    format!("2.25.{v}")
}

/// The current UTC date and time as DICOM DA (YYYYMMDD) and TM (HHMMSS).
pub(crate) fn now_utc() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // civil-from-days (proleptic Gregorian), days since 1970-01-01
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!("{:02}{:02}{:02}", rem / 3600, (rem % 3600) / 60, rem % 60),
    )
}

/// A sequence item from its elements.
pub(crate) fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

/// A string element.
pub(crate) fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A sequence element.
pub(crate) fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// A code sequence item (value, scheme, meaning).
pub(crate) fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    item(vec![
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// A US element.
pub(crate) fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

/// ImageOrientationPatient (row cosine, column cosine) of the grid's axial slices.
pub(crate) fn image_orientation(g: &Geometry) -> [f64; 6] {
    [
        g.direction[0][0],
        g.direction[1][0],
        g.direction[2][0],
        g.direction[0][1],
        g.direction[1][1],
        g.direction[2][1],
    ]
}
