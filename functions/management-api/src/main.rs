//! `management-api`: the management API as a Lambda function behind API Gateway. Only
//! start-up lives here (see the library for the API): it refuses to start without what the
//! API cannot work without, so a misconfiguration shows in the deployment, not per request.

use config::Config;
use management_api::AdminState;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("management-api");
    let state = match start().await {
        Ok(state) => state,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("management-api: {e}");
            return ExitCode::from(2);
        }
    };
    match httpapi::run_lambda(management_api::router(state)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

/// Reads the configuration and builds the state, or names what is missing or invalid.
async fn start() -> Result<AdminState, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    config.require_admin_token().map_err(|e| e.to_string())?;
    let table = config.require_table().map_err(|e| e.to_string())?.to_owned();
    let prefix = config.connection_secret_prefix.clone();
    let store = store::dynamodb(&table).await;
    let vault = Arc::new(secrets::SecretsManagerVault::from_env(prefix).await);
    Ok(AdminState::from_config(config, store, vault).await)
}
