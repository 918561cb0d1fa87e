//! The canonical form of a JSON body, for fingerprints: keys sorted, no insignificant
//! whitespace, strings in one escaping. Bodies whose meaning could blur are not made canonical
//! (the caller hashes their bytes): duplicate keys, and numbers that are not exact integers
//! (floats, exponents, integers past 64 bits), which a parse could round together.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value as the canonical form needs it.
enum Node {
    Null,
    Bool(bool),
    /// An exact integer, as its decimal digits.
    Integer(String),
    String(String),
    Array(Vec<Node>),
    Object(BTreeMap<String, Node>),
}

/// The canonical text of `body`, or `None` when it is not JSON (or not JSON whose meaning is
/// exact, see the module comment).
pub(super) fn canonical_json(body: &[u8]) -> Option<String> {
    let node: Node = serde_json::from_slice(body).ok()?;
    let mut out = String::with_capacity(body.len());
    write(&node, &mut out);
    Some(out)
}

fn write(node: &Node, out: &mut String) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Integer(digits) => out.push_str(digits),
        Node::String(s) => write_string(s, out),
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Node::Object(fields) => {
            out.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write(value, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's own escaping: one spelling for every string.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON with exact numbers and no repeated keys")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Integer(n.to_string()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Integer(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Err(E::custom("not an exact integer"))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut fields = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            if fields.insert(key, value).is_some() {
                return Err(de::Error::custom("a repeated key"));
            }
        }
        Ok(Node::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keys_are_sorted_and_whitespace_dropped_at_every_depth() {
        assert_eq!(
            canonical_json(b" { \"b\" : [ 1 , { \"z\": null, \"a\": false } ], \"a\": \"x\" } ")
                .as_deref(),
            Some(r#"{"a":"x","b":[1,{"a":false,"z":null}]}"#)
        );
        assert_eq!(
            canonical_json(br#""\u0041\/""#).as_deref(),
            Some(r#""A/""#),
            "one escaping"
        );
        assert_eq!(canonical_json(b"-12").as_deref(), Some("-12"));
    }

    #[test]
    fn bodies_whose_meaning_could_blur_are_left_as_bytes() {
        for body in [
            &b"not json"[..],
            b"",
            br#"{"a":1,"a":2}"#,
            b"1.5",
            b"1e3",
            b"123456789012345678901234567890",
            br#"{"a":1} trailing"#,
        ] {
            assert_eq!(
                canonical_json(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    proptest! {
        #[test]
        fn reordered_and_respaced_objects_have_one_canonical_form(
            fields in proptest::collection::btree_map("[a-z]{1,6}", any::<i64>(), 0..8),
            space in "[ \t\n]{0,3}",
        ) {
            let forward: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{space}{v}")).collect();
            let backward: Vec<String> = forward.iter().rev().cloned().collect();
            let a = format!("{{{}}}", forward.join(","));
            let b = format!("{space}{{{space}{}{space}}}", backward.join(&format!(",{space}")));
            prop_assert_eq!(canonical_json(a.as_bytes()), canonical_json(b.as_bytes()));
            prop_assert!(canonical_json(a.as_bytes()).is_some());
        }
    }
}
