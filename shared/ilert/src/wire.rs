//! Tolerant readers for ilert's JSON. ilert documents most fields loosely ("type: number" for
//! integer ids, timestamps with anything from no to nine fractional digits, `null` where an
//! empty list is meant) and adds enum values without notice, so reading is lenient where
//! the meaning is still unambiguous and strict where guessing would be wrong.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serializer};
use serde_json::Value;

/// An enum ilert sends as a string, open to values added later: unknown values are kept
/// verbatim in `Other`, known ones compared case-insensitively. `|` lists extra wire names
/// that read as the same variant (legacy spellings); the first name is the one written.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, kept as ilert sent it.
            Other(String),
        }

        impl $name {
            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                $(
                    if raw.eq_ignore_ascii_case($wire) $(|| raw.eq_ignore_ascii_case($alias))* {
                        return Self::$variant;
                    }
                )+
                Self::Other(raw.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Ok(Self::from(raw.as_str()))
            }
        }
    };
}
pub(crate) use open_enum;

/// Parses an ISO-8601 timestamp of any precision; one without an offset is taken as UTC.
pub(crate) fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    // `+0000` instead of `+00:00`, seen from Java-based senders.
    if let Ok(t) = DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc())
}

/// `Option<DateTime<Utc>>`: `null`, an ISO-8601 string, or epoch milliseconds.
pub(crate) fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => parse_timestamp(&s)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an ISO-8601 timestamp, got {s:?}"))),
        Value::Number(n) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected epoch milliseconds, got {n}"))),
        other => Err(de::Error::custom(format!("expected an ISO-8601 timestamp, got {}", kind(&other)))),
    }
}

/// An integer id sent as a number (`42`, `42.0`) or a decimal string (`"42"`).
pub(crate) fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(d)?;
    as_i64(&value).ok_or_else(|| de::Error::custom(format!("expected an integer id, got {}", describe(&value))))
}

/// An optional integer (absent, `null`, a number or a decimal string).
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        value => as_i64(&value)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected an integer, got {}", describe(&value)))),
    }
}

/// A string id that may arrive as a number (webhooks send the alert id as `"2983781"`, but
/// nothing is lost by also reading `2983781`).
pub(crate) fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(de::Error::custom(format!("expected a non-empty id, got {}", describe(&other)))),
    }
}

/// A list where ilert may send `null` for "none".
pub(crate) fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A string where ilert may send `null`; both read as empty.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Writes a secret where ilert expects it in a body (the events API's integration key).
pub(crate) fn expose<S: Serializer>(secret: &secrets::SecretString, s: S) -> Result<S::Ok, S::Error> {
    use secrets::ExposeSecret;
    s.serialize_str(secret.expose_secret())
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        }
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The JSON kind of a value, for error messages that must not echo remote content at length.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("the string {s:?}"),
        other => kind(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_any_precision() {
        let secs = parse_timestamp("2026-08-26T00:00:00Z").unwrap();
        assert_eq!(parse_timestamp("2026-08-26T00:00:00.000Z"), Some(secs));
        assert_eq!(parse_timestamp("2026-08-26T02:00:00+02:00"), Some(secs));
        assert_eq!(parse_timestamp("2026-08-26T00:00:00.000+0000"), Some(secs));
        assert_eq!(parse_timestamp("2026-08-26T00:00:00"), Some(secs));
        let nanos = parse_timestamp("2026-08-26T00:00:00.123456789Z").unwrap();
        assert_eq!(nanos.timestamp_subsec_nanos(), 123_456_789);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn ids_as_numbers_or_strings() {
        let read = |v: Value| id(v).ok();
        assert_eq!(read(serde_json::json!(42)), Some(42));
        assert_eq!(read(serde_json::json!(42.0)), Some(42));
        assert_eq!(read(serde_json::json!("42")), Some(42));
        assert_eq!(read(serde_json::json!(4.5)), None);
        assert_eq!(read(serde_json::json!("x")), None);
    }
}
