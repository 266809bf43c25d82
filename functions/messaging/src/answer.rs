//! The HTTP answers the endpoint gives Teams.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use botframework::invoke::AdaptiveCardInvokeResponse;

/// What one activity is answered with.
#[derive(Debug)]
pub enum Answer {
    /// 200 with an empty body: every non-invoke activity, handled or not.
    Ok,
    /// A Universal Actions response; the HTTP status equals its `statusCode` (teams.ts
    /// requires it), except for [`Answer::not_implemented`].
    Card(AdaptiveCardInvokeResponse),
    /// An invoke response sent with HTTP 200 whatever its `statusCode` says.
    CardAt200(AdaptiveCardInvokeResponse),
    /// A refusal before the body was trusted or understood: status and a short reason.
    Refused(StatusCode, String),
}

impl Answer {
    /// An invoke we have no handler for. botbuilder answers HTTP 501; we answer HTTP 200 with
    /// `statusCode: 501` in the body so Teams shows a proper error while our endpoint never
    /// reports a 5xx for a request it understood (a 5xx is how we alarm on real failures).
    pub fn not_implemented(name: &str) -> Answer {
        Answer::CardAt200(AdaptiveCardInvokeResponse::error(
            501,
            "NotImplemented",
            format!("The ilert bot does not handle '{name}'."),
        ))
    }

    /// An invoke refused with a message the user can act on (HTTP 400).
    pub fn invoke_error(code: &str, message: impl Into<String>) -> Answer {
        Answer::Card(AdaptiveCardInvokeResponse::error(400, code, message))
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Answer::Ok => StatusCode::OK.into_response(),
            Answer::Card(body) => {
                let status = StatusCode::from_u16(body.status_code).unwrap_or(StatusCode::OK);
                (status, Json(body)).into_response()
            }
            Answer::CardAt200(body) => (StatusCode::OK, Json(body)).into_response(),
            Answer::Refused(status, reason) => (status, reason).into_response(),
        }
    }
}
