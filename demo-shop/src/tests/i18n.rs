//! The shop's languages: the catalogues of both languages match, every message the pages use
//! exists, and the language is chosen from the cookie, then `Accept-Language`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::i18n::{from_accept_language, Locale, Prefs, Tr};
use crate::shop::{Yen, CATALOG};

#[test]
fn accept_language_picks_the_preferred_language_the_shop_speaks() {
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
    assert_eq!(from_accept_language("ja;q=0, en;q=0.1"), Some(Locale::En));
    assert_eq!(from_accept_language("fr, de"), None);
    assert_eq!(from_accept_language("*"), Some(Locale::En));
    assert_eq!(from_accept_language(""), None);
}

#[test]
fn the_cookie_wins_over_the_browser_and_times_default_to_tokyo() {
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
fn times_and_amounts_are_shown_for_the_language_in_tokyo() {
    // 2026-11-29 21:40 UTC is 06:40 the next morning in Tokyo.
    let at = jiff::Timestamp::from_second(1_795_988_400).unwrap();
    assert_eq!(Tr::of(Locale::Ja).time(at), "2026年11月30日 06:40 JST");
    assert_eq!(Tr::of(Locale::En).time(at), "30 Nov 2026, 06:40 JST");
    let london = Tr::new(Prefs::from_request(Some("en"), Some("Europe/London"), None));
    assert_eq!(london.time(at), "29 Nov 2026, 21:40 GMT");
    assert_eq!(Tr::of(Locale::Ja).yen(Yen(12_800)), "¥12,800");
    assert_eq!(Tr::of(Locale::En).points(1), "1 point");
    assert_eq!(Tr::of(Locale::En).points(64), "64 points");
    assert_eq!(Tr::of(Locale::Ja).points(64), "64ポイント");
}

#[test]
fn the_zone_chooser_offers_common_zones_with_the_shoppers_selected_and_first_when_uncommon() {
    let tokyo = Tr::of(Locale::En);
    let zones = tokyo.zones();
    assert_eq!(zones[0], ("Asia/Tokyo", true));
    assert_eq!(zones.iter().filter(|(_, current)| *current).count(), 1);
    assert!(zones.contains(&("Europe/London", false)));
    assert!(zones.contains(&("UTC", false)));
    let lisbon = Tr::new(Prefs::from_request(None, Some("Europe/Lisbon"), None));
    assert_eq!(lisbon.zone_name(), "Europe/Lisbon");
    let zones = lisbon.zones();
    assert_eq!(zones[0], ("Europe/Lisbon", true));
    assert!(zones.contains(&("Asia/Tokyo", false)));
    assert_eq!(zones.iter().filter(|(_, current)| *current).count(), 1);
}

#[test]
fn every_product_has_its_name_and_description_in_both_languages() {
    for locale in Locale::ALL {
        let tr = Tr::of(locale);
        for product in CATALOG {
            for id in [
                format!("product-{}-name", product.id),
                format!("product-{}-description", product.id),
            ] {
                assert_ne!(tr.t(&id), id, "{id} in {locale:?}");
            }
        }
    }
    assert_eq!(
        Tr::of(Locale::En).product_name(&CATALOG[0]),
        CATALOG[0].name
    );
    assert_eq!(
        Tr::of(Locale::Ja).product_name(&CATALOG[0]),
        "陶器のマグカップ"
    );
}

/// Message ids defined in each `.ftl` file of one language, by file name.
fn ids(lang: &str) -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("i18n")
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

#[test]
fn both_languages_have_the_same_messages_in_the_same_files() {
    let en = ids("en");
    let ja = ids("ja");
    let only_en: Vec<_> = en.difference(&ja).collect();
    let only_ja: Vec<_> = ja.difference(&en).collect();
    assert!(only_en.is_empty(), "missing in Japanese: {only_en:?}");
    assert!(only_ja.is_empty(), "missing in English: {only_ja:?}");
    assert!(en.len() > 50, "the catalogue was read");
}

/// Every `t("id")`, `args("id"`, `count("id"` and message id literal (`"shop-…"`) in the
/// templates and the code names a message that exists: a typo would show the id to shoppers.
#[test]
fn every_message_used_exists() {
    let known: BTreeSet<String> = ids("en").into_iter().map(|(_, id)| id).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut used = 0;
    for dir in ["templates", "src"] {
        for path in files(&root.join(dir)) {
            if path.ends_with("tests/i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for call in [".t(\"", ".args(\"", ".count(\"", "\"shop-"] {
                for (at, _) in text.match_indices(call) {
                    let from = if call == "\"shop-" {
                        at + 1
                    } else {
                        at + call.len()
                    };
                    let rest = &text[from..];
                    let id: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect();
                    // A prefix completed at run time (`"shop-decline-{code}"`) is no id.
                    if id.is_empty() || !rest[id.len()..].starts_with('"') || id.ends_with('-') {
                        continue;
                    }
                    used += 1;
                    if !known.contains(&id) {
                        missing.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "unknown message ids: {missing:#?}");
    assert!(used > 50, "the scan found the pages' messages ({used})");
}

fn files(dir: &Path) -> Vec<PathBuf> {
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
