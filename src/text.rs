//! Text that people are shown (names, order references, line items): the characters it may not
//! hold. Control characters and Unicode format characters (general category Cf: bidi overrides
//! and isolates, zero-width spaces and joiners, the BOM…) can make a page show other text than
//! it holds, so such text is refused where it enters the wallet, never silently stripped.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The first character of `text` that may not be shown: a control character (Cc), a format
/// character (Cf), or a line or paragraph separator (Zl, Zp).
pub fn hidden_character(text: &str) -> Option<char> {
    text.chars().find(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
    })
}

/// How an error names a refused character: `U+202E`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_zero_width_and_control_characters_are_found() {
        for c in [
            '\u{202E}',
            '\u{202A}',
            '\u{200B}',
            '\u{200D}',
            '\u{200E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{061C}',
            '\u{E0041}',
            '\0',
            '\n',
            '\t',
            '\u{7F}',
            '\u{85}',
            '\u{2028}',
            '\u{2029}',
        ] {
            let text = format!("Frames{c}Shop");
            assert_eq!(hidden_character(&text), Some(c), "{}", code_point(c));
        }
    }

    #[test]
    fn ordinary_text_of_any_script_is_kept() {
        for text in [
            "Frame Shop",
            "財布の店",
            "Café Zoë",
            "Ωμέγα",
            "שלום",
            "مرحبا",
            "🛒 Cart",
            "A-1001_x.y",
        ] {
            assert_eq!(hidden_character(text), None, "{text}");
        }
        assert_eq!(code_point('\u{202E}'), "U+202E");
        assert_eq!(code_point('\u{E0041}'), "U+E0041");
    }
}
