//! Channel name rules (graph.md §1.2). Teams refuses some names only later (`filesFolder`
//! fails with 400), so names are checked here before Graph sees them.

/// The longest channel name Graph accepts, in characters.
pub const MAX_CHANNEL_NAME_CHARS: usize = 50;

const FORBIDDEN_CHARS: &[char] =
    &['~', '#', '%', '&', '*', '{', '}', '+', '/', '\\', ':', '<', '>', '?', '|', '\'', '"', ','];

const RESERVED_NAMES: &[&str] = &[
    "forms",
    "CON",
    "CONIN$",
    "CONOUT$",
    "PRN",
    "AUX",
    "NUL",
    "COM1",
    "COM2",
    "COM3",
    "COM4",
    "COM5",
    "COM6",
    "COM7",
    "COM8",
    "COM9",
    "LPT1",
    "LPT2",
    "LPT3",
    "LPT4",
    "LPT5",
    "LPT6",
    "LPT7",
    "LPT8",
    "LPT9",
    "desktop.ini",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelNameError {
    #[error("a channel name cannot be empty")]
    Empty,
    #[error("a channel name has at most {MAX_CHANNEL_NAME_CHARS} characters, this one has {0}")]
    TooLong(usize),
    #[error("a channel name cannot contain {0:?}")]
    ForbiddenCharacter(char),
    #[error("a channel name cannot contain \"..\"")]
    DoubleDot,
    #[error("a channel name cannot contain control character U+{0:04X}")]
    ControlCharacter(u32),
    #[error("{0:?} is a reserved name")]
    Reserved(String),
    #[error("a channel name cannot start with '_' or '.'")]
    BadStart,
    #[error("a channel name cannot end with '.'")]
    BadEnd,
}

/// Checks a channel name against Teams' rules.
pub fn validate_channel_name(name: &str) -> Result<(), ChannelNameError> {
    if name.trim().is_empty() {
        return Err(ChannelNameError::Empty);
    }
    let len = name.chars().count();
    if len > MAX_CHANNEL_NAME_CHARS {
        return Err(ChannelNameError::TooLong(len));
    }
    if let Some(c) = name.chars().find(|c| is_control(*c)) {
        return Err(ChannelNameError::ControlCharacter(c as u32));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_CHARS.contains(c)) {
        return Err(ChannelNameError::ForbiddenCharacter(c));
    }
    if name.contains("..") {
        return Err(ChannelNameError::DoubleDot);
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) || name.to_ascii_lowercase().contains("_vti_") {
        return Err(ChannelNameError::Reserved(name.to_owned()));
    }
    if name.starts_with(['_', '.']) {
        return Err(ChannelNameError::BadStart);
    }
    if name.ends_with('.') {
        return Err(ChannelNameError::BadEnd);
    }
    Ok(())
}

/// Turns any text (an alert summary, a team name) into a name [`validate_channel_name`]
/// accepts: forbidden and control characters become `-`, runs of dots shrink to one, the
/// forbidden start and end are trimmed and the result is cut to 50 characters. Returns `None`
/// when nothing usable is left.
pub fn sanitize_channel_name(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if is_control(c) || FORBIDDEN_CHARS.contains(&c) { '-' } else { c };
        if c == '.' && out.ends_with('.') {
            continue;
        }
        out.push(c);
    }
    let mut name: String = out.trim_start_matches(['_', '.', ' ']).chars().take(MAX_CHANNEL_NAME_CHARS).collect();
    name = name.replace("_vti_", "-vti-");
    while name.ends_with(['.', ' ']) {
        name.pop();
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
        name.push('-');
    }
    (validate_channel_name(&name).is_ok()).then_some(name)
}

fn is_control(c: char) -> bool {
    matches!(c as u32, 0x00..=0x1F | 0x80..=0x9F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["Incident 1234", "ilert - Database down", "Ops (EU)", "Straße-ÄÖÜ", &"x".repeat(50)] {
            assert_eq!(validate_channel_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_what_teams_refuses() {
        use ChannelNameError::*;
        let cases: &[(&str, ChannelNameError)] = &[
            ("", Empty),
            ("   ", Empty),
            (&"é".repeat(51), TooLong(51)),
            ("Alert #12", ForbiddenCharacter('#')),
            ("a:b", ForbiddenCharacter(':')),
            ("it's", ForbiddenCharacter('\'')),
            ("a..b", DoubleDot),
            ("tab\there", ControlCharacter(9)),
            ("c1\u{85}", ControlCharacter(0x85)),
            ("con", Reserved("con".into())),
            ("COM7", Reserved("COM7".into())),
            ("Desktop.ini", Reserved("Desktop.ini".into())),
            ("my_vti_folder", Reserved("my_vti_folder".into())),
            ("_ops", BadStart),
            (".ops", BadStart),
            ("ops.", BadEnd),
        ];
        for (name, expected) in cases {
            assert_eq!(validate_channel_name(name).as_ref(), Err(expected), "{name:?}");
        }
    }

    #[test]
    fn sanitized_names_are_valid() {
        assert_eq!(sanitize_channel_name("Alert #12: DB down").as_deref(), Some("Alert -12- DB down"));
        assert_eq!(sanitize_channel_name("..hidden..name..").as_deref(), Some("hidden.name"));
        assert_eq!(sanitize_channel_name("CON").as_deref(), Some("CON-"));
        assert_eq!(sanitize_channel_name("___"), None);
        let long = sanitize_channel_name(&"ab".repeat(40)).unwrap();
        assert_eq!(long.chars().count(), 50);
        for text in ["a/b\\c", "x_vti_y", "trailing. ", "\u{1}ctl", "ok"] {
            let name = sanitize_channel_name(text).unwrap();
            assert_eq!(validate_channel_name(&name), Ok(()), "{text:?} -> {name:?}");
        }
    }
}
