//! What the tests and the checkout benchmark read from the wallet's pages, as its script does:
//! the session's CSRF token and the cards a consent page offers. Plain string functions, so the
//! benchmark can include this file with `#[path]`.

/// The CSRF token of a page's `csrf-token` meta tag.
pub fn meta_csrf(html: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The card ids a consent page offers, in order.
pub fn offered_card_ids(html: &str) -> Vec<String> {
    html.match_indices("name=\"card_id\" id=\"card-")
        .filter_map(|(i, m)| html.get(i + m.len()..i + m.len() + 36))
        .map(str::to_string)
        .collect()
}
