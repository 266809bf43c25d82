//! The state store of ilert for Microsoft Teams: one single-table design (see `README.md`)
//! implementing the domain's store traits, on DynamoDB in Lambda and on an embedded SQLite
//! file for local runs. Callers hold an `Arc<dyn domain::store::Store>` and never see which.
//!
//! This crate knows the table layout and the two databases; it knows nothing of HTTP, Teams
//! or ilert.

mod dynamodb;
mod embedded;
mod keys;
mod repo;
pub mod table;

pub use dynamodb::{DynamoTable, GSI1, TTL_ATTRIBUTE};
pub use embedded::EmbeddedTable;
pub use repo::TableStore;

use domain::store::{Store, StoreError};
use std::path::Path;
use std::sync::Arc;

/// The file name of the embedded store inside the data directory.
pub const EMBEDDED_FILE: &str = "state.sqlite3";

/// The DynamoDB store on `table`, configured by the standard AWS environment.
pub async fn dynamodb(table: &str) -> Arc<dyn Store> {
    Arc::new(TableStore::new(Arc::new(DynamoTable::from_env(table).await)))
}

/// The embedded store in `data_dir`.
pub fn embedded(data_dir: &Path) -> Result<(Arc<dyn Store>, EmbeddedTable), StoreError> {
    let table = EmbeddedTable::open(&data_dir.join(EMBEDDED_FILE))?;
    Ok((Arc::new(TableStore::new(Arc::new(table.clone()))), table))
}
