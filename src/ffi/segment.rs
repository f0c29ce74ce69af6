//! The segmentation call: `pancseg_segment_options` (with the method enum, the progress callback
//! and the cancellation flag), `pancseg_segment_options_init` and `pancseg_segment`, which turns a
//! caller's volume into a `pancseg_result`.

use crate::error::Error;
use crate::ffi::boundary::{
    bad_value, give, guard, invalid, out_ptr, read_versioned, try_ref, write_versioned, Versioned,
};
use crate::ffi::c_enum::c_enum_table;
use crate::ffi::context::{pancseg_context, pancseg_log_level};
use crate::ffi::result::pancseg_result;
use crate::ffi::status::{from_error, pancseg_status};
use crate::ffi::volume::{pancseg_volume, volume_of};
use crate::pipeline::{Method, SegmentOptions};
use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, Ordering};

/// What the mask is made from (the `method` field of `pancseg_segment_options`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum pancseg_method {
    /// G(P2) >= p2 (default): R2 probabilities smoothed in 3D.
    PANCSEG_METHOD_G_P2 = 0,
    /// G(P0) >= p0: the P-ConvNet's patch probabilities smoothed in 3D.
    PANCSEG_METHOD_G_P0 = 1,
    /// G(P1) >= p1: R1 (CT zoom-out boxes) probabilities smoothed in 3D.
    PANCSEG_METHOD_G_P1 = 2,
    /// P0 >= p0: the P-ConvNet's map, unsmoothed.
    PANCSEG_METHOD_P0 = 3,
    /// P1 >= p1: R1's per-superpixel probabilities, unsmoothed.
    PANCSEG_METHOD_P1 = 4,
    /// P2 >= p2: R2's (CT and P0 boxes) per-superpixel probabilities, unsmoothed.
    PANCSEG_METHOD_P2 = 5,
    /// The superpixel CRF on P2 (needs a bundle with a boundary network).
    PANCSEG_METHOD_CRF_P2 = 6,
}

c_enum_table!(pancseg_method => Method {
    PANCSEG_METHOD_G_P2 => Method::GP2,
    PANCSEG_METHOD_G_P0 => Method::GP0,
    PANCSEG_METHOD_G_P1 => Method::GP1,
    PANCSEG_METHOD_P0 => Method::P0,
    PANCSEG_METHOD_P1 => Method::P1,
    PANCSEG_METHOD_P2 => Method::P2,
    PANCSEG_METHOD_CRF_P2 => Method::CrfP2,
});

/// Progress callback: `fraction` in [0, 1], strictly increasing within one call of
/// `pancseg_segment`. Called from library threads, never concurrently for one call.
#[allow(non_camel_case_types)]
pub type pancseg_progress_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, fraction: f32)>;

/// Options of one `pancseg_segment` call. Set `struct_size`, fill with
/// `pancseg_segment_options_init`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct pancseg_segment_options {
    /// `sizeof(pancseg_segment_options)`.
    pub struct_size: usize,
    /// A `pancseg_method` value.
    pub method: i32,
    /// Non-zero: keep the probability map (`pancseg_result_probability`).
    pub want_probability: i32,
    /// Non-zero: keep only the largest connected component of the mask.
    pub largest_component: i32,
    /// Optional progress callback and its user data.
    pub progress: pancseg_progress_callback,
    /// Passed unchanged to every `progress` call (may be NULL).
    pub progress_user_data: *mut c_void,
    /// Optional cancellation flag: the caller sets `*cancel` to non-zero (from any thread, with
    /// an atomic store) and the call returns `PANCSEG_CANCELLED` soon after. Must stay valid
    /// during the call; 4-byte aligned.
    pub cancel: *const i32,
}

impl Versioned for pancseg_segment_options {
    const NAME: &'static str = "pancseg_segment_options";
}

impl pancseg_segment_options {
    /// The defaults `pancseg_segment_options_init` writes.
    pub(crate) fn defaults() -> Self {
        pancseg_segment_options {
            struct_size: std::mem::size_of::<pancseg_segment_options>(),
            method: pancseg_method::PANCSEG_METHOD_G_P2 as i32,
            want_probability: 0,
            largest_component: 0,
            progress: None,
            progress_user_data: std::ptr::null_mut(),
            cancel: std::ptr::null(),
        }
    }
}

/// Fills `options` with the defaults (method G(P2), no probability map, no callbacks). Set
/// `options->struct_size = sizeof(pancseg_segment_options)` first: the library writes no more
/// than that many bytes (nor more than the fields it knows) and leaves `struct_size` at the
/// number it wrote.
#[no_mangle]
pub extern "C" fn pancseg_segment_options_init(
    options: *mut pancseg_segment_options,
) -> pancseg_status {
    guard(|| {
        if options.is_null() {
            return invalid("options is NULL");
        }
        write_versioned(
            options,
            pancseg_segment_options::defaults(),
            " before pancseg_segment_options_init",
        )
    })
}

/// The caller's progress callback and cancellation flag for one call.
struct Callbacks {
    progress: pancseg_progress_callback,
    user: *mut c_void,
    cancel: *const i32,
}

// SAFETY: the caller promises (header docs) that the callback, its user data and the cancel
// flag may be used from library threads during the call.
unsafe impl Send for Callbacks {}
unsafe impl Sync for Callbacks {}

impl Callbacks {
    fn report(&self, f: f32) {
        if let Some(cb) = self.progress {
            // SAFETY: the caller's callback (header docs).
            unsafe { cb(self.user, f) };
        }
    }

    fn cancelled(&self) -> bool {
        // SAFETY: non-NULL, aligned (checked), valid during the call, written atomically by the
        // caller (header docs).
        !self.cancel.is_null()
            && unsafe { AtomicI32::from_ptr(self.cancel.cast_mut()) }.load(Ordering::Relaxed) != 0
    }
}

/// Segments `ct` with the context's bundle. `options` may be NULL (defaults). On success `*out`
/// owns a result to free with `pancseg_result_free`; on failure `*out` is NULL. Thread-safe:
/// many threads may segment with one context at once.
#[no_mangle]
pub extern "C" fn pancseg_segment(
    ctx: *mut pancseg_context,
    ct: *const pancseg_volume,
    options: *const pancseg_segment_options,
    out: *mut *mut pancseg_result,
) -> pancseg_status {
    guard(|| {
        let out = out_ptr(out, "out")?;
        // shared use from many threads is what Segmenter supports
        let ctx: &pancseg_context = try_ref!(ctx);
        let Some(v) = read_versioned(ct)? else {
            return invalid("ct is NULL");
        };
        let so = read_versioned(options)?.unwrap_or_else(pancseg_segment_options::defaults);
        let method = pancseg_method::parse(so.method, "method")
            .map_err(bad_value)?
            .value();
        if !so.cancel.is_null() && so.cancel.align_offset(4) != 0 {
            return invalid("cancel is not 4-byte aligned");
        }
        // voxel count and memory budget before the volume is converted (allocated)
        let volume = volume_of(&v, &ctx.limits)?;
        let cbs = Callbacks {
            progress: so.progress,
            user: so.progress_user_data,
            cancel: so.cancel,
        };
        let cbs = &cbs;
        let progress = |f: f32| cbs.report(f);
        let cancel = || cbs.cancelled();
        let opts = SegmentOptions {
            method,
            probability: so.want_probability != 0,
            largest_component: so.largest_component != 0,
            progress: Some(&progress),
            cancel: Some(&cancel),
        };
        let seg = match ctx.segmenter.segment(&volume, &opts) {
            Ok(s) => s,
            Err(e) => {
                if !matches!(e, Error::Cancelled) {
                    ctx.log
                        .log(pancseg_log_level::PANCSEG_LOG_ERROR, &e.chain());
                }
                return Err(from_error(e));
            }
        };
        drop(volume);
        let r = &seg.report;
        ctx.log.log(
            pancseg_log_level::PANCSEG_LOG_INFO,
            &format!(
                "segmented: {:.1} mL, {} candidates, {:.2} s",
                r.pancreas_ml, r.candidates, r.total_seconds
            ),
        );
        give(out, pancseg_result::of(seg));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pancseg_status::*;

    #[test]
    fn null_arguments_are_errors_and_reset_the_out_pointer() {
        let mut r = std::ptr::dangling_mut::<pancseg_result>();
        assert_eq!(
            pancseg_segment(
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                &mut r
            ),
            PANCSEG_INVALID_ARGUMENT
        );
        assert!(r.is_null());
        let msg = unsafe { std::ffi::CStr::from_ptr(crate::ffi::status::pancseg_last_error()) };
        assert_eq!(msg.to_str().unwrap(), "ctx is NULL");
    }

    #[test]
    fn methods_convert_from_their_c_values() {
        let all: Vec<(i32, Method)> = pancseg_method::ALL
            .iter()
            .map(|m| (*m as i32, m.value()))
            .collect();
        assert_eq!(
            all,
            [
                (0, Method::GP2),
                (1, Method::GP0),
                (2, Method::GP1),
                (3, Method::P0),
                (4, Method::P1),
                (5, Method::P2),
                (6, Method::CrfP2)
            ]
        );
        let e = pancseg_method::parse(7, "method").unwrap_err();
        assert_eq!(e, "method 7 is not a pancseg_method value");
    }
}
