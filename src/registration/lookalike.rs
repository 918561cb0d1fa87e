//! Whether a merchant's name imitates a verified merchant's: both names are brought to one
//! skeleton (Unicode NFKC, lower case, common look-alike letters and digits folded, spaces and
//! punctuation dropped) and compared for equality or an edit distance of one.

use unicode_normalization::UnicodeNormalization;

/// Skeletons shorter than this are compared for equality only: one edit in a very short name
/// gives another ordinary word.
const MIN_FUZZY_CHARS: usize = 4;

/// One character as the skeleton spells it: look-alikes (digits, and the Cyrillic and Greek
/// letters drawn like Latin ones) become the Latin letter they pass for.
fn fold(c: char) -> char {
    match c {
        '0' | 'о' | 'ο' | 'σ' => 'o',
        '1' | 'i' | 'l' | '|' | '!' | 'і' | 'ӏ' | 'ι' => 'l',
        '3' | 'е' | 'ё' | 'ε' => 'e',
        '4' | '@' | 'а' | 'α' => 'a',
        '5' | '$' | 'ѕ' => 's',
        '7' | 'т' | 'τ' => 't',
        '8' | 'в' | 'β' => 'b',
        '9' => 'g',
        'р' | 'ρ' => 'p',
        'с' | 'ϲ' => 'c',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        'к' | 'κ' => 'k',
        'н' | 'η' => 'n',
        'м' | 'μ' => 'm',
        'ν' => 'v',
        'ј' => 'j',
        'ԁ' => 'd',
        other => other,
    }
}

/// The name's skeleton, as a sequence of characters.
pub fn skeleton(name: &str) -> Vec<char> {
    let folded: String = name
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(fold)
        .filter(|c| c.is_alphanumeric())
        .collect();
    // Pairs drawn like one letter.
    folded
        .replace("rn", "m")
        .replace("vv", "w")
        .replace("cl", "d")
        .chars()
        .collect()
}

/// The Levenshtein distance between two skeletons, stopping early past `cap`.
fn distance(a: &[char], b: &[char], cap: usize) -> usize {
    if a.len().abs_diff(b.len()) > cap {
        return cap + 1;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// Whether `name` imitates `verified`.
pub fn imitates(name: &str, verified: &str) -> bool {
    let (a, b) = (skeleton(name), skeleton(verified));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    a.len().min(b.len()) >= MIN_FUZZY_CHARS && distance(&a, &b, 1) <= 1
}

/// The first of `verified` names that `name` imitates.
pub fn resembled<'a>(name: &str, verified: &'a [String]) -> Option<&'a str> {
    verified
        .iter()
        .find(|v| imitates(name, v))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_spellings_of_a_name_imitate_it() {
        for copy in [
            "Frame Shop",
            "frame shop",
            "FRAME-SHOP",
            "Frarne Shop",
            "Fr4me Sh0p",
            "Frame Shops",
            "Frame Shp",
            "Ｆｒａｍｅ Ｓｈｏｐ",
            "Frаme Shop", // a Cyrillic а
            "Frame.Shop!",
        ] {
            assert!(imitates(copy, "Frame Shop"), "{copy}");
        }
        assert!(imitates("PaypaI", "PayPal"));
    }

    #[test]
    fn plainly_different_names_do_not() {
        for other in ["Tea House", "Frame Works", "Shop", "Kissa Tanuki", ""] {
            assert!(!imitates(other, "Frame Shop"), "{other}");
        }
        // Short names only match exactly.
        assert!(!imitates("Tex", "Tea"));
        assert!(imitates("T3a", "Tea"));
        assert_eq!(
            resembled("Fram3 Shop", &["Tea House".into(), "Frame Shop".into()]),
            Some("Frame Shop")
        );
        assert_eq!(resembled("Kissa Tanuki", &["Frame Shop".into()]), None);
    }

    #[test]
    fn the_distance_counts_single_edits() {
        let s = |t: &str| t.chars().collect::<Vec<_>>();
        assert_eq!(distance(&s("kitten"), &s("sitten"), 3), 1);
        assert_eq!(distance(&s("kitten"), &s("sitting"), 3), 3);
        assert_eq!(distance(&s("abc"), &s("abc"), 1), 0);
        assert!(distance(&s("a"), &s("abcd"), 1) > 1);
    }
}
