//! The two macros the generated models are written with: they keep each generated enum
//! to its members and wire names.

/// Defines a string enum with an `Unknown(String)` variant (used by generated code).
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of the SDK does not know, kept verbatim.
            Unknown(String),
        }

        impl $crate::edm::StringEnum for $name {
            fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(other) => other,
                }
            }

            fn from_wire(text: &str) -> Self {
                match text {
                    $($wire => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::edm::ser_enum(self, serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::edm::de_enum(deserializer)
            }
        }

        impl $crate::edm::ODataLiteral for $name {
            fn literal(&self) -> String {
                $crate::edm::quoted(<Self as $crate::edm::StringEnum>::as_str(self))
            }
        }
    };
}
pub(crate) use string_enum;

/// Defines the `$select` field enum of an entity type (used by generated code).
macro_rules! select_fields {
    ($(#[$meta:meta])* pub enum $name:ident for $($target:ident),+ { $($variant:ident = $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $wire, "`")] $variant,)*
        }

        impl $name {
            /// The property name as on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                }
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        $(impl $crate::Selectable for $target {
            type Field = $name;
        })+
    };
}
pub(crate) use select_fields;
