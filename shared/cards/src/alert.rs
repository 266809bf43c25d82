//! [`AlertView`]: an ilert alert as far as a card shows it, read tolerantly from the webhook
//! body or the REST API (both camelCase).
//!
//! Only `id` is required. Every other field is optional, and a field of the wrong type reads
//! as absent instead of failing the whole alert: a card with one fact missing is better than
//! no card. Unknown fields are ignored; unknown enum values are kept verbatim.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest alert id accepted. ilert ids are integers; the id travels in every action's data,
/// so an absurd one is refused rather than cut (a cut id names another alert).
pub const MAX_ID_BYTES: usize = 64;

/// Why a JSON value is not an alert.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlertViewError {
    /// The value is not a JSON object.
    #[error("an alert must be a JSON object")]
    NotAnObject,
    /// `id` is missing, empty, too long or neither a string nor an integer.
    #[error("the alert has no usable id: {0}")]
    Id(String),
}

/// Declares an enum ilert sends as a string whose set of values may grow: matching ignores
/// ASCII case, and a value not listed is kept in `Other`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this crate does not know, as ilert sent it.
            Other(String),
        }

        impl $name {
            /// The value as ilert spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                $(if raw.eq_ignore_ascii_case($wire) {
                    return Self::$variant;
                })+
                Self::Other(raw.to_owned())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Ok(Self::from(raw.as_str()))
            }
        }
    };
}

wire_enum! {
    /// `status` of an alert.
    AlertStatus { Pending = "PENDING", Accepted = "ACCEPTED", Resolved = "RESOLVED" }
}

wire_enum! {
    /// `priority` of an alert.
    Priority { High = "HIGH", Low = "LOW" }
}

wire_enum! {
    /// `status` of one responder.
    ResponderStatus { Pending = "PENDING", Accepted = "ACCEPTED" }
}

/// An entity referred to by id and name (`alertSource`, `escalationPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    /// The id (a number on the wire), as a string.
    #[serde(default, deserialize_with = "lenient_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A user inside an alert (`responders[].user`, legacy `assignedTo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    /// ilert user id, as a string (absent in `assignedTo`).
    #[serde(default, deserialize_with = "lenient_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// ilert username.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl UserRef {
    /// The name to show: "First Last", else the username, else the e-mail address.
    pub fn display_name(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.first_name, &self.last_name]
            .into_iter()
            .filter_map(|part| part.as_deref().map(str::trim).filter(|p| !p.is_empty()))
            .collect();
        if !parts.is_empty() {
            return Some(parts.join(" "));
        }
        [&self.username, &self.email]
            .into_iter()
            .find_map(|v| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned))
    }
}

/// One responder of an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Responder {
    /// Who.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    /// Whether they accepted.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponderStatus>,
    /// When they accepted.
    #[serde(default, deserialize_with = "lenient_time", skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
}

/// A link attached to an alert (`links[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLink {
    /// Target URL (not yet checked; the renderer shows only http/https).
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Link text.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// An image attached to an alert (`images[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertImage {
    /// Image URL (not yet checked; the renderer shows only https).
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Where a click on the image leads.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Alternative text.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// An ilert alert as a card shows it. Build one with [`AlertView::from_json`] (or serde).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// Alert id: the webhook sends a string, the REST API a number; both read as a string.
    #[serde(deserialize_with = "required_id")]
    pub id: String,
    /// One-line summary.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Free-form details, often multi-line and long.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Pending, accepted or resolved (or a value added by ilert later).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    /// High or low.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The alert source that raised it.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub alert_source: Option<NamedRef>,
    /// The escalation policy it follows.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<NamedRef>,
    /// Current responders. Entries that do not parse are skipped.
    #[serde(default, deserialize_with = "lenient_list", skip_serializing_if = "Vec::is_empty")]
    pub responders: Vec<Responder>,
    /// Legacy single assignee of old webhook payloads.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<UserRef>,
    /// Attached links.
    #[serde(default, deserialize_with = "lenient_list", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<AlertLink>,
    /// Attached images.
    #[serde(default, deserialize_with = "lenient_list", skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<AlertImage>,
    /// When the alert was reported.
    #[serde(default, deserialize_with = "lenient_time", skip_serializing_if = "Option::is_none")]
    pub report_time: Option<DateTime<Utc>>,
    /// When it was resolved.
    #[serde(default, deserialize_with = "lenient_time", skip_serializing_if = "Option::is_none")]
    pub resolved_on: Option<DateTime<Utc>>,
    /// The source's deduplication key.
    #[serde(default, deserialize_with = "lenient_text", skip_serializing_if = "Option::is_none")]
    pub alert_key: Option<String>,
}

impl AlertView {
    /// An alert with only an id; fill the public fields as needed.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            summary: None,
            details: None,
            status: None,
            priority: None,
            alert_source: None,
            escalation_policy: None,
            responders: Vec::new(),
            assigned_to: None,
            links: Vec::new(),
            images: Vec::new(),
            report_time: None,
            resolved_on: None,
            alert_key: None,
        }
    }

    /// Reads an alert from a webhook body or a REST API response. Fails only when the value
    /// is not an object or has no usable `id`.
    pub fn from_json(value: &Value) -> Result<Self, AlertViewError> {
        if !value.is_object() {
            return Err(AlertViewError::NotAnObject);
        }
        // With every other field lenient, the id is the only thing that can fail.
        Self::deserialize(value).map_err(|e| AlertViewError::Id(e.to_string()))
    }

    /// Whether ilert says the alert is resolved.
    pub fn is_resolved(&self) -> bool {
        self.status == Some(AlertStatus::Resolved)
    }

    /// Whether ilert says the alert is accepted.
    pub fn is_accepted(&self) -> bool {
        self.status == Some(AlertStatus::Accepted)
    }
}

/// `T` if the value parses as one, otherwise absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// The array's elements that parse as `T`; anything but an array (`null` included) is empty.
fn lenient_list<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Vec<T>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Array(items) => Ok(items.into_iter().filter_map(|item| T::deserialize(item).ok()).collect()),
        _ => Ok(Vec::new()),
    }
}

/// A string, or a number or boolean written as one; empty strings read as absent.
fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn lenient_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(id_from(&Value::deserialize(deserializer)?).ok())
}

fn required_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    id_from(&Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

/// An id as ilert sends it: a non-empty string or an integer (also written as `123.0`).
fn id_from(value: &Value) -> Result<String, &'static str> {
    let id = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
            _ => return Err("id is not an integer"),
        },
        _ => return Err("id must be a string or an integer"),
    };
    if id.is_empty() {
        Err("id is empty")
    } else if id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
        Err("id is too long or has control characters")
    } else {
        Ok(id)
    }
}

/// An ISO-8601 timestamp: with an offset or `Z` (any number of fractional digits), or
/// without one (read as UTC). Anything else reads as absent.
fn lenient_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Value::String(raw) = Value::deserialize(deserializer)? else {
        return Ok(None);
    };
    let raw = raw.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(with_offset.with_timezone(&Utc)));
    }
    Ok(NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|naive| naive.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_may_be_string_or_number() {
        assert_eq!(AlertView::from_json(&json!({"id": "2983781"})).unwrap().id, "2983781");
        assert_eq!(AlertView::from_json(&json!({"id": 4160228})).unwrap().id, "4160228");
        assert_eq!(AlertView::from_json(&json!({"id": 4160228.0})).unwrap().id, "4160228");
        for bad in [json!({}), json!({"id": null}), json!({"id": " "}), json!({"id": 1.5}), json!({"id": [1]})] {
            assert!(matches!(AlertView::from_json(&bad), Err(AlertViewError::Id(_))), "{bad}");
        }
        assert!(AlertView::from_json(&json!({"id": "x".repeat(65)})).is_err());
        assert_eq!(AlertView::from_json(&json!([1])), Err(AlertViewError::NotAnObject));
    }

    #[test]
    fn wrong_types_read_as_absent_instead_of_failing() {
        let alert = AlertView::from_json(&json!({
            "id": 1,
            "summary": {"nested": true},
            "status": 7,
            "priority": "medium",
            "alertSource": "not an object",
            "responders": [{"user": {"id": 5, "firstName": "A"}, "status": "ACCEPTED"}, 42, null],
            "links": null,
            "images": {"src": "x"},
            "reportTime": "yesterday",
            "resolvedOn": "2023-08-09T11:55:00",
            "unknownField": [1, 2, 3]
        }))
        .unwrap();
        assert_eq!(alert.summary, None);
        assert_eq!(alert.status, None);
        assert_eq!(alert.priority, Some(Priority::Other("medium".into())));
        assert_eq!(alert.alert_source, None);
        assert_eq!(alert.responders.len(), 1);
        assert_eq!(alert.responders[0].status, Some(ResponderStatus::Accepted));
        assert!(alert.links.is_empty() && alert.images.is_empty());
        assert_eq!(alert.report_time, None);
        assert_eq!(alert.resolved_on.unwrap().to_rfc3339(), "2023-08-09T11:55:00+00:00");
    }

    #[test]
    fn status_is_case_insensitive_and_open() {
        assert_eq!(AlertStatus::from("accepted"), AlertStatus::Accepted);
        assert_eq!(AlertStatus::from("SNOOZED"), AlertStatus::Other("SNOOZED".into()));
        assert_eq!(AlertStatus::Other("SNOOZED".into()).as_str(), "SNOOZED");
    }

    #[test]
    fn display_name_falls_back() {
        let user = |v: Value| serde_json::from_value::<UserRef>(v).unwrap().display_name();
        assert_eq!(user(json!({"firstName": " Gunter ", "lastName": "Meier"})).as_deref(), Some("Gunter Meier"));
        assert_eq!(user(json!({"lastName": "Meier"})).as_deref(), Some("Meier"));
        assert_eq!(user(json!({"firstName": "", "username": "abr"})).as_deref(), Some("abr"));
        assert_eq!(user(json!({"email": "a@b.c"})).as_deref(), Some("a@b.c"));
        assert_eq!(user(json!({"id": 3})), None);
    }
}
