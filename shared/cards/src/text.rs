//! Hygiene for user-controlled text before it goes into a card: bounding, stripping what no
//! card should carry, and neutralising Adaptive Card markdown.
//!
//! The renderer avoids markdown for user text wherever it can: `TextRun`s inside a
//! `RichTextBlock` are never markdown-processed (Adaptive Cards spec; adaptivecards JS sets
//! them with `innerText`), and action titles are plain. Markdown is used only for the links
//! list, and there every user-controlled piece goes through [`escape_markdown`] and
//! [`markdown_url`]. Backslash escapes are honoured unevenly by Teams clients (mobile has shown
//! stray backslashes), so the escaping is designed to stay safe even where a client ignores
//! the backslash: a `]` is never directly followed by `(` after escaping, so no client can
//! assemble a link from user text.

use std::borrow::Cow;

/// Marks text that was cut.
pub const ELLIPSIS: char = '…';

/// Cuts `text` to at most `max_bytes` UTF-8 bytes, on a char boundary, ending a cut with `…`.
///
/// Bounds are in bytes, not chars, because the card size guarantee is about bytes: 300 chars
/// of emoji are 1200 bytes.
pub fn truncate(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let room = max_bytes.saturating_sub(ELLIPSIS.len_utf8());
    let kept = text[..text.floor_char_boundary(room)].trim_end();
    let mut out = String::with_capacity(kept.len() + ELLIPSIS.len_utf8());
    out.push_str(kept);
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// Characters that reorder how text is displayed (bidi embeddings, overrides and isolates).
/// In a summary they can make text read differently from what it is, so they are dropped.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line of display text: control characters (newlines included) become spaces, bidi
/// controls go, runs of whitespace collapse, ends are trimmed.
pub fn clean_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if is_bidi_control(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// [`clean_inline`] then [`truncate`]: the usual treatment of a short user-controlled field.
pub fn inline(text: &str, max_bytes: usize) -> String {
    let cleaned = clean_inline(text);
    truncate(&cleaned, max_bytes).into_owned()
}

/// Multi-line display text as lines: any line ending counts, tabs become spaces, other control
/// and bidi characters go, trailing whitespace is trimmed, and runs of blank lines become one
/// empty line (leading and trailing blank lines are dropped).
pub fn clean_lines(text: &str) -> Vec<String> {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = Vec::new();
    for raw in normalised.split('\n') {
        let line: String = raw
            .chars()
            .filter(|c| !is_bidi_control(*c))
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let line = line.trim_end().to_owned();
        if line.is_empty() && lines.last().is_none_or(|last| last.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    while lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    lines
}

/// Escapes the characters Adaptive Card markdown (a CommonMark subset in every Teams client)
/// gives meaning to, for text placed in a markdown field: emphasis (`*`, `_`, `~`), links and
/// images (`[`, `]`, `(`, `)`, `!`), autolinks and HTML (`<`, `>`), code (`` ` ``), and the
/// backslash itself; a leading list or heading marker is escaped too.
///
/// Expects one line (run [`clean_inline`] first): newlines would start new markdown blocks.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, '\\' | '*' | '_' | '~' | '`' | '[' | ']' | '(' | ')' | '<' | '>' | '!')
            || (i == 0 && matches!(c, '#' | '-' | '+' | '='));
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    // "1. text" at the start would become a numbered list.
    if let Some(dot) = out.find(['.', ')'])
        && dot > 0
        && out[..dot].bytes().all(|b| b.is_ascii_digit())
    {
        out.insert(dot, '\\');
    }
    out
}

/// Which URL schemes a place in the card accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes {
    /// `https` only (images: Teams fetches them, and mixed content is refused).
    Https,
    /// `https` or `http` (links the user opens).
    Web,
}

/// `url` if it is an absolute `http(s)` URL (per `schemes`) of at most `max_bytes`, with a
/// host and no whitespace or control characters; otherwise `None`. Anything else
/// (`javascript:`, `data:`, relative paths) never reaches a card. Long URLs are dropped, not
/// cut: a shortened URL points somewhere else.
pub fn web_url(url: &str, schemes: Schemes, max_bytes: usize) -> Option<String> {
    let url = url.trim();
    if url.len() > max_bytes || url.chars().any(|c| c.is_whitespace() || c.is_control() || is_bidi_control(c)) {
        return None;
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if schemes == Schemes::Web && lower.starts_with("http://") {
        &url[7..]
    } else {
        return None;
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if host.is_empty() || host.starts_with(':') {
        return None;
    }
    Some(url.to_owned())
}

/// A URL (already checked by [`web_url`]) made safe as a markdown link destination:
/// parentheses, angle brackets and backslashes are percent-encoded, so the destination can
/// neither end early nor smuggle markdown.
pub fn markdown_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len() + 8);
    for c in url.chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\\' => out.push_str("%5C"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_short_text_and_cuts_on_char_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 5), "ab…");
        // Every cut point inside multi-byte chars must land on a boundary.
        let text = "äöü😀日本語 mixed ✓".repeat(20);
        for max in 0..text.len() + 2 {
            let cut = truncate(&text, max);
            assert!(cut.len() <= max.max(ELLIPSIS.len_utf8()), "{max}: {} bytes", cut.len());
        }
    }

    #[test]
    fn clean_inline_flattens_and_strips() {
        assert_eq!(clean_inline("  a\n\tb\u{0}c \u{202E}evil  "), "a b c evil");
        assert_eq!(clean_inline("\n\n"), "");
    }

    #[test]
    fn clean_lines_collapses_blank_runs() {
        assert_eq!(clean_lines("\n\na\r\n\r\n\r\nb\rc\t1  \n\n"), vec!["a", "", "b", "c 1"]);
    }

    #[test]
    fn escape_markdown_breaks_links_even_without_backslash_support() {
        let escaped = escape_markdown("[click](javascript:alert(1)) **bold** _i_ <https://x>");
        assert_eq!(escaped, r"\[click\]\(javascript:alert\(1\)\) \*\*bold\*\* \_i\_ \<https://x\>");
        // A client that shows the backslashes literally still sees no `](`.
        assert!(!escaped.contains("]("));
        assert_eq!(escape_markdown("- item"), r"\- item");
        assert_eq!(escape_markdown("12. item"), r"12\. item");
        assert_eq!(escape_markdown("v1.2 ok"), "v1.2 ok");
    }

    #[test]
    fn web_url_accepts_only_absolute_web_urls() {
        assert_eq!(web_url(" https://x.io/a ", Schemes::Web, 100).as_deref(), Some("https://x.io/a"));
        assert_eq!(web_url("HTTP://x.io", Schemes::Web, 100).as_deref(), Some("HTTP://x.io"));
        assert_eq!(web_url("http://x.io", Schemes::Https, 100), None);
        for bad in ["javascript:alert(1)", "data:text/html,x", "/relative", "https://", "https:///p", "https://a b"] {
            assert_eq!(web_url(bad, Schemes::Web, 100), None, "{bad}");
        }
        assert_eq!(web_url("https://x.io/long", Schemes::Web, 10), None);
    }

    #[test]
    fn markdown_url_encodes_delimiters() {
        assert_eq!(markdown_url("https://x.io/a_(b)<c>"), "https://x.io/a_%28b%29%3Cc%3E");
    }
}
