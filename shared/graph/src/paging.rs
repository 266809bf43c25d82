//! Collections as lazy streams: the next page is fetched only when the consumer asks for it,
//! following `@odata.nextLink` as given (graph.md §4.4: never rebuild it from `$skiptoken`).

use crate::client::{Call, TenantGraph};
use crate::error::GraphError;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

/// One page of a collection.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
    /// On the last page of a delta round: the URL to store for the next round.
    #[serde(rename = "@odata.deltaLink", default)]
    pub delta_link: Option<String>,
    /// Only on the first page, and only when asked for.
    #[serde(rename = "@odata.count", default)]
    pub count: Option<u64>,
}

/// Pages, fetched one by one as the stream is polled.
pub type PageStream<T> = BoxStream<'static, Result<Page<T>, GraphError>>;
/// Items across pages, fetched a page at a time as the stream is polled.
pub type ItemStream<T> = BoxStream<'static, Result<T, GraphError>>;

/// An entry of a delta page.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// Created, changed or restored: the object with the selected properties.
    Upserted(T),
    /// `{"id", "@removed": {"reason"}}`.
    Removed { id: String, reason: RemovedReason },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovedReason {
    /// Soft-deleted; it can still be restored (and would come back as [`Change::Upserted`]).
    Changed,
    /// Deleted for good.
    Deleted,
    Other(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Change<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if let Some(removed) = value.get("@removed") {
            let id = value.get("id").and_then(Value::as_str).ok_or_else(|| D::Error::missing_field("id"))?;
            let reason = match removed.get("reason").and_then(Value::as_str).unwrap_or_default() {
                r if r.eq_ignore_ascii_case("changed") => RemovedReason::Changed,
                r if r.eq_ignore_ascii_case("deleted") => RemovedReason::Deleted,
                r => RemovedReason::Other(r.to_owned()),
            };
            return Ok(Change::Removed { id: id.to_owned(), reason });
        }
        T::deserialize(value).map(Change::Upserted).map_err(D::Error::custom)
    }
}

impl TenantGraph {
    /// The pages of the collection at `first`, each request with `headers` (Graph does not
    /// carry headers such as `ConsistencyLevel` over to nextLinks).
    pub(crate) fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        first: Result<Url, GraphError>,
        permission: &'static str,
        headers: Vec<(&'static str, String)>,
    ) -> PageStream<T> {
        let graph = self.clone();
        stream::try_unfold(Some(first), move |next| {
            let graph = graph.clone();
            let headers = headers.clone();
            async move {
                let Some(url) = next else { return Ok(None) };
                let mut call = Call::get(url?, permission);
                call.headers = headers;
                let page: Page<T> = graph.json(call).await?;
                let next = page.next_link.as_deref().map(|link| graph.link(link));
                Ok(Some((page, next)))
            }
        })
        .boxed()
    }

    pub(crate) fn items<T: DeserializeOwned + Send + 'static>(
        &self,
        first: Url,
        permission: &'static str,
    ) -> ItemStream<T> {
        self.pages(Ok(first), permission, Vec::new())
            .map_ok(|page: Page<T>| stream::iter(page.value.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}
