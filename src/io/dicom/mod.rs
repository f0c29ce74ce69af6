//! DICOM on dicom-rs, in the order of the data path: the length guard run before parsing, the
//! header of one instance (classic or Enhanced CT, from a file or memory), the series selection
//! policy, the CT series reader, the source series that derived objects reference, and the
//! writers (CT series, Segmentation, RT Structure Set) over one set of element helpers
//! ([`encode`]).

pub mod ct_writer;
pub mod encode;
pub mod guard;
pub(crate) mod instance;
pub mod selection;
pub mod rtstruct;
pub mod seg;
pub mod series;
pub mod source;
