//! The plain message card: "under way" and error answers that stand in for an alert card.

use crate::elements::{bold, card, rich, run, with};
use crate::text::{inline, truncate};
use serde_json::Value;

/// Bound of the notice card's title.
const TITLE_BYTES: usize = 200;
/// Bound of the notice card's text (a line or two: this card is no place for a log).
const TEXT_BYTES: usize = 2000;
/// Bound of the card's `fallbackText`.
const FALLBACK_BYTES: usize = 300;

/// A card with a bold title and a message, e.g. ("Creating the channel", "This takes a few
/// seconds…") or ("Could not accept the alert", the error line). Both are shown as plain
/// text (markdown is not interpreted) and cut to a bound, so the card is always small.
pub fn render_notice_card(title: &str, text: &str) -> Value {
    let title = inline(title, TITLE_BYTES);
    let text = inline(text, TEXT_BYTES);
    let mut body = Vec::new();
    if !title.is_empty() {
        body.push(Value::Object(rich(vec![with(bold(title.clone()), "size", "Medium")])));
    }
    if !text.is_empty() {
        body.push(Value::Object(rich(vec![run(text.clone())])));
    }
    let fallback = match (title.is_empty(), text.is_empty()) {
        (false, false) => format!("{title}: {text}"),
        (false, true) => title,
        _ => text,
    };
    // Clients that cannot render the card show this; it repeats the text, so it is kept short.
    card(body, Vec::new(), &truncate(&fallback, FALLBACK_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_card_is_plain_and_bounded() {
        let card = render_notice_card("Could not **accept**", &"[x](javascript:1) ".repeat(1000));
        assert_eq!(card["version"], "1.5");
        assert_eq!(card["body"][0]["inlines"][0]["type"], "TextRun");
        assert_eq!(card["body"][0]["inlines"][0]["text"], "Could not **accept**");
        let text = card["body"][1]["inlines"][0]["text"].as_str().unwrap();
        assert!(text.len() <= TEXT_BYTES && text.ends_with('…'));
        assert!(serde_json::to_vec(&card).unwrap().len() < 3 * 1024);
    }

    #[test]
    fn notice_card_without_text_has_only_the_title() {
        let card = render_notice_card("Done", "  ");
        assert_eq!(card["body"].as_array().unwrap().len(), 1);
        assert_eq!(card["fallbackText"], "Done");
    }
}
