//! One macro, [`c_enum_table!`], that derives everything the C boundary needs from a `repr(C)`
//! enum's variant list: the list of all variants (for tests that walk them), the conversion from
//! the `int32_t` a C caller stores in a struct field, and a table mapping each variant to a Rust
//! value (a message, a pipeline method, an element size). The table is an exhaustive `match`, so a
//! variant added to the enum without a row here does not compile, and no literal integer table
//! can drift from the enum's values.
//!
//! The enums themselves stay written out in their modules: cbindgen reads the source and does not
//! expand macros.

/// `c_enum_table!(pancseg_x => T { VARIANT => value, ... })` adds to `pancseg_x`:
/// `ALL` (every variant, in order), `from_c(i32) -> Option<Self>`, `parse(i32, field) ->
/// Result<Self, String>` (the message names the field and the enum) and `value(self) -> T`.
macro_rules! c_enum_table {
    ($enum:ident => $t:ty { $($variant:ident => $value:expr),+ $(,)? }) => {
        impl $enum {
            /// Every variant, in declaration order.
            #[allow(dead_code)]
            pub(crate) const ALL: &'static [$enum] = &[$($enum::$variant),+];

            /// The variant whose C value is `v`.
            #[allow(dead_code)]
            pub(crate) fn from_c(v: i32) -> Option<$enum> {
                Self::ALL.iter().copied().find(|x| *x as i32 == v)
            }

            /// The variant whose C value is `v`, or the message naming `field` and the enum.
            #[allow(dead_code)]
            pub(crate) fn parse(v: i32, field: &str) -> Result<$enum, String> {
                Self::from_c(v)
                    .ok_or_else(|| format!("{field} {v} is not a {} value", stringify!($enum)))
            }

            /// This variant's row of the table.
            #[allow(dead_code)]
            pub(crate) fn value(self) -> $t {
                match self {
                    $($enum::$variant => $value),+
                }
            }
        }
    };
}

pub(crate) use c_enum_table;
