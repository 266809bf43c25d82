//! `ilert-teams-local`: the whole product in one process (see the crate docs).

use config::Config;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("local-runner");
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "invalid configuration");
            eprintln!("ilert-teams-local: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let runner = match local_runner::Runner::build(config).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("ilert-teams-local: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ilert-teams-local: cannot listen on {addr}: {e} (set PORT to use another port)");
            return ExitCode::from(2);
        }
    };
    tracing::info!(%addr, store = runner.store.backend(), not_configured = ?runner.config.unconfigured(), "serving");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    match runner.serve(listener, stopped).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ilert-teams-local: {e}");
            ExitCode::FAILURE
        }
    }
}
