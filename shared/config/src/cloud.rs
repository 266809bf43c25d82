/// Which Microsoft cloud the deployment talks to. A preset only supplies defaults: any single
/// endpoint variable still overrides its preset value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicrosoftCloud {
    /// Worldwide, including Microsoft 365 GCC (which uses the worldwide endpoints).
    Public,
    /// US Government (GCC High).
    UsGov,
    /// China, operated by 21Vianet.
    China,
}

pub(crate) struct Preset {
    pub microsoft_login_url: &'static str,
    pub graph_url: &'static str,
    pub bot_openid_metadata_url: &'static str,
    pub bot_token_issuer: &'static str,
    pub bot_token_scope: &'static str,
    pub service_url_hosts: &'static [&'static str],
}

/// Teams posts from these connector hosts: worldwide, GCC and GCC High.
const TEAMS_CONNECTOR_HOSTS: &[&str] =
    &["smba.trafficmanager.net", "smba.infra.gcc.teams.microsoft.com", "smba.infra.gov.teams.microsoft.us"];

impl MicrosoftCloud {
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "public" => Some(Self::Public),
            "usgov" => Some(Self::UsGov),
            "china" => Some(Self::China),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::UsGov => "usgov",
            Self::China => "china",
        }
    }

    pub(crate) fn preset(self) -> Preset {
        match self {
            Self::Public => Preset {
                microsoft_login_url: "https://login.microsoftonline.com",
                graph_url: "https://graph.microsoft.com",
                bot_openid_metadata_url: "https://login.botframework.com/v1/.well-known/openidconfiguration",
                bot_token_issuer: "https://api.botframework.com",
                bot_token_scope: "https://api.botframework.com/.default",
                service_url_hosts: TEAMS_CONNECTOR_HOSTS,
            },
            Self::UsGov => Preset {
                microsoft_login_url: "https://login.microsoftonline.us",
                graph_url: "https://graph.microsoft.us",
                bot_openid_metadata_url: "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
                bot_token_issuer: "https://api.botframework.us",
                bot_token_scope: "https://api.botframework.us/.default",
                service_url_hosts: TEAMS_CONNECTOR_HOSTS,
            },
            Self::China => Preset {
                microsoft_login_url: "https://login.chinacloudapi.cn",
                graph_url: "https://microsoftgraph.chinacloudapi.cn",
                bot_openid_metadata_url: "https://login.botframework.azure.cn/v1/.well-known/openid-configuration",
                bot_token_issuer: "https://api.botframework.azure.cn",
                bot_token_scope: "https://api.botframework.azure.cn/.default",
                service_url_hosts: TEAMS_CONNECTOR_HOSTS,
            },
        }
    }
}
