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
