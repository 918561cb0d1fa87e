//! A shipping address as the shopper types it, checked field by field: Japanese format (postal
//! code `NNN-NNNN`, one of the 47 prefectures in romaji, city, address lines, a phone number).
//! Only addresses in Japan for now. Each refused field is an `invalid_address` error naming it.

use crate::error::Error;
use crate::text::{code_point, hidden_character};

/// The 47 prefectures, in their usual (JIS) order, in romaji without macrons.
pub const PREFECTURES: [&str; 47] = [
    "Hokkaido",
    "Aomori",
    "Iwate",
    "Miyagi",
    "Akita",
    "Yamagata",
    "Fukushima",
    "Ibaraki",
    "Tochigi",
    "Gunma",
    "Saitama",
    "Chiba",
    "Tokyo",
    "Kanagawa",
    "Niigata",
    "Toyama",
    "Ishikawa",
    "Fukui",
    "Yamanashi",
    "Nagano",
    "Gifu",
    "Shizuoka",
    "Aichi",
    "Mie",
    "Shiga",
    "Kyoto",
    "Osaka",
    "Hyogo",
    "Nara",
    "Wakayama",
    "Tottori",
    "Shimane",
    "Okayama",
    "Hiroshima",
    "Yamaguchi",
    "Tokushima",
    "Kagawa",
    "Ehime",
    "Kochi",
    "Fukuoka",
    "Saga",
    "Nagasaki",
    "Kumamoto",
    "Oita",
    "Miyazaki",
    "Kagoshima",
    "Okinawa",
];

/// The only country addresses may be in, for now.
pub const JAPAN: &str = "JP";

/// What the shopper typed, unchecked.
#[derive(Clone, Debug, Default)]
pub struct AddressInput {
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub line1: String,
    pub line2: String,
    pub phone: String,
    pub country: String,
}

/// One of the shopper's saved addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedAddress {
    pub id: uuid::Uuid,
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub line1: String,
    pub line2: Option<String>,
    pub phone: String,
    pub country: String,
    pub is_default: bool,
}

/// A checked address, normalized: postal code `NNN-NNNN`, the prefecture's own spelling, the
/// phone as digits (with a leading `+` when international), no empty second line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub line1: String,
    pub line2: Option<String>,
    pub phone: String,
    pub country: String,
}

/// A refused field: the English message, and the catalogue's wording of it (`addresses-refusal-…`
/// in `web/i18n`, given the field's name as `field`) for the shopper's language.
fn refused(
    message: impl Into<String>,
    field: &'static str,
    id: &'static str,
    args: &[(&'static str, &str)],
) -> Error {
    let mut all = vec![("field", field)];
    all.extend_from_slice(args);
    Error::invalid("invalid_address", message.into())
        .on_field(field)
        .worded(id, &all)
}

impl Address {
    /// Checks every field; all the fields refused, each with its own error.
    pub fn parse(input: &AddressInput) -> Result<Self, Vec<Error>> {
        let mut errors = Vec::new();
        let mut keep = |checked: Result<String, Error>| {
            checked.map_err(|e| errors.push(e)).unwrap_or_default()
        };
        let name = keep(text("name", "the name", &input.name, 100, true));
        let postal_code = keep(postal_code(&input.postal_code));
        let prefecture = keep(prefecture(&input.prefecture));
        let city = keep(text("city", "the city", &input.city, 100, true));
        let line1 = keep(text("line1", "the address", &input.line1, 200, true));
        let line2 = keep(text("line2", "the second line", &input.line2, 200, false));
        let phone = keep(phone(&input.phone));
        let country = keep(country(&input.country));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            name,
            postal_code,
            prefecture,
            city,
            line1,
            line2: (!line2.is_empty()).then_some(line2),
            phone,
            country,
        })
    }
}

/// Printable text of at most `max` characters, trimmed; `required` refuses it empty.
fn text(
    field: &'static str,
    what: &str,
    raw: &str,
    max: usize,
    required: bool,
) -> Result<String, Error> {
    let value = raw.trim();
    if let Some(c) = hidden_character(value) {
        let c = code_point(c);
        return Err(refused(
            format!("Remove the invisible character ({c}) from {what}."),
            field,
            "addresses-refusal-hidden",
            &[("char", &c)],
        ));
    }
    if required && value.is_empty() {
        return Err(refused(
            format!("Enter {what}."),
            field,
            "addresses-refusal-empty",
            &[],
        ));
    }
    if value.chars().count() > max {
        return Err(refused(
            format!("Use at most {max} characters for {what}."),
            field,
            "addresses-refusal-too-long",
            &[("max", &max.to_string())],
        ));
    }
    Ok(value.to_string())
}

/// Full-width digits and dashes, as Japanese keyboards type them, read as ASCII.
fn half_width(c: char) -> char {
    match c {
        '０'..='９' => {
            char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
        }
        '－' | 'ー' | '‐' | '−' | '—' | '–' => '-',
        '＋' => '+',
        '（' => '(',
        '）' => ')',
        '\u{3000}' => ' ',
        other => other,
    }
}

/// Seven digits, written `NNN-NNNN` or `NNNNNNN`; kept as `NNN-NNNN`.
fn postal_code(raw: &str) -> Result<String, Error> {
    let typed: String = raw.trim().chars().map(half_width).collect();
    let typed = typed.trim_start_matches('〒').trim();
    if typed.is_empty() {
        return Err(refused(
            "Enter the postal code, like 100-0001.",
            "postal_code",
            "addresses-refusal-postal-code-empty",
            &[],
        ));
    }
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    let shape_ok = match typed.len() {
        7 => typed.chars().all(|c| c.is_ascii_digit()),
        8 => typed.as_bytes()[3] == b'-' && digits.len() == 7,
        _ => false,
    };
    if !shape_ok {
        return Err(refused(
            "Enter the postal code as 7 digits, like 100-0001.",
            "postal_code",
            "addresses-refusal-postal-code",
            &[],
        ));
    }
    Ok(format!("{}-{}", &digits[..3], &digits[3..]))
}

fn prefecture(raw: &str) -> Result<String, Error> {
    let typed = raw.trim();
    if typed.is_empty() {
        return Err(refused(
            "Choose a prefecture.",
            "prefecture",
            "addresses-refusal-prefecture-empty",
            &[],
        ));
    }
    PREFECTURES
        .iter()
        .find(|p| p.eq_ignore_ascii_case(typed))
        .map(|p| p.to_string())
        .ok_or_else(|| {
            refused(
                "This is not one of the 47 prefectures of Japan. Choose one from the list.",
                "prefecture",
                "addresses-refusal-prefecture-unknown",
                &[],
            )
        })
}

/// A Japanese number of 10 or 11 digits (`03-1234-5678`, `090-1234-5678`), or an
/// international one with a leading `+` (`+81 90 1234 5678`). Spaces, dashes and brackets are
/// dropped.
fn phone(raw: &str) -> Result<String, Error> {
    let typed: String = raw.trim().chars().map(half_width).collect();
    if typed.is_empty() {
        return Err(refused(
            "Enter a phone number the delivery can reach you at, like 090-1234-5678.",
            "phone",
            "addresses-refusal-phone-empty",
            &[],
        ));
    }
    let (plus, rest) = match typed.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, typed.as_str()),
    };
    let allowed = rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let length_ok = if plus {
        match digits.strip_prefix("81") {
            Some(national) => (9..=10).contains(&national.len()),
            None => (8..=15).contains(&digits.len()),
        }
    } else {
        (10..=11).contains(&digits.len())
    };
    if !allowed || !length_ok {
        return Err(refused(
            "Enter a phone number of 10 or 11 digits, like 090-1234-5678, or start with + for a \
             number outside Japan.",
            "phone",
            "addresses-refusal-phone",
            &[],
        ));
    }
    Ok(if plus { format!("+{digits}") } else { digits })
}

fn country(raw: &str) -> Result<String, Error> {
    match raw.trim() {
        "" => Ok(JAPAN.into()),
        c if c.eq_ignore_ascii_case(JAPAN) => Ok(JAPAN.into()),
        _ => Err(refused(
            "Saifu keeps addresses in Japan only, for now.",
            "country",
            "addresses-refusal-country",
            &[],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput {
        AddressInput {
            name: " Mika Sato ".into(),
            postal_code: "1000001".into(),
            prefecture: "tokyo".into(),
            city: "Chiyoda-ku".into(),
            line1: "1-1 Chiyoda".into(),
            line2: "  ".into(),
            phone: "090-1234-5678".into(),
            country: String::new(),
        }
    }

    fn fields(errors: Vec<Error>) -> Vec<&'static str> {
        assert!(errors.iter().all(|e| e.code() == "invalid_address"));
        errors.iter().map(|e| e.field().unwrap()).collect()
    }

    #[test]
    fn normalizes_a_good_address() {
        let a = Address::parse(&input()).unwrap();
        assert_eq!(a.name, "Mika Sato");
        assert_eq!(a.postal_code, "100-0001");
        assert_eq!(a.prefecture, "Tokyo");
        assert_eq!(a.line2, None);
        assert_eq!(a.phone, "09012345678");
        assert_eq!(a.country, "JP");
        assert_eq!(PREFECTURES.len(), 47);
        let wide = AddressInput {
            postal_code: "〒１００－０００１".into(),
            phone: "＋81 3-1234-5678".into(),
            ..input()
        };
        let a = Address::parse(&wide).unwrap();
        assert_eq!(
            (a.postal_code.as_str(), a.phone.as_str()),
            ("100-0001", "+81312345678")
        );
    }

    #[test]
    fn postal_codes_and_phones_have_their_shapes() {
        for bad in [
            "100-001", "10000011", "1000-001", "abc-defg", "", "100 0001",
        ] {
            let e = Address::parse(&AddressInput {
                postal_code: bad.into(),
                ..input()
            });
            assert_eq!(fields(e.unwrap_err()), ["postal_code"], "{bad}");
        }
        for good in [
            "03-1234-5678",
            "(03) 1234 5678",
            "09012345678",
            "+81 90 1234 5678",
            "+1 415 555 0100",
        ] {
            assert!(
                Address::parse(&AddressInput {
                    phone: good.into(),
                    ..input()
                })
                .is_ok(),
                "{good}"
            );
        }
        for bad in [
            "123456789",
            "090123456789",
            "+81 90 1234 56789",
            "090-1234-567x",
            "++81312345678",
            "",
        ] {
            let e = Address::parse(&AddressInput {
                phone: bad.into(),
                ..input()
            });
            assert_eq!(fields(e.unwrap_err()), ["phone"], "{bad}");
        }
    }

    #[test]
    fn every_refused_field_is_named() {
        let e = Address::parse(&AddressInput {
            name: String::new(),
            prefecture: "Atlantis".into(),
            city: "Chiyoda\u{202E}".into(),
            line1: "x".repeat(201),
            country: "US".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(
            fields(e),
            ["name", "prefecture", "city", "line1", "country"]
        );
        let e = Address::parse(&AddressInput {
            line1: " ".into(),
            ..input()
        })
        .unwrap_err();
        assert_eq!(e[0].public_message(), "Enter the address.");
    }

    /// The wallet's catalogue wording of `err` in `locale`.
    fn worded(err: &Error, locale: crate::i18n::Locale) -> String {
        let wording = err
            .wording()
            .expect("every address refusal names its wording");
        let tr = crate::i18n::Tr::new(crate::i18n::Prefs {
            locale,
            zone: jiff::tz::TimeZone::UTC,
        });
        let args: Vec<(&str, &str)> = wording.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tr.try_args(wording.id, args)
            .unwrap_or_else(|| panic!("{} is in the catalogue", wording.id))
    }

    /// Each refused field reads in English exactly as its message, and in Japanese names the
    /// same field and the same cause: one text per field and cause, not one per field.
    #[test]
    fn every_refusal_has_english_and_japanese_words_as_precise_as_each_other() {
        use crate::i18n::Locale;
        let cases: Vec<(AddressInput, &str)> = vec![
            (AddressInput { name: " ".into(), ..input() }, "お受け取りになる方の氏名を入力してください。"),
            (AddressInput { name: "x".repeat(101), ..input() }, "氏名は100文字以内で入力してください。"),
            (AddressInput { name: "Mika\u{200B}".into(), ..input() }, "氏名から見えない文字（U+200B）を削除してください。"),
            (AddressInput { city: String::new(), ..input() }, "市区町村を入力してください。"),
            (AddressInput { city: "x".repeat(101), ..input() }, "市区町村は100文字以内で入力してください。"),
            (AddressInput { line1: String::new(), ..input() }, "丁目・番地・号を入力してください。"),
            (AddressInput { line1: "x".repeat(201), ..input() }, "番地は200文字以内で入力してください。"),
            (AddressInput { line2: "x".repeat(201), ..input() }, "建物名・部屋番号は200文字以内で入力してください。"),
            (AddressInput { line2: "Room\u{202E}1".into(), ..input() }, "建物名・部屋番号から見えない文字（U+202E）を削除してください。"),
            (AddressInput { postal_code: String::new(), ..input() }, "郵便番号を入力してください（例：100-0001）。"),
            (AddressInput { postal_code: "100-001".into(), ..input() }, "郵便番号は7桁の数字で入力してください（例：100-0001）。"),
            (AddressInput { prefecture: String::new(), ..input() }, "都道府県を選択してください。"),
            (AddressInput { prefecture: "Atlantis".into(), ..input() }, "日本の47都道府県のいずれでもありません。一覧から選択してください。"),
            (AddressInput { phone: String::new(), ..input() }, "配送時に連絡のつく電話番号を入力してください（例：090-1234-5678）。"),
            (AddressInput { phone: "12345".into(), ..input() }, "電話番号は10桁または11桁で入力してください（例：090-1234-5678）。日本国外の番号は + から始めてください。"),
            (AddressInput { country: "US".into(), ..input() }, "現在、Saifu に登録できるのは日本国内の住所のみです。"),
        ];
        let mut english = std::collections::BTreeSet::new();
        for (typed, japanese) in &cases {
            let errors = Address::parse(typed).unwrap_err();
            assert_eq!(errors.len(), 1, "{japanese}");
            let err = &errors[0];
            assert_eq!(worded(err, Locale::En), err.public_message(), "{japanese}");
            assert_eq!(worded(err, Locale::Ja), *japanese);
            english.insert(err.public_message().into_owned());
        }
        assert_eq!(
            english.len(),
            cases.len(),
            "one English message per case: {english:#?}"
        );
    }
}
