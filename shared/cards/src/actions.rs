//! The contract between the cards and the bot's action handler: verbs, the keys of action
//! data, and the ids of inputs. The handler imports these instead of repeating strings.

use serde_json::Value;

/// Key of the verb inside every action's `data`. Teams sometimes delivers an
/// `adaptiveCard/action` invoke without `action.verb`, and an `Action.Submit` fallback has no
/// verb at all, so the verb always travels in the data too.
pub const DATA_VERB: &str = "verb";

/// Key of the alert id inside every action's `data`.
pub const DATA_ALERT_ID: &str = "alertId";

/// Ids of the card's inputs; their values arrive merged into the action data under these keys.
pub mod input {
    /// `Input.ChoiceSet` of the reassign form; its value is a [`ReassignTarget`](super::ReassignTarget)
    /// choice value.
    pub const REASSIGN_TARGET: &str = "reassignTarget";
    /// `Input.Text` of the comment form.
    pub const COMMENT: &str = "comment";
}

/// Longest comment the comment input accepts (its `maxLength`).
pub const COMMENT_MAX_CHARS: usize = 2000;

/// What a card action asks the bot to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// Accept the alert.
    Accept,
    /// Resolve the alert.
    Resolve,
    /// Reassign to the user or escalation policy in [`input::REASSIGN_TARGET`].
    Reassign,
    /// Add the comment in [`input::COMMENT`].
    Comment,
    /// Create a dedicated Teams channel for the alert.
    CreateChannel,
    /// Create a Teams meeting for the alert.
    CreateMeeting,
    /// Create a group chat with the responders.
    CreateChat,
    /// Re-render the card with the current alert (button or automatic refresh).
    Refresh,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 8] = [
        Verb::Accept,
        Verb::Resolve,
        Verb::Reassign,
        Verb::Comment,
        Verb::CreateChannel,
        Verb::CreateMeeting,
        Verb::CreateChat,
        Verb::Refresh,
    ];

    /// The wire name, as in `verb` and `data.verb`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Accept => "accept",
            Verb::Resolve => "resolve",
            Verb::Reassign => "reassign",
            Verb::Comment => "comment",
            Verb::CreateChannel => "createChannel",
            Verb::CreateMeeting => "createMeeting",
            Verb::CreateChat => "createChat",
            Verb::Refresh => "refresh",
        }
    }

    /// The verb with this wire name.
    pub fn parse(raw: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|verb| verb.as_str() == raw)
    }

    /// The verb of an incoming action: `action.verb` when Teams sent one, else `data.verb`
    /// (the `Action.Submit` fallback and some `Action.Execute` invokes carry only the latter).
    pub fn of_action(verb: Option<&str>, data: &Value) -> Option<Verb> {
        verb.and_then(Verb::parse).or_else(|| data.get(DATA_VERB).and_then(Value::as_str).and_then(Verb::parse))
    }
}

/// Whom the reassign form hands the alert to. The choice values of
/// [`input::REASSIGN_TARGET`] encode it as `user:<id>` or `policy:<id>`, so one required
/// input covers both kinds and the handler can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReassignTarget {
    /// An ilert user id.
    User(String),
    /// An ilert escalation policy id.
    EscalationPolicy(String),
}

impl ReassignTarget {
    const USER: &'static str = "user:";
    const POLICY: &'static str = "policy:";

    /// The choice value in the card.
    pub fn to_choice_value(&self) -> String {
        match self {
            ReassignTarget::User(id) => format!("{}{id}", Self::USER),
            ReassignTarget::EscalationPolicy(id) => format!("{}{id}", Self::POLICY),
        }
    }

    /// Reads a submitted choice value; `None` for anything this crate did not write.
    pub fn parse(value: &str) -> Option<ReassignTarget> {
        let value = value.trim();
        if let Some(id) = value.strip_prefix(Self::USER).filter(|id| !id.is_empty()) {
            Some(ReassignTarget::User(id.to_owned()))
        } else {
            value
                .strip_prefix(Self::POLICY)
                .filter(|id| !id.is_empty())
                .map(|id| ReassignTarget::EscalationPolicy(id.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verbs_round_trip() {
        for verb in Verb::ALL {
            assert_eq!(Verb::parse(verb.as_str()), Some(verb));
        }
        assert_eq!(Verb::parse("Accept"), None);
    }

    #[test]
    fn verb_falls_back_to_data() {
        let data = json!({"verb": "resolve", "alertId": "1"});
        assert_eq!(Verb::of_action(Some("accept"), &data), Some(Verb::Accept));
        assert_eq!(Verb::of_action(None, &data), Some(Verb::Resolve));
        assert_eq!(Verb::of_action(Some("bogus"), &data), Some(Verb::Resolve));
        assert_eq!(Verb::of_action(None, &json!({})), None);
    }

    #[test]
    fn reassign_target_round_trips() {
        for target in [ReassignTarget::User("12".into()), ReassignTarget::EscalationPolicy("99".into())] {
            assert_eq!(ReassignTarget::parse(&target.to_choice_value()), Some(target));
        }
        assert_eq!(ReassignTarget::parse("user:"), None);
        assert_eq!(ReassignTarget::parse("12"), None);
    }
}
