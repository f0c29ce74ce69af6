//! DICOM on dicom-rs: the length guard run before parsing, the CT series reader, the CT series
//! writer and the Segmentation writer and reader, over one set of element helpers ([`encode`])
//! that the writers share.

pub mod ct_writer;
pub mod encode;
pub mod guard;
pub mod seg;
pub mod series;
