//! The one typed configuration of every function, read once from the environment at start-up.
//!
//! A value that is set but invalid stops the process with an error naming the variable and
//! what it expects. A value that is missing is an `Option`: a Lambda function calls the
//! `require_*` accessors at start-up and stops, while the local runner starts anyway and
//! answers 503 naming the variable on the endpoints that need it.
//!
//! This crate reads strings; it knows nothing of AWS, HTTP clients or the domain.

mod cloud;
mod endpoint;

pub use cloud::MicrosoftCloud;
pub use endpoint::{is_loopback_host, parse_remote_url};

use secrecy::SecretString;
use std::path::PathBuf;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is invalid: expected {expected}, got {got:?}")]
    Invalid { var: &'static str, expected: &'static str, got: String },
    #[error("{var} and {other} are both set: set only one of them")]
    Ambiguous { var: &'static str, other: &'static str },
}

/// A required setting that is not configured. Its message names the variable to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var} is not set: {meaning}")]
pub struct Missing {
    pub var: &'static str,
    pub meaning: &'static str,
}

/// A secret given either as a value (local runs) or as a Secrets Manager ARN (Lambda).
#[derive(Debug, Clone)]
pub enum SecretSetting {
    Value(SecretString),
    SecretArn(String),
}

/// The URLs of the remote services, defaulted per Microsoft cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub microsoft_login_url: Url,
    pub graph_url: Url,
    pub bot_openid_metadata_url: Url,
    pub bot_token_issuer: String,
    pub bot_token_scope: String,
    /// Hosts a serviceUrl must have before the bot's token is sent to it.
    pub bot_service_url_hosts: Vec<String>,
    pub ilert_api_url: Url,
}

/// What the bot needs to authenticate in both directions.
#[derive(Debug, Clone)]
pub struct BotSettings {
    pub app_id: String,
    pub tenant_id: String,
    pub app_password: SecretSetting,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub cloud: MicrosoftCloud,
    pub endpoints: Endpoints,
    pub public_base_url: Url,
    pub data_dir: PathBuf,
    /// DynamoDB table; when unset, the embedded store under `data_dir` is used.
    pub table_name: Option<String>,
    /// Local runner's port.
    pub port: u16,
    pub bot_app_id: Option<String>,
    pub bot_tenant_id: Option<String>,
    pub bot_app_password: Option<SecretSetting>,
    pub admin_token: Option<SecretSetting>,
    /// SQS FIFO queue of the alert path (Lambda; the local runner uses its embedded queue).
    pub notifications_queue_url: Option<String>,
    /// SQS queue of channel, chat and meeting jobs (Lambda; the local runner uses its embedded queue).
    pub provisioning_queue_url: Option<String>,
    /// SQS FIFO queue of directory-sync jobs, one per connection and run (Lambda).
    pub directory_sync_queue_url: Option<String>,
    /// Name prefix of the Secrets Manager secrets we create (one ilert API key per connection).
    pub connection_secret_prefix: String,
}

/// Every variable the configuration reads, with its default and meaning (the README's table).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "MICROSOFT_CLOUD",
        "public",
        "Microsoft cloud preset: public, usgov or china; sets the defaults of the five Microsoft URLs",
    ),
    ("MICROSOFT_LOGIN_URL", "https://login.microsoftonline.com", "Entra ID token authority base"),
    ("GRAPH_URL", "https://graph.microsoft.com", "Microsoft Graph base"),
    (
        "BOT_OPENID_METADATA_URL",
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        "OpenID metadata of Bot Framework channel tokens",
    ),
    ("BOT_TOKEN_ISSUER", "https://api.botframework.com", "issuer inbound Bot Framework tokens must carry"),
    ("BOT_TOKEN_SCOPE", "https://api.botframework.com/.default", "scope of the bot's outbound token"),
    (
        "BOT_SERVICE_URL_HOSTS",
        "smba.trafficmanager.net,smba.infra.gcc.teams.microsoft.com,smba.infra.gov.teams.microsoft.us",
        "comma-separated hosts the bot's token may be sent to",
    ),
    ("ILERT_API_URL", "https://api.ilert.com", "ilert REST API base"),
    (
        "PUBLIC_BASE_URL",
        "http://127.0.0.1:3978",
        "externally reachable base of our HTTP routes, used in URLs we hand out",
    ),
    ("DATA_DIR", "./data", "where the local runner keeps its embedded store and secrets"),
    ("TABLE_NAME", "(unset)", "DynamoDB table; unset means the embedded store"),
    ("PORT", "3978", "local runner's port"),
    ("BOT_APP_ID", "(unset)", "the bot's Microsoft App ID (GUID)"),
    (
        "BOT_TENANT_ID",
        "(unset)",
        "tenant of the bot's app registration (token authority); botframework.com for a legacy multi-tenant bot",
    ),
    ("BOT_APP_PASSWORD", "(unset)", "the bot's client secret (local runs)"),
    ("BOT_APP_PASSWORD_SECRET_ARN", "(unset)", "Secrets Manager ARN of the bot's client secret (Lambda)"),
    ("ADMIN_TOKEN", "(unset)", "bearer token of the management API (local runs)"),
    ("ADMIN_TOKEN_SECRET_ARN", "(unset)", "Secrets Manager ARN of the management API token (Lambda)"),
    ("NOTIFICATIONS_QUEUE_URL", "(unset)", "SQS FIFO queue of the alert path (Lambda)"),
    ("PROVISIONING_QUEUE_URL", "(unset)", "SQS queue of channel, chat and meeting jobs (Lambda)"),
    (
        "DIRECTORY_SYNC_QUEUE_URL",
        "(unset)",
        "SQS FIFO queue of directory-sync jobs, one per connection and run (Lambda)",
    ),
    (
        "CONNECTION_SECRET_PREFIX",
        "ilert-teams/",
        "name prefix of the Secrets Manager secrets holding each connection's ilert API key (Lambda)",
    ),
];

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let cloud = match get("MICROSOFT_CLOUD") {
            None => MicrosoftCloud::Public,
            Some(v) => MicrosoftCloud::parse(&v).ok_or(ConfigError::Invalid {
                var: "MICROSOFT_CLOUD",
                expected: "one of public, usgov, china",
                got: v,
            })?,
        };
        let preset = cloud.preset();
        let url = |var: &'static str, default: &str| -> Result<Url, ConfigError> {
            let raw = get(var).unwrap_or_else(|| default.to_owned());
            parse_remote_url(&raw).map_err(|expected| ConfigError::Invalid { var, expected, got: raw })
        };
        let text = |var: &'static str, default: &str| get(var).unwrap_or_else(|| default.to_owned());

        let bot_service_url_hosts = match get("BOT_SERVICE_URL_HOSTS") {
            None => preset.service_url_hosts.iter().map(|h| (*h).to_owned()).collect(),
            Some(raw) => parse_hosts(&raw).ok_or(ConfigError::Invalid {
                var: "BOT_SERVICE_URL_HOSTS",
                expected: "a comma-separated list of host names",
                got: raw,
            })?,
        };
        let bot_token_issuer = text("BOT_TOKEN_ISSUER", preset.bot_token_issuer);
        let bot_token_scope = text("BOT_TOKEN_SCOPE", preset.bot_token_scope);
        for (var, value) in [("BOT_TOKEN_ISSUER", &bot_token_issuer), ("BOT_TOKEN_SCOPE", &bot_token_scope)] {
            if Url::parse(value).is_err() {
                return Err(ConfigError::Invalid { var, expected: "an absolute URI", got: value.clone() });
            }
        }
        let endpoints = Endpoints {
            microsoft_login_url: url("MICROSOFT_LOGIN_URL", preset.microsoft_login_url)?,
            graph_url: url("GRAPH_URL", preset.graph_url)?,
            bot_openid_metadata_url: url("BOT_OPENID_METADATA_URL", preset.bot_openid_metadata_url)?,
            bot_token_issuer,
            bot_token_scope,
            bot_service_url_hosts,
            ilert_api_url: url("ILERT_API_URL", "https://api.ilert.com")?,
        };

        let port = match get("PORT") {
            None => 3978,
            Some(v) => v.parse::<u16>().ok().filter(|p| *p > 0).ok_or(ConfigError::Invalid {
                var: "PORT",
                expected: "a TCP port number (1-65535)",
                got: v,
            })?,
        };

        let table_name = get("TABLE_NAME");
        if let Some(t) = &table_name {
            let valid =
                (3..=255).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
            if !valid {
                return Err(ConfigError::Invalid {
                    var: "TABLE_NAME",
                    expected: "a DynamoDB table name (3-255 of a-z, A-Z, 0-9, _ - .)",
                    got: t.clone(),
                });
            }
        }

        let bot_app_id = get("BOT_APP_ID");
        if let Some(id) = bot_app_id.as_ref().filter(|id| !is_guid(id)) {
            return Err(ConfigError::Invalid {
                var: "BOT_APP_ID",
                expected: "the bot's Microsoft App ID, a GUID",
                got: id.clone(),
            });
        }
        let bot_tenant_id = get("BOT_TENANT_ID");
        if let Some(t) = &bot_tenant_id {
            let valid = t.len() <= 256 && t.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c));
            if !valid {
                return Err(ConfigError::Invalid {
                    var: "BOT_TENANT_ID",
                    expected: "a tenant GUID or domain (e.g. botframework.com)",
                    got: t.clone(),
                });
            }
        }

        Ok(Config {
            cloud,
            endpoints,
            public_base_url: url("PUBLIC_BASE_URL", "http://127.0.0.1:3978")?,
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".to_owned())),
            table_name,
            port,
            bot_app_id,
            bot_tenant_id,
            bot_app_password: secret(&get, "BOT_APP_PASSWORD", "BOT_APP_PASSWORD_SECRET_ARN")?,
            admin_token: secret(&get, "ADMIN_TOKEN", "ADMIN_TOKEN_SECRET_ARN")?,
            notifications_queue_url: queue_url(&get, "NOTIFICATIONS_QUEUE_URL")?,
            provisioning_queue_url: queue_url(&get, "PROVISIONING_QUEUE_URL")?,
            directory_sync_queue_url: queue_url(&get, "DIRECTORY_SYNC_QUEUE_URL")?,
            connection_secret_prefix: secret_prefix(get("CONNECTION_SECRET_PREFIX"))?,
        })
    }

    /// The bot's identity, or the first missing variable.
    pub fn require_bot(&self) -> Result<BotSettings, Missing> {
        Ok(BotSettings {
            app_id: self.bot_app_id.clone().ok_or(Missing {
                var: "BOT_APP_ID",
                meaning: "the bot's Microsoft App ID (GUID) from its Azure Bot registration",
            })?,
            tenant_id: self.bot_tenant_id.clone().ok_or(Missing {
                var: "BOT_TENANT_ID",
                meaning: "the tenant of the bot's app registration (botframework.com for a legacy multi-tenant bot)",
            })?,
            app_password: self.bot_app_password.clone().ok_or(Missing {
                var: "BOT_APP_PASSWORD",
                meaning: "the bot's client secret (or BOT_APP_PASSWORD_SECRET_ARN in Lambda)",
            })?,
        })
    }

    /// The bot's app id alone: enough to validate inbound tokens.
    pub fn require_bot_app_id(&self) -> Result<&str, Missing> {
        self.bot_app_id.as_deref().ok_or(Missing {
            var: "BOT_APP_ID",
            meaning: "the bot's Microsoft App ID (GUID) from its Azure Bot registration",
        })
    }

    pub fn require_admin_token(&self) -> Result<&SecretSetting, Missing> {
        self.admin_token.as_ref().ok_or(Missing {
            var: "ADMIN_TOKEN",
            meaning: "the management API's bearer token (or ADMIN_TOKEN_SECRET_ARN in Lambda)",
        })
    }

    pub fn require_notifications_queue(&self) -> Result<&str, Missing> {
        self.notifications_queue_url
            .as_deref()
            .ok_or(Missing { var: "NOTIFICATIONS_QUEUE_URL", meaning: "the URL of the notifications SQS FIFO queue" })
    }

    pub fn require_provisioning_queue(&self) -> Result<&str, Missing> {
        self.provisioning_queue_url.as_deref().ok_or(Missing {
            var: "PROVISIONING_QUEUE_URL",
            meaning: "the URL of the provisioning SQS queue (channel, chat and meeting jobs)",
        })
    }

    pub fn require_directory_sync_queue(&self) -> Result<&str, Missing> {
        self.directory_sync_queue_url.as_deref().ok_or(Missing {
            var: "DIRECTORY_SYNC_QUEUE_URL",
            meaning: "the URL of the directory-sync SQS FIFO queue (one job per connection and run)",
        })
    }

    pub fn require_table(&self) -> Result<&str, Missing> {
        self.table_name
            .as_deref()
            .ok_or(Missing { var: "TABLE_NAME", meaning: "the DynamoDB table (Lambda always runs on DynamoDB)" })
    }

    /// An absolute URL under our public base, e.g. `url_for("/webhooks/ilert/abc")`.
    pub fn public_url(&self, path: &str) -> String {
        format!("{}{}", self.public_base_url.as_str().trim_end_matches('/'), path)
    }

    /// Which optional settings are not configured yet (shown by the local runner's `/health`).
    pub fn unconfigured(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.bot_app_id.is_none() {
            out.push("BOT_APP_ID");
        }
        if self.bot_tenant_id.is_none() {
            out.push("BOT_TENANT_ID");
        }
        if self.bot_app_password.is_none() {
            out.push("BOT_APP_PASSWORD");
        }
        if self.admin_token.is_none() {
            out.push("ADMIN_TOKEN");
        }
        out
    }
}

fn secret(
    get: &impl Fn(&str) -> Option<String>,
    value_var: &'static str,
    arn_var: &'static str,
) -> Result<Option<SecretSetting>, ConfigError> {
    match (get(value_var), get(arn_var)) {
        (Some(_), Some(_)) => Err(ConfigError::Ambiguous { var: value_var, other: arn_var }),
        (Some(v), None) => Ok(Some(SecretSetting::Value(SecretString::from(v)))),
        (None, Some(arn)) => {
            if arn.starts_with("arn:") && arn.split(':').count() >= 7 && arn.contains(":secretsmanager:") {
                Ok(Some(SecretSetting::SecretArn(arn)))
            } else {
                Err(ConfigError::Invalid {
                    var: arn_var,
                    expected: "a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name)",
                    got: arn,
                })
            }
        }
        (None, None) => Ok(None),
    }
}

fn queue_url(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<String>, ConfigError> {
    match get(var) {
        None => Ok(None),
        Some(raw) => parse_remote_url(&raw).map(|url| Some(url.to_string())).map_err(|expected| ConfigError::Invalid {
            var,
            expected,
            got: raw,
        }),
    }
}

/// A Secrets Manager name prefix: up to 256 of letters, digits and `/_+=.@-`.
fn secret_prefix(raw: Option<String>) -> Result<String, ConfigError> {
    let Some(prefix) = raw else {
        return Ok("ilert-teams/".to_owned());
    };
    let valid = prefix.len() <= 256 && prefix.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if valid {
        Ok(prefix)
    } else {
        Err(ConfigError::Invalid {
            var: "CONNECTION_SECRET_PREFIX",
            expected: "a Secrets Manager name prefix (up to 256 of a-z A-Z 0-9 / _ + = . @ -)",
            got: prefix,
        })
    }
}

fn parse_hosts(raw: &str) -> Option<Vec<String>> {
    let hosts: Vec<String> = raw.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
    let valid =
        !hosts.is_empty() && hosts.iter().all(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)));
    valid.then_some(hosts)
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
