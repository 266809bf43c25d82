//! The DynamoDB adapter of [`ItemTable`]: attributes `pk`, `sk`, `gsi1pk`, `gsi1sk`,
//! `expiresAt` (the table's TTL attribute), `version` and `data` (the entity as a map).

use crate::table::{Condition, Index, Item, ItemPage, ItemTable, Query, WriteOp};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, PutRequest, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, WriteRequest,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::store::StoreError;
use std::collections::HashMap;
use std::time::Duration;

pub const GSI1: &str = "gsi1";
pub const TTL_ATTRIBUTE: &str = "expiresAt";
/// BatchWriteItem takes at most 25 requests.
const BATCH_LIMIT: usize = 25;
const BATCH_ATTEMPTS: u32 = 10;

#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

type Attrs = HashMap<String, AttributeValue>;

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A client configured by the standard AWS environment (`AWS_ENDPOINT_URL[_DYNAMODB]`,
    /// `AWS_REGION`, the credentials chain).
    pub async fn from_env(table: impl Into<String>) -> Self {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(Client::new(&conf), table)
    }

    /// Creates the table with the product's layout if it does not exist: for tests and local
    /// runs against a DynamoDB-compatible server. Deployed tables come from `template.yaml`.
    pub async fn create_if_missing(&self) -> Result<(), StoreError> {
        let s = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_err)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(build_err)
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(s("pk")?)
            .attribute_definitions(s("sk")?)
            .attribute_definitions(s("gsi1pk")?)
            .attribute_definitions(s("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(GSI1)
                    .key_schema(key("gsi1pk", KeyType::Hash)?)
                    .key_schema(key("gsi1sk", KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(build_err)?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => return Ok(()),
            Err(e) => return Err(unavailable(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .map_err(build_err)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn put_request(&self, item: &Item, condition: Condition) -> Result<Put, StoreError> {
        let (expr, names, values) = condition_expression(condition);
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(item)?))
            .set_condition_expression(expr)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)
    }

    fn delete_request(&self, pk: &str, sk: &str, condition: Condition) -> Result<Delete, StoreError> {
        let (expr, names, values) = condition_expression(condition);
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(expr)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_err)
    }
}

type ConditionParts = (Option<String>, Option<HashMap<String, String>>, Option<Attrs>);

fn condition_expression(condition: Condition) -> ConditionParts {
    let names = |pairs: &[(&str, &str)]| Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    match condition {
        Condition::Always => (None, None, None),
        Condition::Absent => (Some("attribute_not_exists(#pk)".into()), names(&[("#pk", "pk")]), None),
        Condition::Exists => (Some("attribute_exists(#pk)".into()), names(&[("#pk", "pk")]), None),
        Condition::AbsentOrExpired { now } => (
            Some("attribute_not_exists(#pk) OR #exp <= :now".into()),
            names(&[("#pk", "pk"), ("#exp", TTL_ATTRIBUTE)]),
            Some(HashMap::from([(":now".to_string(), AttributeValue::N(now.to_string()))])),
        ),
        Condition::Version(v) => (
            Some("#v = :v".into()),
            names(&[("#v", "version")]),
            Some(HashMap::from([(":v".to_string(), AttributeValue::N(v.to_string()))])),
        ),
    }
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([("pk".to_string(), AttributeValue::S(pk.into())), ("sk".to_string(), AttributeValue::S(sk.into()))])
}

fn to_attrs(item: &Item) -> Result<Attrs, StoreError> {
    let mut attrs = key(&item.pk, &item.sk);
    if let Some((gpk, gsk)) = &item.gsi1 {
        attrs.insert("gsi1pk".into(), AttributeValue::S(gpk.clone()));
        attrs.insert("gsi1sk".into(), AttributeValue::S(gsk.clone()));
    }
    if let Some(t) = item.expires_at {
        attrs.insert(TTL_ATTRIBUTE.into(), AttributeValue::N(t.to_string()));
    }
    attrs.insert("version".into(), AttributeValue::N(item.version.to_string()));
    let data: AttributeValue = serde_dynamo::to_attribute_value(&item.body)
        .map_err(|e| StoreError::Corrupt { key: format!("{}/{}", item.pk, item.sk), reason: e.to_string() })?;
    attrs.insert("data".into(), data);
    Ok(attrs)
}

fn from_attrs(mut attrs: Attrs) -> Result<Item, StoreError> {
    let mut s = |name: &str| match attrs.remove(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    };
    let pk = s("pk").unwrap_or_default();
    let sk = s("sk").unwrap_or_default();
    let gsi1 = s("gsi1pk").zip(s("gsi1sk"));
    let corrupt = |reason: String| StoreError::Corrupt { key: format!("{pk}/{sk}"), reason };
    let number = |v: Option<AttributeValue>| -> Option<String> {
        match v {
            Some(AttributeValue::N(n)) => Some(n),
            _ => None,
        }
    };
    let expires_at = number(attrs.remove(TTL_ATTRIBUTE))
        .map(|n| n.parse::<i64>())
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?;
    let version = number(attrs.remove("version"))
        .map(|n| n.parse::<u64>())
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?
        .unwrap_or(0);
    let body = match attrs.remove("data") {
        Some(data) => serde_dynamo::from_attribute_value(data).map_err(|e| corrupt(e.to_string()))?,
        None => serde_json::Value::Object(Default::default()),
    };
    Ok(Item { pk, sk, gsi1, expires_at, version, body })
}

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("could not build DynamoDB request: {e}"))
}

fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug, R>(e: SdkError<E, R>) -> StoreError {
    let detail = match e.as_service_error() {
        Some(service) => format!("{}: {}", service.code().unwrap_or("error"), service.message().unwrap_or("")),
        None => format!("{e}"),
    };
    StoreError::Unavailable(format!("DynamoDB {detail}"))
}

/// Cursors carry DynamoDB's `LastEvaluatedKey` (string attributes only) as base64url JSON.
fn encode_cursor(key: Attrs) -> String {
    let map: HashMap<String, String> = key
        .into_iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::S(s) => Some((k, s)),
            _ => None,
        })
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).unwrap_or_default())
}

fn decode_cursor(cursor: &str, query: &Query) -> Result<Attrs, StoreError> {
    let invalid = || StoreError::Conflict("invalid paging cursor".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    // A cursor may only resume the partition it came from: never a way into another tenant's items.
    let partition_attr = match query.index {
        Index::Primary => "pk",
        Index::Gsi1 => "gsi1pk",
    };
    if map.get(partition_attr) != Some(&query.pk)
        || map.keys().any(|k| !["pk", "sk", "gsi1pk", "gsi1sk"].contains(&k.as_str()))
    {
        return Err(invalid());
    }
    Ok(map.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|s| s.code()).is_some_and(|c| c == "ConditionalCheckFailedException")
}

#[async_trait]
impl ItemTable for DynamoTable {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item.map(from_attrs).transpose()
    }

    async fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        let conflict = || StoreError::Conflict("condition failed".into());
        match op {
            WriteOp::Put { item, condition } => {
                let put = self.put_request(&item, condition)?;
                self.client
                    .put_item()
                    .table_name(put.table_name)
                    .set_item(Some(put.item))
                    .set_condition_expression(put.condition_expression)
                    .set_expression_attribute_names(put.expression_attribute_names)
                    .set_expression_attribute_values(put.expression_attribute_values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| if is_condition_failure(&e) { conflict() } else { unavailable(e) })
            }
            WriteOp::Delete { pk, sk, condition } => {
                let del = self.delete_request(&pk, &sk, condition)?;
                self.client
                    .delete_item()
                    .table_name(del.table_name)
                    .set_key(Some(del.key))
                    .set_condition_expression(del.condition_expression)
                    .set_expression_attribute_names(del.expression_attribute_names)
                    .set_expression_attribute_values(del.expression_attribute_values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| if is_condition_failure(&e) { conflict() } else { unavailable(e) })
            }
            WriteOp::Check { .. } => self.transact(vec![op]).await,
        }
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(ops.len());
        for op in ops {
            let item = match op {
                WriteOp::Put { item, condition } => {
                    TransactWriteItem::builder().put(self.put_request(&item, condition)?).build()
                }
                WriteOp::Delete { pk, sk, condition } => {
                    TransactWriteItem::builder().delete(self.delete_request(&pk, &sk, condition)?).build()
                }
                WriteOp::Check { pk, sk, condition } => {
                    let (expr, names, values) = condition_expression(condition);
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(&pk, &sk)))
                        .condition_expression(
                            expr.unwrap_or_else(|| "attribute_exists(#pk) OR attribute_not_exists(#pk)".into()),
                        )
                        .set_expression_attribute_names(
                            names.or_else(|| Some(HashMap::from([("#pk".into(), "pk".into())]))),
                        )
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_err)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
            };
            items.push(item);
        }
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let condition_failed = e.as_service_error().is_some_and(|s| {
                    s.is_transaction_canceled_exception()
                        && (s.message().is_some_and(|m| m.contains("ConditionalCheckFailed"))
                            || matches!(s, aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t)
                                if t.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))))
                });
                if condition_failed {
                    Err(StoreError::Conflict("transaction condition failed".into()))
                } else {
                    Err(unavailable(e))
                }
            }
        }
    }

    async fn query(&self, query: &Query) -> Result<ItemPage, StoreError> {
        let (pk_attr, sk_attr) = match query.index {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
        };
        let mut names = HashMap::from([("#pk".to_string(), pk_attr.to_string())]);
        let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(query.pk.clone()))]);
        let mut expr = "#pk = :pk".to_string();
        if let Some(prefix) = &query.sk_prefix {
            names.insert("#sk".into(), sk_attr.into());
            values.insert(":prefix".into(), AttributeValue::S(prefix.clone()));
            expr.push_str(" AND begins_with(#sk, :prefix)");
        }
        let start = query.cursor.as_deref().map(|c| decode_cursor(c, query)).transpose()?;
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(expr)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .set_exclusive_start_key(start)
            .set_limit(query.limit.map(|l| l.min(i32::MAX as u32) as i32));
        if query.index == Index::Gsi1 {
            request = request.index_name(GSI1);
        } else {
            request = request.consistent_read(true);
        }
        let out = request.send().await.map_err(unavailable)?;
        let items = out.items.unwrap_or_default().into_iter().map(from_attrs).collect::<Result<Vec<_>, _>>()?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty()).map(encode_cursor);
        Ok(ItemPage { items, next })
    }

    async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<(String, String)>) -> Result<(), StoreError> {
        // DynamoDB refuses a batch naming one key twice; the last request for a key wins.
        let mut requests: Vec<((String, String), WriteRequest)> = Vec::new();
        for item in &puts {
            let put = PutRequest::builder().set_item(Some(to_attrs(item)?)).build().map_err(build_err)?;
            requests.push(((item.pk.clone(), item.sk.clone()), WriteRequest::builder().put_request(put).build()));
        }
        for (pk, sk) in &deletes {
            let del = DeleteRequest::builder().set_key(Some(key(pk, sk))).build().map_err(build_err)?;
            requests.push(((pk.clone(), sk.clone()), WriteRequest::builder().delete_request(del).build()));
        }
        let mut latest: HashMap<(String, String), WriteRequest> = HashMap::new();
        let mut order = Vec::new();
        for (k, r) in requests {
            if latest.insert(k.clone(), r).is_none() {
                order.push(k);
            }
        }
        let requests: Vec<WriteRequest> = order.into_iter().filter_map(|k| latest.remove(&k)).collect();
        for chunk in requests.chunks(BATCH_LIMIT) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt == BATCH_ATTEMPTS {
                    return Err(StoreError::Unavailable(format!(
                        "{} batch writes still unprocessed after {BATCH_ATTEMPTS} attempts",
                        pending.len()
                    )));
                }
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if !pending.is_empty() {
                    tracing::debug!(unprocessed = pending.len(), attempt, "retrying unprocessed batch writes");
                }
            }
        }
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "dynamodb"
    }
}

/// Exponential backoff with full jitter: 50 ms, 100 ms, … capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    let cap = 50u64.saturating_mul(1 << attempt.min(7)).min(5_000);
    Duration::from_millis(rand::random_range(cap / 2..=cap))
}
