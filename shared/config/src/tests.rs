use super::*;
use std::collections::HashMap;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_are_the_public_cloud() {
    let c = config(&[]).unwrap();
    assert_eq!(c.cloud, MicrosoftCloud::Public);
    assert_eq!(c.endpoints.microsoft_login_url.as_str(), "https://login.microsoftonline.com/");
    assert_eq!(c.endpoints.graph_url.as_str(), "https://graph.microsoft.com/");
    assert_eq!(
        c.endpoints.bot_openid_metadata_url.as_str(),
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    );
    assert_eq!(c.endpoints.bot_token_issuer, "https://api.botframework.com");
    assert_eq!(c.endpoints.bot_token_scope, "https://api.botframework.com/.default");
    assert_eq!(c.endpoints.ilert_api_url.as_str(), "https://api.ilert.com/");
    assert!(c.endpoints.bot_service_url_hosts.contains(&"smba.trafficmanager.net".to_string()));
    assert_eq!(c.public_base_url.as_str(), "http://127.0.0.1:3978/");
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert_eq!(c.port, 3978);
    assert!(c.table_name.is_none());
    assert_eq!(c.unconfigured(), vec!["BOT_APP_ID", "BOT_TENANT_ID", "BOT_APP_PASSWORD", "ADMIN_TOKEN"]);
}

#[test]
fn a_preset_sets_defaults_and_a_single_variable_still_wins() {
    let c = config(&[("MICROSOFT_CLOUD", "usgov"), ("GRAPH_URL", "https://graph.example.us")]).unwrap();
    assert_eq!(c.endpoints.microsoft_login_url.as_str(), "https://login.microsoftonline.us/");
    assert_eq!(c.endpoints.bot_token_issuer, "https://api.botframework.us");
    assert_eq!(c.endpoints.bot_token_scope, "https://api.botframework.us/.default");
    assert_eq!(c.endpoints.graph_url.as_str(), "https://graph.example.us/");
    let china = config(&[("MICROSOFT_CLOUD", "china")]).unwrap();
    assert_eq!(china.endpoints.graph_url.as_str(), "https://microsoftgraph.chinacloudapi.cn/");
}

#[test]
fn an_invalid_url_names_its_variable() {
    let err = config(&[("GRAPH_URL", "not a url")]).unwrap_err();
    assert!(err.to_string().starts_with("GRAPH_URL is invalid"), "{err}");
    assert!(err.to_string().contains("https URL"), "{err}");
}

#[test]
fn plain_http_is_only_allowed_on_loopback() {
    assert!(config(&[("GRAPH_URL", "http://graph.microsoft.com")]).is_err());
    assert!(config(&[("GRAPH_URL", "http://127.0.0.1:4001")]).is_ok());
    assert!(config(&[("GRAPH_URL", "http://localhost:4001")]).is_ok());
    assert!(config(&[("GRAPH_URL", "http://[::1]:4001")]).is_ok());
    assert!(config(&[("ILERT_API_URL", "ftp://127.0.0.1")]).is_err());
}

#[test]
fn other_invalid_values_stop_with_the_variable_named() {
    for (var, value) in [
        ("MICROSOFT_CLOUD", "mars"),
        ("PORT", "http"),
        ("PORT", "0"),
        ("BOT_APP_ID", "not-a-guid"),
        ("BOT_TENANT_ID", "a/b"),
        ("TABLE_NAME", "x"),
        ("BOT_APP_PASSWORD_SECRET_ARN", "my-secret"),
        ("BOT_SERVICE_URL_HOSTS", " , "),
        ("CONNECTION_SECRET_PREFIX", "bad prefix"),
        ("NOTIFICATIONS_QUEUE_URL", "http://sqs.example.com/1/q.fifo"),
    ] {
        let err = config(&[(var, value)]).unwrap_err();
        assert!(err.to_string().starts_with(var), "{var}: {err}");
    }
}

#[test]
fn a_secret_may_not_be_given_twice() {
    let err = config(&[
        ("ADMIN_TOKEN", "a"),
        ("ADMIN_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin"),
    ])
    .unwrap_err();
    assert_eq!(err, ConfigError::Ambiguous { var: "ADMIN_TOKEN", other: "ADMIN_TOKEN_SECRET_ARN" });
}

#[test]
fn secrets_never_print() {
    let c = config(&[("BOT_APP_PASSWORD", "hunter2-very-secret"), ("ADMIN_TOKEN", "admin-token-xyz")]).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("hunter2-very-secret"));
    assert!(!shown.contains("admin-token-xyz"));
}

#[test]
fn missing_bot_settings_name_the_variable() {
    let c = config(&[]).unwrap();
    let missing = c.require_bot().unwrap_err();
    assert_eq!(missing.var, "BOT_APP_ID");
    assert!(missing.to_string().starts_with("BOT_APP_ID is not set"));
    let c = config(&[("BOT_APP_ID", "8f3b287d-df09-44e2-93b3-35e0dfa90756"), ("BOT_TENANT_ID", "botframework.com")])
        .unwrap();
    assert_eq!(c.require_bot().unwrap_err().var, "BOT_APP_PASSWORD");
}

#[test]
fn hosts_are_parsed_as_a_list() {
    let c = config(&[("BOT_SERVICE_URL_HOSTS", "127.0.0.1, Smba.Example.net")]).unwrap();
    assert_eq!(c.endpoints.bot_service_url_hosts, vec!["127.0.0.1", "smba.example.net"]);
}

#[test]
fn the_readme_documents_every_variable() {
    let readme = include_str!("../../../README.md");
    for (name, _, _) in VARIABLES {
        assert!(readme.contains(&format!("`{name}`")), "README's configuration table lacks {name}");
    }
}

#[test]
fn the_variable_table_covers_every_variable() {
    let names: Vec<&str> = VARIABLES.iter().map(|(n, _, _)| *n).collect();
    let source = include_str!("lib.rs");
    for quoted in source.split('"').skip(1).step_by(2) {
        if quoted.chars().all(|c| c.is_ascii_uppercase() || c == '_') && quoted.len() > 3 && quoted.contains('_') {
            assert!(names.contains(&quoted), "{quoted} is read but not in VARIABLES");
        }
    }
}
