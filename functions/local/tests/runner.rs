//! The runner starts with nothing configured, answers /health, and refuses invalid settings.

use std::collections::HashMap;
use std::process::Command;
use tower::ServiceExt;

fn config(vars: &[(&str, &str)]) -> config::Config {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    config::Config::from_lookup(|k| map.get(k).cloned()).unwrap()
}

#[tokio::test]
async fn health_reports_the_store_and_what_is_not_configured() {
    let dir = std::env::temp_dir().join(format!("runner-health-{}", std::process::id()));
    let runner = local_runner::Runner::build(config(&[("DATA_DIR", dir.to_str().unwrap())])).await.unwrap();
    let response = runner
        .router
        .clone()
        .oneshot(axum::http::Request::get("/health").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["store"], "embedded");
    assert!(json["notConfigured"].as_array().unwrap().iter().any(|v| v == "BOT_APP_ID"));
    assert!(dir.join("state.sqlite3").exists(), "the embedded store lives in DATA_DIR");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_endpoint_whose_settings_are_missing_answers_503_naming_the_variable() {
    let dir = std::env::temp_dir().join(format!("runner-503-{}", std::process::id()));
    let runner = local_runner::Runner::build(config(&[("DATA_DIR", dir.to_str().unwrap())])).await.unwrap();
    for (path, var) in [("/api/messages", "BOT_APP_ID"), ("/admin/v1/connections", "ADMIN_TOKEN")] {
        let response = runner
            .router
            .clone()
            .oneshot(axum::http::Request::post(path).body(axum::body::Body::from("{}")).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{path}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["error"]["message"].as_str().unwrap().starts_with(&format!("{var} is not set")), "{json}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_invalid_graph_url_stops_the_process_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_ilert-teams-local"))
        .env_clear()
        .env("GRAPH_URL", "not a url")
        .env("DATA_DIR", std::env::temp_dir().join("runner-invalid"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GRAPH_URL is invalid"), "{stderr}");
}

#[test]
fn the_binary_serves_health_on_its_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("runner-bin-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ilert-teams-local"))
        .env_clear()
        .env("PORT", port.to_string())
        .env("DATA_DIR", &dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut response = String::new();
            s.read_to_string(&mut response).unwrap();
            answered = Some(response);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(dir);
    let response = answered.expect("the runner listened");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"store\":\"embedded\""), "{response}");
}

#[tokio::test]
async fn every_http_route_of_the_template_is_served() {
    let dir = std::env::temp_dir().join(format!("runner-routes-{}", std::process::id()));
    let runner = local_runner::Runner::build(config(&[("DATA_DIR", dir.to_str().unwrap())])).await.unwrap();
    let template = include_str!("../../../template.yaml");
    let routes: Vec<(&str, String)> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("RouteKey: "))
        .map(|key| {
            let (method, path) = key.split_once(' ').unwrap();
            let path = path.replace("{proxy+}", "connections").replace("{connectionId}", "some-connection");
            (if method == "ANY" { "GET" } else { method }, path)
        })
        .collect();
    assert!(routes.len() >= 3, "the template's routes were found: {routes:?}");
    for (method, path) in routes {
        let request =
            axum::http::Request::builder().method(method).uri(&path).body(axum::body::Body::from("{}")).unwrap();
        let response = runner.router.clone().oneshot(request).await.unwrap();
        assert_ne!(response.status(), 404, "{method} {path} is in template.yaml but the runner does not serve it");
    }
    let _ = std::fs::remove_dir_all(dir);
}
