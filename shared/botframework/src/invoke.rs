//! Invoke activities and the answers Teams expects to them in the HTTP response of the same
//! POST: `{statusCode, type, value}` for Universal Actions (with the HTTP status equal to
//! `statusCode`), `{"task": …}` for dialogs and `{"composeExtension": …}` for message
//! extensions.

use crate::activity::{Activity, ActivityType, Attachment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `value.action` of an `adaptiveCard/action` invoke.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteAction {
    /// `Action.Execute`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The action's `id`.
    #[serde(default)]
    pub id: Option<String>,
    /// May be missing (Teams captures exist without one): carry it in `data` as well.
    #[serde(default)]
    pub verb: Option<String>,
    /// The button title.
    #[serde(default)]
    pub title: Option<String>,
    /// The action's `data`, merged with input values.
    #[serde(default)]
    pub data: Value,
}

/// `value` of an `adaptiveCard/action` invoke.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdaptiveCardInvoke {
    /// The action that was invoked.
    pub action: ExecuteAction,
    /// `manual`, or `automatic` for refresh invokes.
    #[serde(default)]
    pub trigger: Option<String>,
    /// State from a sign-in flow.
    #[serde(default)]
    pub state: Option<String>,
}

/// `value` of `task/fetch` and `task/submit`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskModuleRequest {
    /// The submitted or fetched `data`.
    #[serde(default)]
    pub data: Value,
    /// `{theme}` and the like.
    #[serde(default)]
    pub context: Value,
}

/// One parameter of a message-extension query.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryParameter {
    /// Parameter name; `initialRun` for the default query.
    #[serde(default)]
    pub name: String,
    /// Parameter value.
    #[serde(default)]
    pub value: Value,
}

/// `value.queryOptions` of a message-extension query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueryOptions {
    /// Results to skip.
    #[serde(default)]
    pub skip: Option<u32>,
    /// Results wanted.
    #[serde(default)]
    pub count: Option<u32>,
}

/// `value` of `composeExtension/query`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagingExtensionQuery {
    /// The manifest command id.
    #[serde(default)]
    pub command_id: Option<String>,
    /// Query parameters.
    #[serde(default)]
    pub parameters: Vec<QueryParameter>,
    /// Paging.
    #[serde(default)]
    pub query_options: Option<QueryOptions>,
    /// State from a sign-in or config flow.
    #[serde(default)]
    pub state: Option<String>,
}

impl MessagingExtensionQuery {
    /// The default query Teams sends when the extension opens (`parameters[0].name == "initialRun"`).
    pub fn is_initial_run(&self) -> bool {
        self.parameters.first().is_some_and(|p| p.name == "initialRun")
    }
}

/// An invoke, by name.
#[derive(Debug, Clone, PartialEq)]
pub enum Invoke {
    /// `adaptiveCard/action` (Universal Actions, `Action.Execute`).
    AdaptiveCardAction(AdaptiveCardInvoke),
    /// `task/fetch`: open a dialog.
    TaskFetch(TaskModuleRequest),
    /// `task/submit`: a dialog was submitted.
    TaskSubmit(TaskModuleRequest),
    /// `composeExtension/query`: a message-extension search.
    ComposeExtensionQuery(MessagingExtensionQuery),
    /// Any other name (or none), which the bot answers 501.
    Other(String),
}

/// Why an activity is not a usable invoke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The activity's type is not `invoke`.
    #[error("activity is not an invoke")]
    NotInvoke,
    /// Answer 400 with an error response.
    #[error("invoke {name} has a missing or malformed value")]
    BadValue {
        /// The invoke name.
        name: String,
    },
}

impl Activity {
    /// The invoke this activity carries, with its `value` parsed for the names this crate
    /// knows. An `adaptiveCard/action` whose `action.type` is not `Action.Execute` is a
    /// [`InvokeError::BadValue`], as the SDKs treat it.
    pub fn invoke(&self) -> Result<Invoke, InvokeError> {
        if self.kind != ActivityType::Invoke {
            return Err(InvokeError::NotInvoke);
        }
        let name = self.name.clone().unwrap_or_default();
        fn parse<T: serde::de::DeserializeOwned>(value: Option<&Value>, name: &str) -> Result<T, InvokeError> {
            let bad = || InvokeError::BadValue { name: name.to_owned() };
            serde_json::from_value(value.ok_or_else(bad)?.clone()).map_err(|_| bad())
        }
        let value = self.value.as_ref();
        Ok(match name.as_str() {
            "adaptiveCard/action" => {
                let invoke: AdaptiveCardInvoke = parse(value, &name)?;
                if invoke.action.kind != "Action.Execute" {
                    return Err(InvokeError::BadValue { name });
                }
                Invoke::AdaptiveCardAction(invoke)
            }
            "task/fetch" => Invoke::TaskFetch(parse(value, &name)?),
            "task/submit" => Invoke::TaskSubmit(parse(value, &name)?),
            "composeExtension/query" => Invoke::ComposeExtensionQuery(parse(value, &name)?),
            _ => Invoke::Other(name),
        })
    }
}

/// Content types of Universal Action responses.
pub mod response_type {
    /// An Adaptive Card that replaces the invoking card for this user.
    pub const ADAPTIVE_CARD: &str = "application/vnd.microsoft.card.adaptive";
    /// A toast text.
    pub const MESSAGE: &str = "application/vnd.microsoft.activity.message";
    /// An error `{code, message}`.
    pub const ERROR: &str = "application/vnd.microsoft.error";
    /// A sign-in request (OAuthCard).
    pub const LOGIN_REQUEST: &str = "application/vnd.microsoft.activity.loginRequest";
    /// A failed precondition `{code, message}`.
    pub const PRECONDITION_FAILED: &str = "application/vnd.microsoft.error.preconditionFailed";
}

/// `{code, message}` of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvokeErrorBody {
    /// Machine-readable code.
    pub code: String,
    /// Text the user may see.
    pub message: String,
}

/// The answer to an `adaptiveCard/action` invoke. Send it as the HTTP body with HTTP status
/// [`status_code`](Self::status_code); the key must be `statusCode` (Teams shows "Unable to
/// reach app" otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdaptiveCardInvokeResponse {
    /// HTTP status, repeated in the body.
    pub status_code: u16,
    /// One of [`response_type`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The card, text or error.
    pub value: Value,
}

impl AdaptiveCardInvokeResponse {
    /// 200 with the card that replaces the current one, for the invoking user and client only.
    pub fn card(card: Value) -> Self {
        Self { status_code: 200, kind: response_type::ADAPTIVE_CARD.into(), value: card }
    }

    /// 200 with a short text Teams shows as a toast.
    pub fn message(text: impl Into<String>) -> Self {
        Self { status_code: 200, kind: response_type::MESSAGE.into(), value: Value::String(text.into()) }
    }

    /// An error (400 or 500 in practice) with a code and a message the user may see.
    pub fn error(status_code: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        let body = InvokeErrorBody { code: code.into(), message: message.into() };
        Self {
            status_code,
            kind: response_type::ERROR.into(),
            value: serde_json::to_value(body).unwrap_or(Value::Null),
        }
    }
}

/// The dialog Teams opens for a `continue` task response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    /// Dialog title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `small`, `medium`, `large` or pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Value>,
    /// `small`, `medium`, `large` or pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<Value>,
    /// The card the dialog shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Attachment>,
    /// A web page the dialog shows instead of a card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Page for clients that cannot show `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_url: Option<String>,
}

/// `task` of a task-module response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum TaskModuleResponseBody {
    /// Show (or keep showing) a dialog.
    Continue(Box<TaskInfo>),
    /// Close the dialog and show a message.
    Message(String),
}

/// The answer to `task/fetch` and `task/submit` (HTTP 200). An empty 200 also closes a dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskModuleResponse {
    /// What Teams does next.
    pub task: TaskModuleResponseBody,
}

impl TaskModuleResponse {
    /// A dialog showing an Adaptive Card.
    pub fn card(title: impl Into<String>, card: Value) -> Self {
        Self {
            task: TaskModuleResponseBody::Continue(Box::new(TaskInfo {
                title: Some(title.into()),
                card: Some(Attachment::adaptive_card(card)),
                ..Default::default()
            })),
        }
    }

    /// Close the dialog and show `text`.
    pub fn message(text: impl Into<String>) -> Self {
        Self { task: TaskModuleResponseBody::Message(text.into()) }
    }
}

/// One result of a message-extension query: the card inserted and its preview in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagingExtensionAttachment {
    /// The card inserted into the message.
    #[serde(flatten)]
    pub attachment: Attachment,
    /// How the result shows in the result list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Attachment>,
}

/// `composeExtension` of a message-extension response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagingExtensionResult {
    /// `result`, `auth`, `config` or `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `list` or `grid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_layout: Option<String>,
    /// The results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<MessagingExtensionAttachment>,
    /// The text of a `message` result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The answer to `composeExtension/query` (HTTP 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagingExtensionResponse {
    /// The result.
    pub compose_extension: MessagingExtensionResult,
}

impl MessagingExtensionResponse {
    /// A list of results.
    pub fn results(attachments: Vec<MessagingExtensionAttachment>) -> Self {
        Self {
            compose_extension: MessagingExtensionResult {
                kind: "result".into(),
                attachment_layout: Some("list".into()),
                attachments,
                text: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn responses_have_teams_wire_shapes() {
        assert_eq!(
            serde_json::to_value(AdaptiveCardInvokeResponse::error(400, "BadRequest", "no")).unwrap(),
            json!({"statusCode": 400, "type": "application/vnd.microsoft.error",
                   "value": {"code": "BadRequest", "message": "no"}})
        );
        assert_eq!(
            serde_json::to_value(TaskModuleResponse::message("done")).unwrap(),
            json!({"task": {"type": "message", "value": "done"}})
        );
        let dialog = serde_json::to_value(TaskModuleResponse::card("Assign", json!({"type": "AdaptiveCard"}))).unwrap();
        assert_eq!(dialog["task"]["type"], "continue");
        assert_eq!(dialog["task"]["value"]["card"]["contentType"], ADAPTIVE_CARD);
        let results = serde_json::to_value(MessagingExtensionResponse::results(vec![])).unwrap();
        assert_eq!(results, json!({"composeExtension": {"type": "result", "attachmentLayout": "list"}}));
    }

    use response_type::ADAPTIVE_CARD;

    fn invoke(name: &str, value: Value) -> Activity {
        Activity { kind: ActivityType::Invoke, name: Some(name.into()), value: Some(value), ..Default::default() }
    }

    #[test]
    fn invokes_parse_by_name() {
        let query = invoke(
            "composeExtension/query",
            json!({"commandId": "search", "parameters": [{"name": "initialRun", "value": true}]}),
        );
        match query.invoke().unwrap() {
            Invoke::ComposeExtensionQuery(q) => assert!(q.is_initial_run()),
            other => panic!("{other:?}"),
        }
        let fetch = invoke("task/fetch", json!({"data": {"incident": 7}, "context": {"theme": "dark"}}));
        assert!(matches!(fetch.invoke().unwrap(), Invoke::TaskFetch(t) if t.data["incident"] == 7));
        assert_eq!(invoke("config/fetch", json!({})).invoke().unwrap(), Invoke::Other("config/fetch".into()));
        let submit = invoke("adaptiveCard/action", json!({"action": {"type": "Action.Submit"}}));
        assert!(matches!(submit.invoke(), Err(InvokeError::BadValue { .. })));
        let mut no_value = invoke("adaptiveCard/action", Value::Null);
        no_value.value = None;
        assert!(matches!(no_value.invoke(), Err(InvokeError::BadValue { .. })));
        assert_eq!(Activity::text_message("hi").invoke(), Err(InvokeError::NotInvoke));
    }
}
