//! Small builders for the Adaptive Card elements the renderers use, so that every card gets
//! the same envelope and user text always lands in a markdown-free `TextRun`.

use serde_json::{Map, Value, json};

/// Schema version of every card: the highest Teams renders, and the lowest with
/// `Action.Execute` and `refresh` (Bot Framework reference §5.3).
pub const CARD_VERSION: &str = "1.5";

/// `$schema` of every card.
pub const CARD_SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";

/// A top-level card: schema, version 1.5, full width in Teams.
pub fn card(body: Vec<Value>, actions: Vec<Value>, fallback_text: &str) -> Value {
    let mut card = json!({
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": { "width": "Full" },
        "fallbackText": fallback_text,
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    card
}

/// A card nested in an `Action.ShowCard` (no schema or version of its own).
pub fn inner_card(body: Vec<Value>, actions: Vec<Value>) -> Value {
    json!({ "type": "AdaptiveCard", "body": body, "actions": actions })
}

/// A plain-text run. `TextRun`s are never markdown-processed, which is why user text goes here.
pub fn run(text: impl Into<String>) -> Map<String, Value> {
    let mut run = Map::new();
    run.insert("type".into(), "TextRun".into());
    run.insert("text".into(), Value::String(text.into()));
    run
}

/// A bold run.
pub fn bold(text: impl Into<String>) -> Map<String, Value> {
    with(run(text), "weight", "Bolder")
}

/// `map` with `key` set to `value`.
pub fn with(mut map: Map<String, Value>, key: &str, value: impl Into<Value>) -> Map<String, Value> {
    map.insert(key.into(), value.into());
    map
}

/// A `RichTextBlock` of runs.
pub fn rich(runs: Vec<Map<String, Value>>) -> Map<String, Value> {
    let mut block = Map::new();
    block.insert("type".into(), "RichTextBlock".into());
    block.insert("inlines".into(), Value::Array(runs.into_iter().map(Value::Object).collect()));
    block
}

/// A `TextBlock` of the card's own text (never user text: `TextBlock` renders markdown).
pub fn label(text: &str) -> Map<String, Value> {
    let mut block = Map::new();
    block.insert("type".into(), "TextBlock".into());
    block.insert("text".into(), text.into());
    block.insert("wrap".into(), true.into());
    block
}

/// A section heading.
pub fn heading(text: &str) -> Value {
    Value::Object(with(with(label(text), "weight", "Bolder"), "spacing", "Medium"))
}

/// A subtle, tight line of the card's own text ("and 3 more").
pub fn note(text: &str) -> Value {
    Value::Object(with(with(label(text), "isSubtle", true), "spacing", "None"))
}

/// `Action.OpenUrl`.
pub fn open_url(title: &str, url: &str) -> Value {
    json!({ "type": "Action.OpenUrl", "title": title, "url": url })
}
