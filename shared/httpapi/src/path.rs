//! Path parameters whose rejection is our JSON error, not axum's plain-text one.

use crate::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Like [`axum::extract::Path`], but a parameter that cannot be decoded (bad percent-encoding,
/// wrong type) is a 404 `not_found`: a path that cannot name anything names nothing.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => {
                tracing::debug!(error = %e, "path parameters rejected");
                Err(ApiError::not_found(format!("there is no resource at {}", parts.uri.path())))
            }
        }
    }
}
