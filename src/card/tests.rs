//! Card parsing against the published test-card table, and properties of the checks.

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

mod properties;
mod wording;
