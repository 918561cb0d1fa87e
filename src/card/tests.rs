//! Card parsing against the published test-card table, and properties of the checks.

use proptest::prelude::*;
use time::macros::date;

use super::*;

/// The processor's embedded copy of shared/testdata/test-cards.json (a processor test checks
/// that it matches byte for byte).
const TEST_CARDS: &str = include_str!("../processor/test-cards.json");

fn test_cards() -> serde_json::Value {
    serde_json::from_str(TEST_CARDS).expect("the test-card table is valid JSON")
}

fn code_of(err: Error) -> (&'static str, Option<&'static str>) {
    (err.code(), err.field())
}

#[test]
fn every_table_card_parses_to_its_listed_brand() {
    let table = test_cards();
    let cards = table["cards"].as_array().expect("cards is a list");
    assert!(!cards.is_empty());
    for card in cards {
        let number = card["number"].as_str().expect("number is a string");
        let brand = Brand::parse(card["brand"].as_str().expect("brand is a string"))
            .expect("the listed brand is known");
        let parsed = CardNumber::parse(number).unwrap_or_else(|e| {
            panic!(
                "table card ending {} refused: {}",
                &number[number.len() - 4..],
                e
            )
        });
        assert_eq!(parsed.brand(), brand);
        assert_eq!(parsed.expose(), number);
    }
}

#[test]
fn table_invalid_entries_behave_as_listed() {
    let table = test_cards();
    let invalid = table["invalid"].as_array().expect("invalid is a list");
    assert!(!invalid.is_empty());
    for entry in invalid {
        let number = entry["number"].as_str().expect("number is a string");
        let reason = entry["reason"].as_str().expect("reason is a string");
        let result = CardNumber::parse(number);
        if reason.contains("must be accepted") {
            let card = result.expect("listed as accepted");
            assert_eq!(card.expose(), number.replace(' ', ""));
        } else {
            let err = result.err().unwrap_or_else(|| panic!("accepted: {reason}"));
            assert_eq!(
                code_of(err),
                ("invalid_card_number", Some("number")),
                "{reason}"
            );
        }
    }
}

#[test]
fn luhn_failure_and_short_numbers_are_invalid_card_numbers() {
    for raw in [
        "4242424242424241",
        "42424242",
        "",
        "   ",
        "4242-4242-4242-424x",
    ] {
        let err = CardNumber::parse(raw).expect_err("refused");
        assert_eq!(
            code_of(err),
            ("invalid_card_number", Some("number")),
            "{raw:?}"
        );
    }
}

#[test]
fn dashes_and_spaces_are_removed() {
    let card = CardNumber::parse(" 4242-4242 4242-4242 ").expect("accepted");
    assert_eq!(card.expose(), "4242424242424242");
    assert_eq!(card.brand(), Brand::Visa);
}

#[test]
fn inputs_over_64_characters_are_refused_even_if_valid_once_stripped() {
    let raw = format!("4242424242424242{}", " ".repeat(49));
    assert_eq!(raw.len(), 65);
    let err = CardNumber::parse(&raw).expect_err("refused");
    assert_eq!(code_of(err), ("invalid_card_number", Some("number")));
    assert!(CardNumber::parse(&raw[..64]).is_ok());
}

#[test]
fn unknown_bin_is_unsupported_brand() {
    // 1234 5678 9012 3452 passes Luhn but belongs to no accepted network.
    let err = CardNumber::parse("1234567890123452").expect_err("refused");
    assert_eq!(code_of(err), ("unsupported_brand", Some("number")));
}

#[test]
fn wrong_length_for_brand_is_invalid_card_number() {
    // A 16-digit number in the Amex range (Amex is 15 digits), Luhn-valid.
    let err = CardNumber::parse(&with_check_digit("371449635398431")).expect_err("refused");
    assert_eq!(code_of(err), ("invalid_card_number", Some("number")));
}

#[test]
fn errors_never_contain_digits_of_the_number() {
    for raw in [
        "4242424242424241",
        "42424242",
        "1234567890123452",
        "3714496353984312",
        "4242x4242",
    ] {
        let err = CardNumber::parse(raw).expect_err("refused");
        let shown = format!("{} {:?}", err.public_message(), err);
        let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
        for window in digits.windows(4) {
            let run: String = window.iter().collect();
            assert!(!shown.contains(&run), "{shown}");
        }
    }
}

#[test]
fn debug_and_display_show_only_the_last_four() {
    let card = CardNumber::parse("4242424242424242").expect("accepted");
    assert_eq!(format!("{card:?}"), "•••• 4242");
    assert_eq!(format!("{card}"), "•••• 4242");
    assert_eq!(format!("{card:#?}"), "•••• 4242");
    let amex = CardNumber::parse("378282246310005").expect("accepted");
    assert_eq!(format!("{amex:?}"), "•••• 0005");
    assert_eq!(amex.bin(), "378282");
    assert_eq!(amex.last4(), "0005");
}

#[test]
fn brand_names_round_trip() {
    for brand in ALL_BRANDS {
        assert_eq!(Brand::parse(brand.as_str()), Some(brand));
        assert_eq!(brand.cvc_len(), if brand == Brand::Amex { 4 } else { 3 });
    }
    assert_eq!(Brand::parse("Visa"), None);
    assert_eq!(Brand::Amex.display_name(), "American Express");
    assert_eq!(Brand::Diners.display_name(), "Diners Club");
}

#[test]
fn narrow_ranges_win_over_the_wide_ones_around_them() {
    let cases = [
        ("622125", Some(Brand::UnionPay)),
        ("622126", Some(Brand::Discover)),
        ("622925", Some(Brand::Discover)),
        ("622926", Some(Brand::UnionPay)),
        ("810000", Some(Brand::UnionPay)),
        ("222100", Some(Brand::Mastercard)),
        ("272099", Some(Brand::Mastercard)),
        ("272100", None),
        ("352800", Some(Brand::Jcb)),
        ("309500", Some(Brand::Diners)),
    ];
    for (prefix, brand) in cases {
        let number = with_check_digit(&format!("{prefix}000000000"));
        match (CardNumber::parse(&number), brand) {
            (Ok(card), Some(brand)) => assert_eq!(card.brand(), brand, "{prefix}"),
            (Err(err), None) => assert_eq!(err.code(), "unsupported_brand"),
            (result, _) => panic!("{prefix}: {:?}", result.map(|c| c.brand())),
        }
    }
}

const TODAY: time::Date = date!(2026 - 03 - 15);

#[test]
fn expiry_accepts_the_listed_formats() {
    for raw in ["04/27", "04 / 27", "04/2027", "0427", "4/27", " 04/27 "] {
        let expiry = Expiry::parse(raw, TODAY).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!((expiry.month(), expiry.year()), (4, 2027), "{raw:?}");
        assert_eq!(expiry.to_string(), "04/27");
    }
}

#[test]
fn expiry_current_month_is_valid_and_last_month_expired() {
    let current = Expiry::parse("03/26", TODAY).expect("valid through March");
    assert!(!current.is_expired(date!(2026 - 03 - 31)));
    assert!(current.is_expired(date!(2026 - 04 - 01)));
    let err = Expiry::parse("02/26", TODAY).expect_err("expired");
    assert_eq!(code_of(err), ("card_expired", Some("expiry")));
    let err = Expiry::parse("12/2025", TODAY).expect_err("expired");
    assert_eq!(code_of(err), ("card_expired", Some("expiry")));
}

#[test]
fn expiry_at_most_twenty_years_ahead() {
    assert!(Expiry::parse("03/2046", TODAY).is_ok());
    assert!(Expiry::parse("03/46", TODAY).is_ok());
    let err = Expiry::parse("04/2046", TODAY).expect_err("too far");
    assert_eq!(code_of(err), ("invalid_expiry", Some("expiry")));
}

#[test]
fn expiry_two_digit_year_far_in_the_past_is_expired_not_next_century() {
    let err = Expiry::parse("01/99", TODAY).expect_err("1999");
    assert_eq!(err.code(), "card_expired");
}

#[test]
fn expiry_malformed_or_bad_month_is_invalid() {
    for raw in [
        "",
        "13/27",
        "00/27",
        "4/7",
        "04/027",
        "04-27",
        "042027",
        "427",
        "ab/cd",
        "04/",
        "/27",
        "04/27/27",
        "+4/27",
        "٠٤/٢٧",
        "04/2027x",
    ] {
        let err = Expiry::parse(raw, TODAY)
            .err()
            .unwrap_or_else(|| panic!("{raw:?}"));
        assert_eq!(code_of(err), ("invalid_expiry", Some("expiry")), "{raw:?}");
    }
}

#[test]
fn expiry_new_checks_shape_only() {
    assert_eq!(
        Expiry::new(1, 2020).map(|e| e.to_string()).as_deref(),
        Some("01/20")
    );
    assert!(Expiry::new(0, 2030).is_none());
    assert!(Expiry::new(13, 2030).is_none());
    assert!(Expiry::new(12, 30).is_none());
}

#[test]
fn cvc_length_follows_the_brand() {
    for brand in ALL_BRANDS {
        let good = "1234"[..brand.cvc_len()].to_string();
        let cvc = Cvc::parse(&format!(" {good} "), brand).expect("right length");
        assert_eq!(cvc.expose(), good);
        for bad in ["12", "12345", "", "12a", "1 2 3"] {
            let err = Cvc::parse(bad, brand).expect_err("refused");
            assert_eq!(code_of(err), ("invalid_cvc", Some("cvc")));
        }
    }
    assert!(Cvc::parse("1234", Brand::Visa).is_err());
    assert!(Cvc::parse("123", Brand::Amex).is_err());
    let err = Cvc::parse("12", Brand::Amex).expect_err("refused");
    assert!(err.public_message().contains("4-digit"));
}

#[test]
fn cvc_debug_is_masked() {
    let cvc = Cvc::parse("737", Brand::Visa).expect("valid");
    assert_eq!(format!("{cvc:?}"), "Cvc(***)");
}

#[test]
fn holder_name_is_trimmed_and_collapsed() {
    let name = HolderName::parse("  Hanako \t  Yamada\n ").expect("valid");
    assert_eq!(name.as_str(), "Hanako Yamada");
    assert_eq!(
        HolderName::parse("山田 花子").expect("valid").as_str(),
        "山田 花子"
    );
}

#[test]
fn holder_name_rules() {
    assert!(HolderName::parse(&"あ".repeat(100)).is_ok());
    for raw in [
        String::new(),
        " \t ".into(),
        "a".repeat(101),
        "Hanako\u{0}Yamada".into(),
        "Hanako\u{1b}[31m".into(),
        "x".repeat(2000),
    ] {
        let err = HolderName::parse(&raw).expect_err("refused");
        assert_eq!(code_of(err), ("invalid_holder_name", Some("holder")));
    }
}

#[test]
fn holder_names_with_bidi_or_invisible_characters_are_refused_naming_the_character() {
    for (raw, shown) in [
        ("Hanako\u{202E}adamaY", "U+202E"),
        ("Hana\u{200B}ko", "U+200B"),
        ("\u{2066}Hanako\u{2069}", "U+2066"),
        ("\u{FEFF}Hanako", "U+FEFF"),
        ("Hanako\u{7F}", "U+007F"),
    ] {
        let err = HolderName::parse(raw).expect_err("refused");
        assert!(err.public_message().contains(shown), "{raw:?}: {err}");
        assert_eq!(code_of(err), ("invalid_holder_name", Some("holder")));
    }
}

const ALL_BRANDS: [Brand; 7] = [
    Brand::Visa,
    Brand::Mastercard,
    Brand::Amex,
    Brand::Jcb,
    Brand::Diners,
    Brand::Discover,
    Brand::UnionPay,
];

/// BIN ranges as (brand, lowest prefix, highest prefix, lengths). Prefixes in a range have
/// the same number of digits; UnionPay's 62 is split around Discover's 622126–622925.
const RANGES: &[(Brand, u64, u64, &[usize])] = &[
    (Brand::Visa, 4, 4, &[13, 16, 19]),
    (Brand::Mastercard, 51, 55, &[16]),
    (Brand::Mastercard, 2221, 2720, &[16]),
    (Brand::Amex, 34, 34, &[15]),
    (Brand::Amex, 37, 37, &[15]),
    (Brand::Jcb, 3528, 3589, &[16, 17, 18, 19]),
    (Brand::Diners, 300, 305, &[14, 15, 16, 17, 18, 19]),
    (Brand::Diners, 3095, 3095, &[14, 15, 16, 17, 18, 19]),
    (Brand::Diners, 36, 36, &[14, 15, 16, 17, 18, 19]),
    (Brand::Diners, 38, 39, &[14, 15, 16, 17, 18, 19]),
    (Brand::Discover, 6011, 6011, &[16, 17, 18, 19]),
    (Brand::Discover, 644, 649, &[16, 17, 18, 19]),
    (Brand::Discover, 65, 65, &[16, 17, 18, 19]),
    (Brand::Discover, 622126, 622925, &[16, 17, 18, 19]),
    (Brand::UnionPay, 620000, 622125, &[16, 17, 18, 19]),
    (Brand::UnionPay, 622926, 629999, &[16, 17, 18, 19]),
    (Brand::UnionPay, 81, 81, &[16, 17, 18, 19]),
];

/// Appends the Luhn check digit to `payload`. Worked out here with the doubled-digit table,
/// not with the code under test, so that the generated numbers check it.
fn with_check_digit(payload: &str) -> String {
    const DOUBLED: [u32; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    let mut sum = 0;
    for (i, digit) in payload
        .bytes()
        .rev()
        .map(|b| usize::from(b - b'0'))
        .enumerate()
    {
        // The check digit will stand rightmost, so the payload's last digit is doubled.
        sum += if i % 2 == 0 {
            DOUBLED[digit]
        } else {
            digit as u32
        };
    }
    format!("{payload}{}", (10 - sum % 10) % 10)
}

/// A valid number in `range`, chosen by `pick`, `len_pick` and `body`.
fn number_in(range: usize, pick: u64, len_pick: usize, body: &[u8]) -> (Brand, String) {
    let (brand, lo, hi, lengths) = RANGES[range];
    let len = lengths[len_pick % lengths.len()];
    let mut payload = (lo + pick % (hi - lo + 1)).to_string();
    for d in body {
        if payload.len() == len - 1 {
            break;
        }
        payload.push(char::from(b'0' + d));
    }
    (brand, with_check_digit(&payload))
}

fn single_digit_changes(number: &str) -> Vec<String> {
    let mut out = Vec::new();
    for pos in 0..number.len() {
        let original = number.as_bytes()[pos];
        for d in b'0'..=b'9' {
            if d != original {
                let mut changed = number.as_bytes().to_vec();
                changed[pos] = d;
                out.push(String::from_utf8(changed).expect("ASCII"));
            }
        }
    }
    out
}

#[test]
fn every_length_a_brand_does_not_use_is_refused() {
    for (brand, lo, _, lengths) in RANGES {
        for len in (13..=19).filter(|len| !lengths.contains(len)) {
            let mut payload = lo.to_string();
            while payload.len() < len - 1 {
                payload.push('7');
            }
            let err = CardNumber::parse(&with_check_digit(&payload)).expect_err("wrong length");
            assert_eq!(
                code_of(err),
                ("invalid_card_number", Some("number")),
                "{brand:?} with {len} digits"
            );
        }
    }
}

#[test]
fn single_digit_changes_of_table_cards_are_refused() {
    let table = test_cards();
    for card in table["cards"].as_array().expect("cards is a list") {
        let number = card["number"].as_str().expect("number is a string");
        for changed in single_digit_changes(number) {
            assert!(CardNumber::parse(&changed).is_err());
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(raw in "\\PC{0,40}") {
        let _ = CardNumber::parse(&raw);
        let _ = Expiry::parse(&raw, TODAY);
        let _ = Cvc::parse(&raw, Brand::Amex);
        let _ = HolderName::parse(&raw);
    }

    #[test]
    fn digit_strings_never_panic(raw in "[0-9 /-]{0,40}") {
        if let Ok(card) = CardNumber::parse(&raw) {
            prop_assert_eq!(card.last4().len(), 4);
            prop_assert_eq!(card.bin().len(), 6);
        }
        let _ = Expiry::parse(&raw, TODAY);
        let _ = Cvc::parse(&raw, Brand::Visa);
    }

    #[test]
    fn valid_numbers_of_every_brand_are_accepted(
        picks in prop::collection::vec((any::<u64>(), any::<usize>()), RANGES.len()),
        body in prop::collection::vec(0u8..10, 19),
    ) {
        for (range, (pick, len_pick)) in picks.into_iter().enumerate() {
            let (brand, number) = number_in(range, pick, len_pick, &body);
            let card = CardNumber::parse(&number);
            prop_assert!(card.is_ok(), "range {} refused", range);
            let card = card.expect("checked");
            prop_assert_eq!(card.brand(), brand);
            prop_assert_eq!(card.expose(), number.as_str());
        }
    }

    #[test]
    fn every_single_digit_change_is_refused(
        range in 0..RANGES.len(),
        pick in any::<u64>(),
        len_pick in any::<usize>(),
        body in prop::collection::vec(0u8..10, 19),
    ) {
        let (_, number) = number_in(range, pick, len_pick, &body);
        prop_assert!(CardNumber::parse(&number).is_ok());
        for changed in single_digit_changes(&number) {
            prop_assert!(CardNumber::parse(&changed).is_err());
        }
    }
}

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
