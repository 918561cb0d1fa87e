use std::collections::BTreeSet;
use std::path::Path;

use super::*;

#[test]
fn accept_language_picks_the_preferred_language_we_speak() {
    assert_eq!(from_accept_language("ja"), Some(Locale::Ja));
    assert_eq!(
        from_accept_language("ja-JP,ja;q=0.9,en;q=0.8"),
        Some(Locale::Ja)
    );
    assert_eq!(
        from_accept_language("en-US,en;q=0.9,ja;q=0.8"),
        Some(Locale::En)
    );
    assert_eq!(
        from_accept_language("fr-FR, ja;q=0.5, en;q=0.4"),
        Some(Locale::Ja)
    );
    assert_eq!(from_accept_language("en;q=0.2, ja;q=0.7"), Some(Locale::Ja));
    assert_eq!(from_accept_language("ja;q=0, en;q=0.1"), Some(Locale::En));
    assert_eq!(from_accept_language("fr, de"), None);
    assert_eq!(from_accept_language("*"), Some(Locale::En));
    assert_eq!(from_accept_language("ja;q=2, en;q=0.5"), Some(Locale::En));
    assert_eq!(from_accept_language(""), None);
}

#[test]
fn the_cookie_wins_over_the_browser_and_unknown_choices_fall_back() {
    let p = Prefs::from_request(Some("en"), None, Some("ja"));
    assert_eq!(p.locale, Locale::En);
    assert_eq!(p.zone.iana_name(), Some("Asia/Tokyo"));
    let p = Prefs::from_request(Some("xx"), Some("Europe/London"), Some("ja-JP"));
    assert_eq!(p.locale, Locale::Ja);
    assert_eq!(p.zone.iana_name(), Some("Europe/London"));
    let p = Prefs::from_request(None, Some("Mars/Olympus"), None);
    assert_eq!(p.locale, Locale::En);
    assert_eq!(p.zone.iana_name(), Some("Asia/Tokyo"));
}

#[test]
fn times_are_shown_in_the_shoppers_zone_and_language() {
    // 2026-11-29 21:40 UTC is 06:40 the next morning in Tokyo.
    let unix = 1_795_988_400;
    let ja = Tr::new(Prefs::from_request(Some("ja"), None, None));
    assert_eq!(ja.time(unix), "2026年11月30日 06:40 JST");
    assert_eq!(ja.date(unix), "2026年11月30日");
    let en = Tr::new(Prefs::from_request(Some("en"), Some("Europe/London"), None));
    assert_eq!(en.time(unix), "2026-11-29 21:40 GMT");
    let outside = Tr::new(Prefs::default());
    assert_eq!(outside.time(unix), "2026-11-29 21:40 UTC");
}

#[test]
fn amounts_and_counts_are_formatted_for_the_language() {
    use crate::money::{Currency, Money};
    let ja = Tr::new(Prefs::from_request(Some("ja"), None, None));
    let en = Tr::new(Prefs::from_request(Some("en"), None, None));
    let yen = Money::new(Currency::Jpy, 12_800);
    let dollars = Money::new(Currency::Usd, 1_250);
    assert_eq!(ja.money(yen), "¥12,800");
    assert_eq!(en.money(yen), "¥12,800");
    assert_eq!(ja.money(dollars), "US$12.50");
    assert_eq!(en.money(dollars), "$12.50");
    assert_eq!(en.number(1_234_567), "1,234,567");
    assert_eq!(en.number(-64), "-64");
}

#[test]
fn messages_are_found_with_their_arguments_in_both_languages() {
    let ja = Tr::new(Prefs::from_request(Some("ja"), None, None));
    let en = Tr::new(Prefs::from_request(Some("en"), None, None));
    assert_eq!(en.t("nav-home"), "Home");
    assert_eq!(ja.t("nav-home"), "ホーム");
    assert_eq!(en.args("page-title", [("title", "Cards")]), "Cards · Saifu");
    assert_eq!(en.t("no-such-message"), "no-such-message");
}

/// Message ids defined in each `.ftl` file of one language, by file name.
fn ids(lang: &str) -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web/i18n")
        .join(lang);
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("the language's folder") {
        let path = entry.expect("a file").path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("a Fluent file");
        for line in text.lines() {
            let starts_id = line.starts_with(|c: char| c.is_ascii_lowercase());
            if let Some((id, _)) = line.split_once('=').filter(|_| starts_id) {
                out.insert((file.clone(), id.trim().to_string()));
            }
        }
    }
    out
}

/// An id defined in two files would stop the wallet at its first page (Fluent refuses to
/// override a message).
#[test]
fn no_message_is_defined_twice() {
    for lang in ["en", "ja"] {
        let mut seen = std::collections::BTreeMap::new();
        for (file, id) in ids(lang) {
            if let Some(other) = seen.insert(id.clone(), file.clone()) {
                panic!("{lang}: {id} is defined in {other} and in {file}");
            }
        }
    }
}

#[test]
fn every_language_has_the_same_messages_in_the_same_files() {
    let en = ids("en");
    let ja = ids("ja");
    let only_en: Vec<_> = en.difference(&ja).collect();
    let only_ja: Vec<_> = ja.difference(&en).collect();
    assert!(only_en.is_empty(), "missing in Japanese: {only_en:?}");
    assert!(only_ja.is_empty(), "missing in English: {only_ja:?}");
    assert!(en.len() > 10, "the catalogue was read");
}

/// Every `t("id")`, `args("id"` and `count("id"` in templates and code names a message that
/// exists: a typo would show the id to shoppers.
#[test]
fn every_message_used_exists() {
    let known: BTreeSet<String> = ids("en").into_iter().map(|(_, id)| id).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut used = 0;
    for dir in ["web/templates", "src"] {
        for path in files(&root.join(dir)) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for call in [".t(\"", ".args(\"", ".count(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let id: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    if id.is_empty() || !rest[id.len()..].starts_with('"') {
                        continue;
                    }
                    used += 1;
                    if !known.contains(&id) && !path.to_string_lossy().contains("src/i18n/") {
                        missing.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "unknown message ids: {missing:#?}");
    assert!(used > 10, "the scan found the templates' messages");
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "html" || e == "rs") {
            out.push(path);
        }
    }
    out
}
