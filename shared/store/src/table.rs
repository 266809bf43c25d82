//! The item table both adapters implement: DynamoDB's data model reduced to what the product
//! uses (one table, a primary key `pk`/`sk`, one GSI `gsi1pk`/`gsi1sk`, a TTL attribute,
//! a version attribute and a document body), with the same semantics in both.

use async_trait::async_trait;
use domain::store::StoreError;

/// One stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// Key in the `gsi1` index, if the item is listed there.
    pub gsi1: Option<(String, String)>,
    /// Epoch seconds after which the item is dead (DynamoDB TTL attribute `expiresAt`).
    pub expires_at: Option<i64>,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// The entity, a JSON object (a DynamoDB map attribute `data`).
    pub body: serde_json::Value,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, body: serde_json::Value) -> Self {
        Self { pk: pk.into(), sk: sk.into(), gsi1: None, expires_at: None, version: 0, body }
    }

    pub fn with_gsi1(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1 = Some((pk.into(), sk.into()));
        self
    }

    pub fn expiring_at(mut self, epoch_seconds: i64) -> Self {
        self.expires_at = Some(epoch_seconds);
        self
    }

    pub fn with_version(mut self, version: u64) -> Self {
        self.version = version;
        self
    }

    /// Whether TTL has passed. Stores delete expired items late (DynamoDB: up to days), so
    /// readers check this themselves.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// When a write may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Always,
    /// No item with this key exists.
    Absent,
    /// No live item: absent, or its `expiresAt` is at or before `now`.
    AbsentOrExpired {
        now: i64,
    },
    /// The item exists with exactly this version.
    Version(u64),
    /// The item exists.
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Only checks a condition (inside a transaction).
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: Option<String>,
    /// Most items in one page; the store may return fewer (DynamoDB stops at 1 MB).
    pub limit: Option<u32>,
    /// Where to resume, from a previous page's `next`.
    pub cursor: Option<String>,
}

impl Query {
    pub fn primary(pk: impl Into<String>) -> Self {
        Self { index: Index::Primary, pk: pk.into(), sk_prefix: None, limit: None, cursor: None }
    }

    pub fn gsi1(pk: impl Into<String>) -> Self {
        Self { index: Index::Gsi1, ..Self::primary(pk) }
    }

    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sk_prefix = Some(prefix.into());
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemPage {
    pub items: Vec<Item>,
    /// Present when more items may follow.
    pub next: Option<String>,
}

/// Most operations in one transaction (DynamoDB's limit).
pub const MAX_TRANSACTION_OPS: usize = 100;

#[async_trait]
pub trait ItemTable: Send + Sync {
    /// Strongly consistent read.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    /// One conditional write; `Conflict` when the condition fails.
    async fn write(&self, op: WriteOp) -> Result<(), StoreError>;
    /// All writes or none; `Conflict` when any condition fails.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
    /// One page of the items under `pk`, ordered by sort key.
    async fn query(&self, query: &Query) -> Result<ItemPage, StoreError>;
    /// Unconditional puts and deletes in bulk; returns only once every one is applied.
    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<(String, String)>) -> Result<(), StoreError>;
    fn backend(&self) -> &'static str;
}

/// Every item of a query, following `next` across pages.
pub async fn query_all(table: &dyn ItemTable, query: Query) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut query = query;
    loop {
        let page = table.query(&query).await?;
        out.extend(page.items);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok(out),
        }
    }
}
