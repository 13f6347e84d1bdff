//! EDM (OData primitive) types as they travel in Graph's JSON, and the small helpers the
//! generated code uses (string enums, flags sets, literals).
//!
//! Typed conversions to the `time` crate's types are behind this crate's `time` feature
//! (`msgraph-typed` forwards it); without it, date and time values are text.
//!
//! Date and time values are kept as the exact text the service sent, so a round trip is
//! lossless and a malformed value never fails a whole response; typed accessors parse on
//! demand:
//!
//! ```
//! use msgraph_typed_odata::edm::{DateTimeOffset, Double};
//!
//! let when = DateTimeOffset::new("2021-07-16T10:11:12.1234567Z");
//! # #[cfg(feature = "time")]
//! assert_eq!(when.to_offset_date_time()?.nanosecond(), 123_456_700);
//! let x: Double = serde_json::from_str("\"-INF\"")?;
//! assert!(x.0.is_infinite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod conversions;

/// A value that could not be parsed as the EDM type it claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdmError {
    kind: &'static str,
    value: String,
}

impl EdmError {
    fn new(kind: &'static str, value: &str) -> EdmError {
        EdmError {
            kind,
            value: value.chars().take(64).collect(),
        }
    }
}

impl fmt::Display for EdmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid Edm.{} value {:?}", self.kind, self.value)
    }
}

impl std::error::Error for EdmError {}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps wire text as is.
            pub fn new(text: impl Into<String>) -> Self {
                Self(text.into())
            }

            /// The text exactly as on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ODataLiteral for $name {
            fn literal(&self) -> String {
                crate::path::encode_segment(&self.0)
            }
        }
    };
}

text_newtype!(
    /// `Edm.DateTimeOffset`: RFC 3339 text, up to 7 fractional digits, `Z` or an offset.
    DateTimeOffset
);
text_newtype!(
    /// `Edm.Date`: `YYYY-MM-DD`.
    Date
);
text_newtype!(
    /// `Edm.TimeOfDay`: `hh:mm:ss` with optional fractional seconds.
    TimeOfDay
);
text_newtype!(
    /// `Edm.Duration`: ISO 8601 duration such as `PT1H30M` or `P2DT3.5S`.
    Duration
);
text_newtype!(
    /// `Edm.Guid`: a UUID in its text form.
    Guid
);

impl Duration {
    /// Parses the value into a [`std::time::Duration`]. Years and months have no fixed
    /// length and are rejected, as are negative durations.
    ///
    /// # Errors
    /// [`EdmError`] when the text is not a supported ISO 8601 duration.
    pub fn to_std(&self) -> Result<std::time::Duration, EdmError> {
        let s = self.0.trim();
        let err = || EdmError::new("Duration", s);
        let rest = s.strip_prefix('P').ok_or_else(err)?;
        let mut secs = 0f64;
        let mut in_time = false;
        let mut number = String::new();
        for c in rest.chars() {
            match c {
                'T' => in_time = true,
                '0'..='9' | '.' => number.push(c),
                unit => {
                    let n: f64 = number.parse().map_err(|_| err())?;
                    number.clear();
                    secs += n * match (in_time, unit) {
                        (false, 'W') => 604_800.0,
                        (false, 'D') => 86_400.0,
                        (true, 'H') => 3_600.0,
                        (true, 'M') => 60.0,
                        (true, 'S') => 1.0,
                        _ => return Err(err()),
                    };
                }
            }
        }
        if !number.is_empty() {
            return Err(err());
        }
        std::time::Duration::try_from_secs_f64(secs).map_err(|_| err())
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        let nanos = d.subsec_nanos();
        if nanos == 0 {
            Self(format!("PT{}S", d.as_secs()))
        } else {
            let frac = format!("{nanos:09}");
            Self(format!("PT{}.{}S", d.as_secs(), frac.trim_end_matches('0')))
        }
    }
}

/// `Edm.Double`, `Edm.Single` and `Edm.Decimal`: a number, or the strings `INF`, `-INF`
/// and `NaN` that OData uses for non-finite values (numeric strings are accepted too).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Double(pub f64);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            serializer.serialize_str("NaN")
        } else if v.is_infinite() {
            serializer.serialize_str(if v > 0.0 { "INF" } else { "-INF" })
        } else {
            serializer.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire<'a> {
            Num(f64),
            #[serde(borrow)]
            Text(Cow<'a, str>),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Num(n) => Ok(Double(n)),
            Wire::Text(t) => match t.as_ref() {
                "INF" => Ok(Double(f64::INFINITY)),
                "-INF" => Ok(Double(f64::NEG_INFINITY)),
                "NaN" => Ok(Double(f64::NAN)),
                other => other
                    .parse::<f64>()
                    .map(Double)
                    .map_err(|_| D::Error::custom(EdmError::new("Double", other))),
            },
        }
    }
}

impl From<f64> for Double {
    fn from(v: f64) -> Self {
        Double(v)
    }
}

/// `Edm.Binary`: bytes, base64 on the wire (standard or URL-safe alphabet accepted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Binary(pub Vec<u8>);

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
        let text = Cow::<str>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .or_else(|_| URL_SAFE.decode(text.as_bytes()))
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.as_bytes()))
            .map(Binary)
            .map_err(|_| D::Error::custom(EdmError::new("Binary", &text)))
    }
}

/// Implemented by every generated enum: its wire string, and a total conversion back
/// (values the metadata does not list become the `Unknown` variant).
pub trait StringEnum: Sized {
    /// The member name as on the wire.
    fn as_str(&self) -> &str;
    /// The member for a wire string; unknown strings are kept in `Unknown`.
    fn from_wire(text: &str) -> Self;
}

/// Serializes a [`StringEnum`] (used by generated code).
#[doc(hidden)]
pub fn ser_enum<E: StringEnum, S: Serializer>(value: &E, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.as_str())
}

/// Deserializes a [`StringEnum`] (used by generated code).
#[doc(hidden)]
pub fn de_enum<'de, E: StringEnum, D: Deserializer<'de>>(deserializer: D) -> Result<E, D::Error> {
    let text = Cow::<str>::deserialize(deserializer)?;
    Ok(E::from_wire(&text))
}

/// A set of members of a flags enum; on the wire, a comma-separated string (`"a,b"`).
///
/// ```
/// use msgraph_typed_odata::edm::{Flags, StringEnum};
/// # #[derive(Clone, Debug, PartialEq)] enum Mode { A, B, Unknown(String) }
/// # impl StringEnum for Mode {
/// #     fn as_str(&self) -> &str { match self { Mode::A => "a", Mode::B => "b", Mode::Unknown(s) => s } }
/// #     fn from_wire(t: &str) -> Self { match t { "a" => Mode::A, "b" => Mode::B, o => Mode::Unknown(o.into()) } }
/// # }
/// let flags: Flags<Mode> = serde_json::from_str("\"a, b\"")?;
/// assert!(flags.contains(&Mode::B));
/// assert_eq!(serde_json::to_string(&flags)?, "\"a,b\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Flags<E>(Vec<E>);

impl<E> Default for Flags<E> {
    fn default() -> Self {
        Flags(Vec::new())
    }
}

impl<E: PartialEq> Flags<E> {
    /// An empty set.
    pub fn new() -> Self {
        Flags(Vec::new())
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &E) -> bool {
        self.0.contains(member)
    }

    /// Adds `member` (no duplicate is kept).
    pub fn insert(&mut self, member: E) {
        if !self.0.contains(&member) {
            self.0.push(member);
        }
    }

    /// Removes `member`.
    pub fn remove(&mut self, member: &E) {
        self.0.retain(|m| m != member);
    }

    /// The members in wire order.
    pub fn iter(&self) -> std::slice::Iter<'_, E> {
        self.0.iter()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<E: PartialEq> FromIterator<E> for Flags<E> {
    fn from_iter<I: IntoIterator<Item = E>>(iter: I) -> Self {
        let mut f = Flags::new();
        for m in iter {
            f.insert(m);
        }
        f
    }
}

impl<E: StringEnum> Serialize for Flags<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let parts: Vec<&str> = self.0.iter().map(StringEnum::as_str).collect();
        serializer.serialize_str(&parts.join(","))
    }
}

impl<'de, E: StringEnum + PartialEq> Deserialize<'de> for Flags<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        Ok(text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(E::from_wire)
            .collect())
    }
}

/// A value written as an OData URL literal in a function call, e.g. `name='x'` or `top=5`.
pub trait ODataLiteral {
    /// The literal, percent-encoded for a path segment.
    fn literal(&self) -> String;
}

/// A quoted, escaped and percent-encoded string literal: `it's` -> `'it''s'`.
#[doc(hidden)]
pub fn quoted(text: &str) -> String {
    format!(
        "'{}'",
        crate::path::encode_segment(&text.replace('\'', "''"))
    )
}

/// Renders a function parameter (used by generated code).
#[doc(hidden)]
pub fn literal<T: ODataLiteral + ?Sized>(value: &T) -> String {
    value.literal()
}

impl ODataLiteral for str {
    fn literal(&self) -> String {
        quoted(self)
    }
}

impl<T: ODataLiteral + ?Sized> ODataLiteral for &T {
    fn literal(&self) -> String {
        (**self).literal()
    }
}

macro_rules! plain_literal {
    ($($t:ty),*) => {
        $(impl ODataLiteral for $t {
            fn literal(&self) -> String {
                self.to_string()
            }
        })*
    };
}
plain_literal!(bool, u8, i8, i16, i32, i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_round_trip_as_sent() {
        let a = DateTimeOffset::new("2014-01-01T00:00:00.1234567Z");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"2014-01-01T00:00:00.1234567Z\"");
        let back: DateTimeOffset = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn durations() {
        assert_eq!(
            Duration::new("P1DT2H3M4.5S").to_std().unwrap(),
            std::time::Duration::from_secs_f64(86_400.0 + 7_200.0 + 180.0 + 4.5)
        );
        assert!(Duration::new("P1Y").to_std().is_err());
        assert_eq!(
            Duration::from(std::time::Duration::from_millis(1500)).as_str(),
            "PT1.5S"
        );
    }

    #[test]
    fn double_special_values() {
        for (text, check) in [
            ("\"INF\"", f64::INFINITY),
            ("\"-INF\"", f64::NEG_INFINITY),
            ("1.5", 1.5),
            ("\"2.5\"", 2.5),
        ] {
            let d: Double = serde_json::from_str(text).unwrap();
            assert_eq!(d.0, check);
        }
        let nan: Double = serde_json::from_str("\"NaN\"").unwrap();
        assert!(nan.0.is_nan());
        assert_eq!(serde_json::to_string(&nan).unwrap(), "\"NaN\"");
        assert_eq!(
            serde_json::to_string(&Double(f64::NEG_INFINITY)).unwrap(),
            "\"-INF\""
        );
        assert!(serde_json::from_str::<Double>("\"abc\"").is_err());
    }

    #[test]
    fn binary_base64() {
        let b: Binary = serde_json::from_str("\"aGVsbG8=\"").unwrap();
        assert_eq!(b.0, b"hello");
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"aGVsbG8=\"");
        assert!(serde_json::from_str::<Binary>("\"***\"").is_err());
    }

    #[test]
    fn literals() {
        assert_eq!(literal(&"it's"), "'it''s'");
        assert_eq!(literal(&5i32), "5");
        assert_eq!(literal(&true), "true");
    }
}
