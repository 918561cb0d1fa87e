//! Each card refusal's words, in English and Japanese, as precise as each other.

use super::*;

/// The wallet's catalogue wording of `err` in `locale`.
fn worded(err: &Error, locale: crate::i18n::Locale) -> String {
    let wording = err
        .wording()
        .unwrap_or_else(|| panic!("{:?} names its wording", err.public_message()));
    let tr = crate::i18n::Tr::new(crate::i18n::Prefs {
        locale,
        zone: jiff::tz::TimeZone::UTC,
    });
    let args: Vec<(&str, &str)> = wording.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    tr.try_args(wording.id, args)
        .unwrap_or_else(|| panic!("{} is in the catalogue ({locale:?})", wording.id))
}

/// Each refusal of the add-card form is worded in the catalogue: its English entry reads exactly
/// as the message, and its Japanese entry is its own (one per cause, not one per code).
#[test]
fn every_card_refusal_has_english_and_japanese_words_as_precise_as_each_other() {
    use crate::i18n::Locale;
    let refusals = [
        CardNumber::parse("").expect_err("empty"),
        CardNumber::parse("4242x4242").expect_err("a letter"),
        CardNumber::parse("42424242").expect_err("short"),
        CardNumber::parse("4242424242424241").expect_err("check digit"),
        CardNumber::parse("1234567890123452").expect_err("no network"),
        CardNumber::parse(&with_check_digit("371449635398431")).expect_err("Amex, 16 digits"),
        Expiry::parse("04-27", TODAY).expect_err("format"),
        Expiry::parse("13/27", TODAY).expect_err("month"),
        Expiry::parse("01/20", TODAY).expect_err("past"),
        Expiry::parse("04/2046", TODAY).expect_err("too far"),
        Cvc::parse("12", Brand::Visa).expect_err("3 digits"),
        Cvc::parse("123", Brand::Amex).expect_err("4 digits"),
        HolderName::parse("  ").expect_err("empty"),
        HolderName::parse(&"a".repeat(101)).expect_err("too long"),
        HolderName::parse("Aiko\u{202E}Tanaka").expect_err("hidden"),
    ];
    let mut japanese = std::collections::BTreeSet::new();
    for err in &refusals {
        assert_eq!(
            worded(err, Locale::En),
            err.public_message(),
            "{:?}",
            err.wording()
        );
        let ja = worded(err, Locale::Ja);
        assert_ne!(ja, err.public_message().as_ref());
        assert!(!ja.is_ascii(), "{ja}");
        japanese.insert(ja);
    }
    // "", "4242x4242" and "42424242" share one cause.
    assert_eq!(japanese.len(), refusals.len() - 2, "{japanese:#?}");
    assert!(
        japanese.contains("カード番号が正しくありません。ご確認のうえ、もう一度入力してください。")
    );
    assert!(japanese.contains(
        "American Express のカード番号としては桁数が正しくありません。ご確認のうえ、もう一度入力してください。"
    ));
    assert!(japanese.contains(
        "カード名義に見えない文字または制御文字（U+202E）が含まれています。その文字を除いて入力し直してください。"
    ));
}
