//! Validated identifiers. Every store key is built from these, so a value that could break a
//! key (empty, `#`, control characters) is refused where it enters the system.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct IdError {
    pub kind: &'static str,
    pub reason: &'static str,
}

fn check(kind: &'static str, value: &str, max_len: usize) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError { kind, reason: "must not be empty" });
    }
    if value.len() > max_len {
        return Err(IdError { kind, reason: "is too long" });
    }
    if value.contains('#') || value.chars().any(char::is_control) {
        return Err(IdError { kind, reason: "must not contain '#' or control characters" });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check($kind, &value, $max)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A Microsoft Entra tenant (directory) id, as Teams sends it in `channelData.tenant.id`.
    TenantId, "tenant id", 64
);
id_type!(
    /// Our id of a connection between one ilert account and one Microsoft tenant.
    ConnectionId, "connection id", 64
);
id_type!(
    /// Our id of a route (which alerts go to which conversation).
    RouteId, "route id", 64
);
id_type!(
    /// A Bot Framework conversation id (`19:…@thread.tacv2`, `a:…`, `19:…@thread.v2`).
    ConversationId, "conversation id", 512
);
id_type!(
    /// An ilert alert id. ilert sends it as a number over REST and as a string in webhooks;
    /// we keep the decimal string.
    AlertId, "alert id", 32
);
id_type!(
    /// A user's Entra object id (`from.aadObjectId` in Teams activities).
    AadObjectId, "Entra object id", 64
);

id_type!(
    /// A team's Microsoft 365 group id, as Graph names the team (`/teams/{id}`).
    GroupId, "group id", 64
);

impl ConnectionId {
    /// A fresh random connection id.
    pub fn generate() -> Self {
        Self(random_id())
    }
}

impl RouteId {
    /// A fresh random route id.
    pub fn generate() -> Self {
        Self(random_id())
    }
}

/// 122 random bits from the OS, as 32 hex characters.
fn random_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_values_that_would_break_keys() {
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse("a#b").is_err());
        assert!(TenantId::parse("a\nb").is_err());
        assert!(TenantId::parse("x".repeat(65)).is_err());
        assert_eq!(TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap().as_str().len(), 36);
    }

    #[test]
    fn generated_ids_are_distinct() {
        let a = ConnectionId::generate();
        let b = ConnectionId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<TenantId>("\"a#b\"").is_err());
        assert!(serde_json::from_str::<TenantId>("\"abc\"").is_ok());
    }
}
