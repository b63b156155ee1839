//! Text from files, shown on a terminal. A file may hold terminal escape
//! sequences (ESC starts one: colours, cursor moves, clearing the screen,
//! a window title, a hyperlink; concealed text could hide a line of a
//! plan under review) and Unicode's bidirectional controls (which make a
//! line read in another order than it is, "Trojan Source"). Every output
//! meant for people shows them escaped (`\u{1b}`), so a review shows what
//! the file holds. JSON escapes control characters by itself.

use std::borrow::Cow;

/// Whether a character is shown escaped: control characters but the line
/// end and the tab, and the bidirectional controls.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every hidden character written as `\u{..}`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped_and_text_is_kept() {
        let cases: &[(&str, &str)] = &[
            ("172.20.14.25 mail", "172.20.14.25 mail"),
            ("a\tb\nc", "a\tb\nc"),
            ("\x1b[2J\x1b[1;1Hpwned", "\\u{1b}[2J\\u{1b}[1;1Hpwned"),
            ("x\x1b[8mhidden\x1b[0m", "x\\u{1b}[8mhidden\\u{1b}[0m"),
            ("over\rwrite", "over\\u{d}write"),
            ("bell\x07", "bell\\u{7}"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("admin\u{202e}txt.exe", "admin\\u{202e}txt.exe"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("mail.corp.example — ünïcödé", "mail.corp.example — ünïcödé"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), *want, "{input:?}");
        }
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }
}
