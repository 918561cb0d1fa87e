//! Generated card numbers: every BIN range and length, and single-digit changes, against
//! the checks.

use proptest::prelude::*;

use super::*;

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
