//! A durable queue in a SQLite file for the local runner, with the SQS semantics the product
//! relies on: per-group FIFO order, de-duplication ids (5 minutes, as SQS), per-message delay,
//! a visibility timeout, retries with backoff and a dead-letter table after `max_receives`.

use crate::failure_backoff;
use async_trait::async_trait;
use domain::queue::{Job, JobHandler, JobOutcome, OutgoingMessage, Queue, QueueError};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct LocalQueueOptions {
    /// How long a received job stays hidden before it is delivered again (if its handler died).
    pub visibility_timeout: Duration,
    /// Deliveries before a job goes to the dead-letter table.
    pub max_receives: u32,
    /// Jobs handled at once (from different groups).
    pub concurrency: usize,
    /// How often an idle consumer looks for work.
    pub poll_interval: Duration,
}

impl Default for LocalQueueOptions {
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(300),
            max_receives: 10,
            concurrency: 8,
            poll_interval: Duration::from_millis(50),
        }
    }
}

/// A job that ran out of retries.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: String,
    pub body: String,
    pub group: Option<String>,
    pub reason: String,
}

/// One named queue in a shared SQLite file.
#[derive(Clone)]
pub struct LocalQueue {
    db: Arc<Mutex<Connection>>,
    name: String,
    options: LocalQueueOptions,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn sql(e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable(format!("local queue: {e}"))
}

impl LocalQueue {
    /// Opens queue `name` in the file at `path` (shared by every queue of the runner).
    pub fn open(path: &Path, name: &str, options: LocalQueueOptions) -> Result<Self, QueueError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| QueueError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        Self::init(Connection::open(path).map_err(sql)?, name, options)
    }

    pub fn in_memory(name: &str, options: LocalQueueOptions) -> Result<Self, QueueError> {
        Self::init(Connection::open_in_memory().map_err(sql)?, name, options)
    }

    fn init(conn: Connection, name: &str, options: LocalQueueOptions) -> Result<Self, QueueError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS messages (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 queue TEXT NOT NULL,
                 id TEXT NOT NULL,
                 body TEXT NOT NULL,
                 grp TEXT,
                 visible_at INTEGER NOT NULL,
                 receives INTEGER NOT NULL DEFAULT 0
             );
             CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at);
             CREATE INDEX IF NOT EXISTS messages_group ON messages (queue, grp, seq);
             CREATE TABLE IF NOT EXISTS dedup (queue TEXT NOT NULL, dedup_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (queue, dedup_id));
             CREATE TABLE IF NOT EXISTS dead_letters (
                 queue TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, grp TEXT, reason TEXT NOT NULL, at INTEGER NOT NULL
             );",
        )
        .map_err(sql)?;
        Ok(Self { db: Arc::new(Mutex::new(conn)), name: name.to_owned(), options })
    }

    /// The same file, another queue.
    pub fn sibling(&self, name: &str, options: LocalQueueOptions) -> Self {
        Self { db: self.db.clone(), name: name.to_owned(), options }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.lock().map_err(|_| QueueError::Unavailable("local queue lock poisoned".into()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| QueueError::Unavailable(format!("local queue task failed: {e}")))?
    }

    /// Takes up to `max` ready jobs: for a group only its oldest message, so a group is
    /// delivered strictly in order and never two at a time.
    pub async fn receive(&self, max: usize) -> Result<Vec<Job>, QueueError> {
        let queue = self.name.clone();
        let hide_ms = self.options.visibility_timeout.as_millis() as i64;
        self.with_db(move |conn| {
            let now = now_ms();
            let tx = conn.transaction().map_err(sql)?;
            let picked: Vec<(i64, String, String, Option<String>, u32)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT seq, id, body, grp, receives FROM messages m
                         WHERE queue = ?1 AND visible_at <= ?2
                           AND (grp IS NULL OR seq = (SELECT MIN(seq) FROM messages g WHERE g.queue = ?1 AND g.grp = m.grp))
                         ORDER BY seq LIMIT ?3",
                    )
                    .map_err(sql)?;
                stmt.query_map(params![queue, now, max as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .map_err(sql)?
                    .collect::<Result<_, _>>()
                    .map_err(sql)?
            };
            for (seq, ..) in &picked {
                tx.execute("UPDATE messages SET visible_at = ?1, receives = receives + 1 WHERE seq = ?2", params![now + hide_ms, seq]).map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
            Ok(picked.into_iter().map(|(_, id, body, group, receives)| Job { id, body, group, attempt: receives + 1 }).collect())
        })
        .await
    }

    /// Records what became of a received job.
    pub async fn settle(&self, job: &Job, outcome: JobOutcome) -> Result<(), QueueError> {
        let queue = self.name.clone();
        let id = job.id.clone();
        let attempt = job.attempt;
        let max = self.options.max_receives;
        self.with_db(move |conn| {
            let now = now_ms();
            match outcome {
                JobOutcome::Done => {
                    conn.execute("DELETE FROM messages WHERE queue = ?1 AND id = ?2", params![queue, id]).map_err(sql)?;
                }
                JobOutcome::RetryAfter(wait) if attempt < max => {
                    conn.execute("UPDATE messages SET visible_at = ?1 WHERE queue = ?2 AND id = ?3", params![now + wait.as_millis() as i64, queue, id]).map_err(sql)?;
                }
                JobOutcome::Failed(_) if attempt < max => {
                    let wait = failure_backoff(attempt).as_millis() as i64;
                    conn.execute("UPDATE messages SET visible_at = ?1 WHERE queue = ?2 AND id = ?3", params![now + wait, queue, id]).map_err(sql)?;
                }
                JobOutcome::RetryAfter(_) | JobOutcome::Failed(_) => {
                    let reason = match &outcome {
                        JobOutcome::Failed(r) => r.clone(),
                        _ => "still throttled after the last attempt".into(),
                    };
                    tracing::error!(queue, job = id, attempt, %reason, "job moved to the dead-letter table");
                    let tx = conn.transaction().map_err(sql)?;
                    tx.execute(
                        "INSERT INTO dead_letters (queue, id, body, grp, reason, at) SELECT queue, id, body, grp, ?3, ?4 FROM messages WHERE queue = ?1 AND id = ?2",
                        params![queue, id, reason, now],
                    )
                    .map_err(sql)?;
                    tx.execute("DELETE FROM messages WHERE queue = ?1 AND id = ?2", params![queue, id]).map_err(sql)?;
                    tx.commit().map_err(sql)?;
                }
            }
            Ok(())
        })
        .await
    }

    /// Jobs waiting or in flight.
    pub async fn depth(&self) -> Result<usize, QueueError> {
        let queue = self.name.clone();
        self.with_db(move |conn| {
            conn.query_row("SELECT COUNT(*) FROM messages WHERE queue = ?1", params![queue], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(sql)
        })
        .await
    }

    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, QueueError> {
        let queue = self.name.clone();
        self.with_db(move |conn| {
            let mut stmt = conn
                .prepare("SELECT id, body, grp, reason FROM dead_letters WHERE queue = ?1 ORDER BY at")
                .map_err(sql)?;
            let rows: Vec<DeadLetter> = stmt
                .query_map(params![queue], |r| {
                    Ok(DeadLetter { id: r.get(0)?, body: r.get(1)?, group: r.get(2)?, reason: r.get(3)? })
                })
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?;
            Ok(rows)
        })
        .await
    }

    /// Handles jobs with `handler` until `shutdown` turns true: the local stand-in for the SQS
    /// event source mapping.
    pub async fn consume(&self, handler: Arc<dyn JobHandler>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let jobs = match self.receive(self.options.concurrency).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::error!(queue = self.name, error = %e, "cannot read the local queue");
                    Vec::new()
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let runs = jobs.into_iter().map(|job| {
                let handler = handler.clone();
                let queue = self.clone();
                async move {
                    let span =
                        tracing::info_span!("job", queue = queue.name, correlation_id = %job.id, attempt = job.attempt, tenant_id = tracing::field::Empty);
                    let outcome = tracing::Instrument::instrument(handler.handle(&job), span).await;
                    if let Err(e) = queue.settle(&job, outcome).await {
                        tracing::error!(error = %e, "cannot settle a job; it will be delivered again");
                    }
                }
            });
            futures_join_all(runs).await;
        }
    }
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(runs: impl Iterator<Item = F>) {
    let handles: Vec<_> = runs.map(tokio::spawn).collect();
    for h in handles {
        let _ = h.await;
    }
}

#[async_trait]
impl Queue for LocalQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        let queue = self.name.clone();
        self.with_db(move |conn| {
            let now = now_ms();
            let tx = conn.transaction().map_err(sql)?;
            if let Some(dedup) = &message.dedup_id {
                tx.execute("DELETE FROM dedup WHERE queue = ?1 AND at < ?2", params![queue, now - DEDUP_WINDOW_MS])
                    .map_err(sql)?;
                let seen: Option<i64> = tx
                    .query_row("SELECT at FROM dedup WHERE queue = ?1 AND dedup_id = ?2", params![queue, dedup], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(sql)?;
                if seen.is_some() {
                    return Ok(());
                }
                tx.execute("INSERT INTO dedup (queue, dedup_id, at) VALUES (?1, ?2, ?3)", params![queue, dedup, now])
                    .map_err(sql)?;
            }
            let visible_at = now + message.delay.map(|d| d.as_millis() as i64).unwrap_or(0);
            tx.execute(
                "INSERT INTO messages (queue, id, body, grp, visible_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![queue, uuid_like(), message.body, message.group, visible_at],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)
        })
        .await
    }
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}
