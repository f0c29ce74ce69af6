//! The C ABI (`pancseg_*`); `include/pancseg.h` is generated from this folder by cbindgen.
//!
//! One file per C object: [`status`] (status codes, last error, version), [`context`]
//! (`pancseg_options`, create/free), [`volume`] (the caller's `pancseg_volume`), [`segment`]
//! (`pancseg_segment` and its options), [`result`] (accessors and writers), [`image`] (volumes
//! loaded by the library). They stand on [`boundary`] (panic guard, pointer and struct checks,
//! out-pointers, frees) and [`c_enum`] (the enums' value tables).
//!
//! Conventions, for every function:
//! - **Errors**: fallible functions return a `pancseg_status`. On failure the message of the
//!   error is kept per thread: `pancseg_last_error()` returns it until the next fallible
//!   `pancseg_*` call on the same thread (each such call clears it first). Never NULL.
//! - **Panics**: every exported function catches panics (returning `PANCSEG_INTERNAL_ERROR`
//!   with a message); nothing unwinds into C and nothing aborts. The library stays usable.
//! - **Ownership**: objects the library creates (`pancseg_context`, `pancseg_result`,
//!   `pancseg_image`) are freed by their `*_free` function, which accepts NULL. Results and
//!   images own their data and stay valid after the context is freed; free them in any order.
//!   Pointers returned by accessors are borrowed from their object and valid until it is freed.
//! - **Extensible structs**: every extensible struct starts with `struct_size`, which the
//!   caller sets to `sizeof` the struct before any call that reads or fills it (the `*_init`
//!   functions and `pancseg_image_volume` fill one; they keep `struct_size` and write defaults).
//!   Newer headers may append fields; the library reads and writes only what both `struct_size`
//!   and its own layout cover, and a filling call leaves `struct_size` at the bytes it wrote.
//! - **Threads**: one context may be used from many threads at once (`pancseg_segment` is
//!   thread-safe on the same context); callbacks run on library threads.

// The exported functions are C entry points: C callers see no `unsafe`, every pointer argument
// is NULL-checked, and the validity contract of non-NULL pointers is stated in the header.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
mod c_enum;
pub mod context;
pub mod image;
pub mod result;
pub mod segment;
pub mod status;
pub mod volume;

pub use context::{pancseg_context, pancseg_device, pancseg_log_level, pancseg_options};
pub use image::{pancseg_dicom_buffer, pancseg_image};
pub use result::pancseg_result;
pub use segment::{pancseg_method, pancseg_segment_options};
pub use status::pancseg_status;
pub use volume::{check_volume, pancseg_dtype, pancseg_volume};
