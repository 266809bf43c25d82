//! The embedded adapter of [`ItemTable`]: one SQLite file under the data directory, with the
//! same semantics as the DynamoDB adapter (conditions, versions, TTL, 1 MB pages), so the local
//! runner behaves as Lambda does.

use crate::table::{Condition, Index, Item, ItemPage, ItemTable, Query, WriteOp};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::store::StoreError;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// DynamoDB stops a query page at 1 MB of data; so do we, so paging code is exercised locally.
const PAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct EmbeddedTable {
    db: Arc<Mutex<Connection>>,
}

impl EmbeddedTable {
    /// Opens (creating if needed) the store file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        Self::init(conn)
    }

    /// A throw-away store in memory (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(sql)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS items (
                 pk TEXT NOT NULL,
                 sk TEXT NOT NULL,
                 gsi1pk TEXT,
                 gsi1sk TEXT,
                 expires_at INTEGER,
                 version INTEGER NOT NULL,
                 body TEXT NOT NULL,
                 PRIMARY KEY (pk, sk)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
             CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;",
        )
        .map_err(sql)?;
        Ok(Self { db: Arc::new(Mutex::new(conn)) })
    }

    /// Deletes items whose TTL has passed, as DynamoDB's TTL sweeper does; the local runner
    /// runs it on a timer. Returns how many went.
    pub async fn purge_expired(&self, now: i64) -> Result<usize, StoreError> {
        self.run(move |tx| {
            tx.execute("DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1", params![now]).map_err(sql)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock().map_err(|_| StoreError::Unavailable("embedded store lock poisoned".into()))?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("embedded store task failed: {e}")))?
    }
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

fn read_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Item, usize)> {
    let body: String = row.get(6)?;
    let size = body.len();
    let parsed = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    let gsi1pk: Option<String> = row.get(2)?;
    let gsi1sk: Option<String> = row.get(3)?;
    Ok((
        Item {
            pk: row.get(0)?,
            sk: row.get(1)?,
            gsi1: gsi1pk.zip(gsi1sk),
            expires_at: row.get(4)?,
            version: row.get::<_, i64>(5)? as u64,
            body: parsed,
        },
        size,
    ))
}

const COLUMNS: &str = "pk, sk, gsi1pk, gsi1sk, expires_at, version, body";

fn stored(tx: &Transaction<'_>, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
    tx.query_row(&format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"), params![pk, sk], |r| {
        read_item(r).map(|(i, _)| i)
    })
    .optional()
    .map_err(sql)
}

fn holds(condition: Condition, existing: Option<&Item>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::Absent => existing.is_none(),
        Condition::Exists => existing.is_some(),
        Condition::AbsentOrExpired { now } => existing.is_none_or(|i| i.expires_at.is_some_and(|t| t <= now)),
        Condition::Version(v) => existing.is_some_and(|i| i.version == v),
    }
}

fn apply(tx: &Transaction<'_>, op: &WriteOp) -> Result<(), StoreError> {
    match op {
        WriteOp::Put { item, .. } => {
            let body = serde_json::to_string(&item.body)
                .map_err(|e| StoreError::Corrupt { key: item.pk.clone(), reason: e.to_string() })?;
            let (gpk, gsk) = item.gsi1.clone().unzip();
            tx.execute(
                &format!("INSERT OR REPLACE INTO items ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![item.pk, item.sk, gpk, gsk, item.expires_at, item.version as i64, body],
            )
            .map_err(sql)?;
        }
        WriteOp::Delete { pk, sk, .. } => {
            tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk]).map_err(sql)?;
        }
        WriteOp::Check { .. } => {}
    }
    Ok(())
}

fn target(op: &WriteOp) -> (&str, &str, Condition) {
    match op {
        WriteOp::Put { item, condition } => (&item.pk, &item.sk, *condition),
        WriteOp::Delete { pk, sk, condition } | WriteOp::Check { pk, sk, condition } => (pk, sk, *condition),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    pk: String,
    sk: String,
    gsi1sk: Option<String>,
}

#[async_trait]
impl ItemTable for EmbeddedTable {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.run(move |tx| stored(tx, &pk, &sk)).await
    }

    async fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        self.transact(vec![op]).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.run(move |tx| {
            for op in &ops {
                let (pk, sk, condition) = target(op);
                if !holds(condition, stored(tx, pk, sk)?.as_ref()) {
                    // Dropping the transaction without commit rolls back earlier writes.
                    return Err(StoreError::Conflict("condition failed".into()));
                }
                apply(tx, op)?;
            }
            Ok(())
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<ItemPage, StoreError> {
        let query = query.clone();
        self.run(move |tx| {
            let after: Option<Cursor> = match &query.cursor {
                None => None,
                Some(c) => {
                    let invalid = || StoreError::Conflict("invalid paging cursor".into());
                    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| invalid())?;
                    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
                    if query.index == Index::Primary && cursor.pk != query.pk {
                        return Err(invalid());
                    }
                    Some(cursor)
                }
            };
            let prefix = query.sk_prefix.clone().unwrap_or_default();
            let limit = query.limit.map(|l| l.max(1) as usize).unwrap_or(usize::MAX);
            let (sql_text, rows): (String, Vec<Box<dyn rusqlite::ToSql>>) = match query.index {
                Index::Primary => (
                    format!(
                        "SELECT {COLUMNS} FROM items WHERE pk = ?1 AND substr(sk, 1, length(?2)) = ?2 AND sk > ?3 ORDER BY sk"
                    ),
                    vec![Box::new(query.pk.clone()), Box::new(prefix), Box::new(after.map(|c| c.sk).unwrap_or_default())],
                ),
                Index::Gsi1 => {
                    let (gsk, pk, sk) = after.map(|c| (c.gsi1sk.unwrap_or_default(), c.pk, c.sk)).unwrap_or_default();
                    (
                        format!(
                            "SELECT {COLUMNS} FROM items WHERE gsi1pk = ?1 AND substr(gsi1sk, 1, length(?2)) = ?2
                             AND (gsi1sk, pk, sk) > (?3, ?4, ?5) ORDER BY gsi1sk, pk, sk"
                        ),
                        vec![Box::new(query.pk.clone()), Box::new(prefix), Box::new(gsk), Box::new(pk), Box::new(sk)],
                    )
                }
            };
            let mut stmt = tx.prepare(&sql_text).map_err(sql)?;
            let mut found = stmt
                .query_map(rusqlite::params_from_iter(rows.iter().map(|b| b.as_ref())), read_item)
                .map_err(sql)?;
            let mut items = Vec::new();
            let mut bytes = 0;
            let mut more = false;
            for row in found.by_ref() {
                let (item, size) = row.map_err(sql)?;
                if items.len() == limit || (bytes >= PAGE_BYTES && !items.is_empty()) {
                    more = true;
                    break;
                }
                bytes += size;
                items.push(item);
            }
            let next = if more {
                items.last().map(|last: &Item| {
                    let cursor = Cursor { pk: last.pk.clone(), sk: last.sk.clone(), gsi1sk: last.gsi1.as_ref().map(|g| g.1.clone()) };
                    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
                })
            } else {
                None
            };
            Ok(ItemPage { items, next })
        })
        .await
    }

    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<(String, String)>) -> Result<(), StoreError> {
        self.run(move |tx| {
            for item in puts {
                apply(tx, &WriteOp::Put { item, condition: Condition::Always })?;
            }
            for (pk, sk) in deletes {
                apply(tx, &WriteOp::Delete { pk, sk, condition: Condition::Always })?;
            }
            Ok(())
        })
        .await
    }

    fn backend(&self) -> &'static str {
        "embedded"
    }
}
