//! The small layer every exported function stands on, so that each export states only what it
//! does: [`guard`] (clears the last error, catches panics, records a failure's message),
//! [`guard_value`] for accessors, [`try_ref!`] (a pointer argument as a reference, or the
//! invalid-argument failure naming the argument), [`out_ptr`] (an out-pointer
//! checked and reset to NULL before any work), [`read_versioned`] and [`write_versioned`] (a
//! caller's extensible struct read or filled through its `struct_size`, never beyond it),
//! [`path_arg`] and [`free_box`] (the body of every `*_free`).

use crate::ffi::status::{pancseg_status, set_last_error, Failure};
use pancseg_status::*;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// An invalid-argument failure with `msg`.
pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err((PANCSEG_INVALID_ARGUMENT, msg.into()))
}

/// An invalid-argument failure from a message (for `map_err`).
pub(crate) fn bad_value(msg: String) -> Failure {
    (PANCSEG_INVALID_ARGUMENT, msg)
}

/// Runs `f`, catching panics; records the error message of a failure.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), Failure>) -> pancseg_status {
    set_last_error("");
    let out = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return PANCSEG_OK,
        Ok(Err(fail)) => fail,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            (PANCSEG_INTERNAL_ERROR, format!("internal error: {what}"))
        }
    };
    set_last_error(&out.1);
    out.0
}

/// Runs an infallible accessor, returning `fallback` on a panic.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// `try_ref!(ptr)`: `&*ptr`, or returns the failure "`ptr` is NULL". The pointer is NULL or valid
/// for the duration of the call (the header's contract for every pointer argument).
macro_rules! try_ref {
    ($p:ident) => {
        // SAFETY: NULL or valid for the call (caller contract, stated in the header)
        match unsafe { $p.as_ref() } {
            Some(r) => r,
            None => return $crate::ffi::boundary::invalid(concat!(stringify!($p), " is NULL")),
        }
    };
}

pub(crate) use try_ref;

/// An out-pointer argument: fails when it is NULL, else sets `*out` to NULL (so a failed call
/// leaves no stale pointer) and returns it for the result.
pub(crate) fn out_ptr<'a, T>(out: *mut *mut T, name: &str) -> Result<&'a mut *mut T, Failure> {
    // SAFETY: NULL or a valid pointer to a pointer for the call (caller contract)
    match unsafe { out.as_mut() } {
        Some(o) => {
            *o = std::ptr::null_mut();
            Ok(o)
        }
        None => invalid(format!("{name} is NULL")),
    }
}

/// Moves `value` to the heap and hands it to C through `out` (freed by [`free_box`]).
pub(crate) fn give<T>(out: &mut *mut T, value: T) {
    *out = Box::into_raw(Box::new(value));
}

/// The largest `struct_size` accepted: far above any version of the option structs (a few
/// hundred bytes), so a garbage value (an uninitialised struct) is refused instead of trusted.
const MAX_STRUCT_SIZE: usize = 4096;

/// A caller-filled extensible struct: its first field is `struct_size`.
pub(crate) trait Versioned: Copy {
    /// The struct's C name, for messages.
    const NAME: &'static str;
}

/// The caller's `struct_size` of the struct at `p` (non-NULL), checked: at most
/// [`MAX_STRUCT_SIZE`] (a larger value is garbage) and at least this library's layout (the
/// struct's first version). `before` names the call, for the message.
fn caller_size<T: Versioned>(p: *const T, before: &str) -> Result<usize, Failure> {
    // SAFETY: non-NULL (callers check); every version of the struct starts with
    // `struct_size: size_t`
    let size = unsafe { p.cast::<usize>().read_unaligned() };
    let need = std::mem::size_of::<T>();
    if size > MAX_STRUCT_SIZE {
        return invalid(format!(
            "{name}.struct_size is {size}, more than any version of {name} can be (at most \
             {MAX_STRUCT_SIZE} bytes): set it to sizeof({name}){before}; an uninitialised struct?",
            name = T::NAME
        ));
    }
    if size < need {
        return invalid(format!(
            "{name}.struct_size is {size}; this library needs at least {need} (set it to \
             sizeof({name}){before})",
            name = T::NAME
        ));
    }
    Ok(size)
}

/// Reads the caller's struct at `p` (`None` for NULL). Its `struct_size` must cover at least
/// this library's layout (the struct's first version); the caller set it to its `sizeof`. A
/// larger struct (a newer header) is read up to the fields this library knows.
pub(crate) fn read_versioned<T: Versioned>(p: *const T) -> Result<Option<T>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    caller_size(p, "")?;
    // SAFETY: the caller's struct is at least as large as ours (checked above)
    Ok(Some(unsafe { p.read_unaligned() }))
}

/// Fills the caller's struct at `p` (non-NULL) with `value`, through the `struct_size` the caller
/// set before the call (`before` names the call for the message): never more bytes than that
/// size, nor than this library's layout; bytes beyond the library's layout (fields of a newer
/// header) are left as they were. `struct_size` is then the number of bytes written, so the
/// caller sees which version of the struct the library filled.
pub(crate) fn write_versioned<T: Versioned>(
    p: *mut T,
    value: T,
    before: &str,
) -> Result<(), Failure> {
    let size = caller_size(p.cast_const(), before)?;
    let ours = std::mem::size_of::<T>();
    let n = size.min(ours);
    // SAFETY: p is non-NULL and the caller's struct holds `size` >= `n` bytes (its own
    // struct_size, checked above); `value` is a plain `repr(C)` struct of `ours` >= `n` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), p.cast::<u8>(), n);
        p.cast::<usize>().write_unaligned(n);
    }
    Ok(())
}

/// A path argument: NULL is `None`; an empty or non-UTF-8 string fails naming `what`.
pub(crate) fn path_arg(p: *const c_char, what: &str) -> Result<Option<PathBuf>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL; the caller passes a NUL-terminated string (header docs).
    let s = unsafe { CStr::from_ptr(p) };
    match s.to_str() {
        Ok("") => invalid(format!("{what} is an empty string")),
        Ok(v) => Ok(Some(PathBuf::from(v))),
        Err(_) => invalid(format!("{what} is not UTF-8")),
    }
}

/// A path argument that must be given.
pub(crate) fn required_path(p: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    path_arg(p, what)?.map_or_else(|| invalid(format!("{what} is NULL")), Ok)
}

/// The body of every `*_free`: NULL is ignored; a panic in a destructor is caught.
pub(crate) fn free_box<T>(p: *mut T) {
    if p.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: created by `give` (Box::into_raw); freed once (caller contract)
        drop(unsafe { Box::from_raw(p) });
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::pancseg_last_error;

    #[test]
    fn panics_become_internal_errors() {
        let s = guard(|| panic!("boom"));
        assert_eq!(s, PANCSEG_INTERNAL_ERROR);
        let msg = unsafe { CStr::from_ptr(pancseg_last_error()) };
        assert!(msg.to_str().unwrap().contains("boom"));
        assert_eq!(guard(|| Ok(())), PANCSEG_OK);
        assert_eq!(
            unsafe { CStr::from_ptr(pancseg_last_error()) }.to_bytes(),
            b""
        );
    }

    #[test]
    fn null_pointers_fail_with_the_argument_name() {
        fn takes(thing: *const u32) -> Result<(), Failure> {
            let v = try_ref!(thing);
            assert_eq!(*v, 7);
            Ok(())
        }
        assert_eq!(takes(&7).unwrap(), ());
        let e = takes(std::ptr::null()).unwrap_err();
        assert_eq!(e, (PANCSEG_INVALID_ARGUMENT, "thing is NULL".to_string()));
        let mut slot: *mut u32 = std::ptr::dangling_mut();
        assert!(out_ptr(&mut slot, "out").unwrap().is_null());
        assert_eq!(
            out_ptr::<u32>(std::ptr::null_mut(), "out").unwrap_err().1,
            "out is NULL"
        );
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct V {
        struct_size: usize,
        x: u32,
    }

    impl Versioned for V {
        const NAME: &'static str = "v";
    }

    #[test]
    fn versioned_structs_are_read_through_their_size() {
        assert!(read_versioned::<V>(std::ptr::null()).unwrap().is_none());
        let v = V {
            struct_size: std::mem::size_of::<V>(),
            x: 9,
        };
        assert_eq!(read_versioned(&v).unwrap().unwrap().x, 9);
        let small = V {
            struct_size: 4,
            x: 9,
        };
        let e = read_versioned(&small).unwrap_err();
        assert!(e.1.contains("v.struct_size is 4"), "{}", e.1);
        let garbage = V {
            struct_size: usize::MAX / 3,
            x: 9,
        };
        let e = read_versioned(&garbage).unwrap_err();
        assert_eq!(e.0, PANCSEG_INVALID_ARGUMENT);
        assert!(e.1.contains("more than any version"), "{}", e.1);
    }

    /// A caller's struct of a newer header: this library's `V`, then a field it does not know.
    #[derive(Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Newer {
        v: V,
        tail: u64,
    }

    #[test]
    fn versioned_structs_are_written_through_their_size() {
        let ours = std::mem::size_of::<V>();
        let value = V {
            struct_size: ours,
            x: 5,
        };
        // equal
        let mut eq = V {
            struct_size: ours,
            x: 0,
        };
        write_versioned(&mut eq, value, "").unwrap();
        assert_eq!(eq, value);
        // larger (a newer header): the library's fields written, the rest untouched,
        // struct_size says how much was written
        let mut big = Newer {
            v: V {
                struct_size: std::mem::size_of::<Newer>(),
                x: 0,
            },
            tail: 0xdead_beef,
        };
        write_versioned((&mut big as *mut Newer).cast::<V>(), value, "").unwrap();
        assert_eq!(big.v, value);
        assert_eq!(big.tail, 0xdead_beef);
        // smaller than the first version, and garbage: refused, nothing written
        for size in [0, 4, ours - 1, MAX_STRUCT_SIZE + 1, usize::MAX] {
            let mut slot = Newer {
                v: V {
                    struct_size: size,
                    x: 77,
                },
                tail: 1,
            };
            let e = write_versioned((&mut slot as *mut Newer).cast::<V>(), value, " first")
                .unwrap_err();
            assert_eq!(e.0, PANCSEG_INVALID_ARGUMENT, "{size}");
            assert!(e.1.contains(&format!("v.struct_size is {size}")), "{}", e.1);
            assert!(e.1.contains("sizeof(v) first"), "{}", e.1);
            assert_eq!((slot.v.struct_size, slot.v.x, slot.tail), (size, 77, 1));
        }
    }
}
