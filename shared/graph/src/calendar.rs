//! Events with Teams meetings, and free/busy through getSchedule (graph.md §3). The app acts on
//! a user's mailbox, and that user is the organizer. findMeetingTimes has no application
//! permission, so it is not here.

use crate::client::{Call, TenantGraph, path_segment};
use crate::error::GraphError;
use crate::paging::Page;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

const PERMISSION: &str = "Calendars.ReadWrite";

/// A local time without offset, in a named zone:
/// `{"dateTime":"2017-04-15T12:00:00","timeZone":"Pacific Standard Time"}`.
/// Use zones the mailbox supports; `UTC` always works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    pub date_time: String,
    pub time_zone: String,
}

impl DateTimeTimeZone {
    pub fn utc(date_time: chrono::NaiveDateTime) -> Self {
        DateTimeTimeZone { date_time: date_time.format("%Y-%m-%dT%H:%M:%S").to_string(), time_zone: "UTC".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BodyType {
    #[serde(alias = "HTML", alias = "Html")]
    Html,
    #[serde(alias = "Text")]
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    pub content_type: BodyType,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttendeeType {
    Required,
    Optional,
    Resource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    pub email_address: EmailAddress,
    #[serde(rename = "type")]
    pub kind: AttendeeType,
    /// The attendee's answer; only in replies.
    #[serde(default, skip_serializing)]
    pub status: Option<ResponseStatus>,
}

impl Attendee {
    pub fn required(address: impl Into<String>, name: Option<String>) -> Self {
        Attendee {
            email_address: EmailAddress { address: address.into(), name },
            kind: AttendeeType::Required,
            status: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseStatus {
    pub response: Option<String>,
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub display_name: String,
}

/// An event to create with a Teams meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewEvent {
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<ItemBody>,
    pub start: DateTimeTimeZone,
    pub end: DateTimeTimeZone,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub attendees: Vec<Attendee>,
    /// A stable id per request of ours: Graph uses it to drop a resent create, so a retry
    /// never makes a second event (and invitation).
    pub transaction_id: String,
}

/// The fields of an event to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<ItemBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTimeTimeZone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTimeTimeZone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Vec<Attendee>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineMeetingInfo {
    pub join_url: Option<String>,
    pub conference_id: Option<String>,
    pub toll_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    pub subject: Option<String>,
    pub start: Option<DateTimeTimeZone>,
    pub end: Option<DateTimeTimeZone>,
    pub web_link: Option<String>,
    #[serde(rename = "iCalUId")]
    pub ical_uid: Option<String>,
    pub change_key: Option<String>,
    pub transaction_id: Option<String>,
    pub is_cancelled: Option<bool>,
    pub is_online_meeting: Option<bool>,
    pub online_meeting_provider: Option<String>,
    /// The join URL lives here (`onlineMeetingUrl` is legacy). It can be null right after
    /// creation; read the event again later.
    pub online_meeting: Option<OnlineMeetingInfo>,
    #[serde(default)]
    pub attendees: Vec<Attendee>,
}

/// A getSchedule query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRequest {
    /// SMTP addresses of users, distribution lists or rooms.
    pub schedules: Vec<String>,
    pub start_time: DateTimeTimeZone,
    pub end_time: DateTimeTimeZone,
    /// Minutes per digit of `availabilityView`: 5 to 1440, Graph's default 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_view_interval: Option<u32>,
    /// Time zone of the reply's times (`Prefer: outlook.timezone`); UTC when unset.
    #[serde(skip)]
    pub reply_time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleInformation {
    pub schedule_id: String,
    /// One digit per interval; 0 is free, other digits are degrees of busy.
    pub availability_view: Option<String>,
    #[serde(default)]
    pub schedule_items: Vec<ScheduleItem>,
    pub working_hours: Option<WorkingHours>,
    /// Set when this schedule could not be read (e.g. an unknown address).
    pub error: Option<FreeBusyError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleItem {
    /// `free`, `tentative`, `busy`, `oof`, `workingElsewhere` or `unknown`.
    pub status: String,
    pub start: DateTimeTimeZone,
    pub end: DateTimeTimeZone,
    pub subject: Option<String>,
    pub location: Option<String>,
    pub is_private: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkingHours {
    #[serde(default)]
    pub days_of_week: Vec<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// A named zone or a custom one; only the name is read.
    pub time_zone: Option<TimeZoneName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TimeZoneName {
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyError {
    pub message: Option<String>,
    pub response_code: Option<String>,
}

impl TenantGraph {
    /// `POST /users/{id | upn}/events` with `isOnlineMeeting: true` and
    /// `onlineMeetingProvider: "teamsForBusiness"`. Invitations go out to the attendees. Resent
    /// after a 5xx: the `transactionId` keeps that from doubling the event.
    ///
    /// Permission: Calendars.ReadWrite.
    pub async fn create_event(&self, organizer: &str, event: &NewEvent) -> Result<Event, GraphError> {
        if event.transaction_id.is_empty() {
            return Err(GraphError::Invalid("an event needs a transactionId so a resend cannot double it".into()));
        }
        let mut body = json!(event);
        body["isOnlineMeeting"] = json!(true);
        body["onlineMeetingProvider"] = json!("teamsForBusiness");
        let url = self.url(&format!("/users/{}/events", path_segment(organizer)), &[]);
        self.json(Call::new(Method::POST, url, PERMISSION).json(body).idempotent()).await
    }

    /// `PATCH /users/{id | upn}/events/{id}` with only the changed fields; attendees are sent
    /// the update.
    ///
    /// Permission: Calendars.ReadWrite.
    pub async fn update_event(
        &self,
        organizer: &str,
        event_id: &str,
        update: &EventUpdate,
    ) -> Result<Event, GraphError> {
        let url = self.url(&format!("/users/{}/events/{}", path_segment(organizer), path_segment(event_id)), &[]);
        self.json(Call::new(Method::PATCH, url, PERMISSION).json(json!(update))).await
    }

    /// `POST /users/{id | upn}/events/{id}/cancel` (202): sends the cancellation to the
    /// attendees, which a plain DELETE would not. Only the organizer's mailbox can cancel.
    ///
    /// Permission: Calendars.ReadWrite.
    pub async fn cancel_event(&self, organizer: &str, event_id: &str, comment: Option<&str>) -> Result<(), GraphError> {
        let url =
            self.url(&format!("/users/{}/events/{}/cancel", path_segment(organizer), path_segment(event_id)), &[]);
        let body = match comment {
            Some(comment) => json!({ "comment": comment }),
            None => json!({}),
        };
        self.send(Call::new(Method::POST, url, PERMISSION).json(body)).await.map(drop)
    }

    /// `POST /users/{id | upn}/calendar/getSchedule`: free/busy of up to a few users or rooms,
    /// as seen from `user`'s mailbox. Only reads, so it is resent after a 5xx.
    ///
    /// Permission: Calendars.ReadWrite (Calendars.ReadBasic would do, but is not granted).
    pub async fn get_schedule(
        &self,
        user: &str,
        request: &ScheduleRequest,
    ) -> Result<Vec<ScheduleInformation>, GraphError> {
        if let Some(interval) = request.availability_view_interval.filter(|i| !(5..=1440).contains(i)) {
            return Err(GraphError::Invalid(format!(
                "availabilityViewInterval must be 5 to 1440 minutes, not {interval}"
            )));
        }
        let url = self.url(&format!("/users/{}/calendar/getSchedule", path_segment(user)), &[]);
        let mut call = Call::new(Method::POST, url, PERMISSION).json(json!(request)).idempotent();
        if let Some(zone) = &request.reply_time_zone {
            call = call.header("prefer", format!("outlook.timezone=\"{zone}\""));
        }
        let page: Page<ScheduleInformation> = self.json(call).await?;
        Ok(page.value)
    }
}
