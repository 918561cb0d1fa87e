//! The hash chain: the canonical form of an entry, its hash, and the walk that checks a chain
//! entry by entry. The rule, for anyone recomputing it (the README says the same):
//!
//! - `hash` = lowercase hex of SHA-256 over the UTF-8 bytes of `prev_hash` (64 lowercase hex
//!   digits; 64 zeros for entry 1) immediately followed by the canonical entry;
//! - the canonical entry is the JSON array `[sequence,at,actor,action,target,details]` with no
//!   whitespace: `sequence` and `at` as decimal integers, `actor`, `action` and `target` as
//!   JSON strings, `details` as a JSON object;
//! - canonical JSON: no whitespace, object keys sorted by their UTF-8 bytes, integers in
//!   decimal (details hold no fractions), strings escaped only where JSON requires (`"`, `\`
//!   and control characters, as `\n`, `\t`… or `\u00XX`), everything else as UTF-8.

use ring::digest::{digest, SHA256};
use serde_json::Value;

use crate::store::audit::{AuditLink, StoredAuditEntry, GENESIS_HASH};

/// `value` in canonical JSON.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The hash of an entry whose `details` are already canonical: what an append stores.
pub fn seal(link: &AuditLink<'_>) -> String {
    let entry = format!(
        "[{},{},{},{},{},{}]",
        link.sequence,
        link.at,
        Value::from(link.actor),
        Value::from(link.action),
        Value::from(link.target),
        link.details
    );
    let mut input = Vec::with_capacity(link.prev_hash.len() + entry.len());
    input.extend_from_slice(link.prev_hash.as_bytes());
    input.extend_from_slice(entry.as_bytes());
    hex(digest(&SHA256, &input).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash a stored entry should have, recomputed from its fields (its details read and
/// put in canonical form again). `None` if its details are not a JSON object.
pub fn recompute(entry: &StoredAuditEntry) -> Option<String> {
    let details: Value = serde_json::from_str(&entry.details).ok()?;
    if !details.is_object() {
        return None;
    }
    let details = canonical_json(&details);
    Some(seal(&AuditLink {
        details: &details,
        ..entry.link()
    }))
}

/// Why the chain is broken at an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// The entry at this sequence number is missing; the next one present is `found`.
    Missing { found: i64 },
    /// The entry's `prev_hash` is not the previous entry's hash.
    PrevHashMismatch,
    /// The entry's hash is not the hash of its fields.
    HashMismatch,
    /// The entry's details are not a JSON object.
    UnreadableDetails,
    /// The checkpoint names this entry with another hash: history up to it was rewritten.
    CheckpointMismatch,
    /// The checkpoint names an entry the log no longer has.
    CheckpointMissing,
}

impl BreakReason {
    /// A stable machine-readable name.
    pub fn code(&self) -> &'static str {
        match self {
            BreakReason::Missing { .. } => "sequence_gap",
            BreakReason::PrevHashMismatch => "prev_hash_mismatch",
            BreakReason::HashMismatch => "hash_mismatch",
            BreakReason::UnreadableDetails => "unreadable_details",
            BreakReason::CheckpointMismatch => "checkpoint_mismatch",
            BreakReason::CheckpointMissing => "checkpoint_missing",
        }
    }
}

/// The first broken entry of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    pub sequence: i64,
    pub reason: BreakReason,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.sequence;
        match &self.reason {
            BreakReason::Missing { found } => {
                write!(
                    f,
                    "entry {n} is missing (gap in sequence: the next entry is {found})"
                )
            }
            BreakReason::PrevHashMismatch => write!(
                f,
                "entry {n}: its previous hash is not the hash of entry {} (previous-hash mismatch)",
                n - 1
            ),
            BreakReason::HashMismatch => write!(
                f,
                "entry {n}: its hash does not match its contents (hash mismatch)"
            ),
            BreakReason::UnreadableDetails => {
                write!(f, "entry {n}: its details are not a JSON object")
            }
            BreakReason::CheckpointMismatch => write!(
                f,
                "entry {n} does not have the checkpoint's hash: history up to it was rewritten"
            ),
            BreakReason::CheckpointMissing => write!(
                f,
                "entry {n}, the checkpoint, is no longer in the log: history was cut"
            ),
        }
    }
}

/// A walk along the chain, fed one entry at a time in sequence order.
#[derive(Debug)]
pub struct ChainWalk {
    next: i64,
    prev_hash: String,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self {
            next: 1,
            prev_hash: GENESIS_HASH.to_string(),
        }
    }
}

impl ChainWalk {
    /// Checks the next entry: its place, its link to the previous one, its own hash.
    pub fn step(&mut self, entry: &StoredAuditEntry) -> Result<(), Break> {
        let broken = |sequence, reason| Err(Break { sequence, reason });
        if entry.sequence != self.next {
            return broken(
                self.next,
                BreakReason::Missing {
                    found: entry.sequence,
                },
            );
        }
        if entry.prev_hash != self.prev_hash {
            return broken(entry.sequence, BreakReason::PrevHashMismatch);
        }
        match recompute(entry) {
            None => return broken(entry.sequence, BreakReason::UnreadableDetails),
            Some(hash) if hash != entry.hash => {
                return broken(entry.sequence, BreakReason::HashMismatch)
            }
            Some(_) => {}
        }
        self.next += 1;
        self.prev_hash.clone_from(&entry.hash);
        Ok(())
    }

    /// How many entries were checked.
    pub fn checked(&self) -> i64 {
        self.next - 1
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn chain(n: i64) -> Vec<StoredAuditEntry> {
        let mut entries: Vec<StoredAuditEntry> = Vec::new();
        for sequence in 1..=n {
            let prev_hash = entries
                .last()
                .map_or(GENESIS_HASH.to_string(), |e| e.hash.clone());
            let mut entry = StoredAuditEntry {
                sequence,
                at: 1_700_000_000 + sequence,
                actor: "cli".into(),
                action: "merchant.status_changed".into(),
                target: format!("mch_{sequence}"),
                details: canonical_json(&json!({"status": "verified", "n": sequence})),
                prev_hash,
                hash: String::new(),
            };
            entry.hash = seal(&entry.link());
            entries.push(entry);
        }
        entries
    }

    fn walk(entries: &[StoredAuditEntry]) -> Result<i64, Break> {
        let mut walk = ChainWalk::default();
        for e in entries {
            walk.step(e)?;
        }
        Ok(walk.checked())
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let value = json!({"b": 1, "a": {"z": [true, null, "x\"\n"], "é": -2, "A": "日本"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"A":"日本","z":[true,null,"x\"\n"],"é":-2},"b":1}"#
        );
    }

    #[test]
    fn the_hash_is_sha256_over_the_previous_hash_and_the_canonical_entry() {
        let link = AuditLink {
            sequence: 1,
            at: 1_700_000_000,
            actor: "cli",
            action: "merchant.created",
            target: "mch_x",
            details: r#"{"name":"Frame Shop"}"#,
            prev_hash: GENESIS_HASH,
        };
        let input = format!(
            "{GENESIS_HASH}[1,1700000000,\"cli\",\"merchant.created\",\"mch_x\",{{\"name\":\"Frame Shop\"}}]"
        );
        assert_eq!(seal(&link), hex(digest(&SHA256, input.as_bytes()).as_ref()));
        assert_eq!(seal(&link).len(), 64);
    }

    #[test]
    fn the_readme_example_gives_the_hash_it_shows() {
        let link = AuditLink {
            sequence: 1,
            at: 1_700_000_000,
            actor: "cli",
            action: "merchant.status_changed",
            target: "mch_x",
            details: &canonical_json(&json!({"status": "verified"})),
            prev_hash: GENESIS_HASH,
        };
        assert_eq!(
            seal(&link),
            "283a4e21dee32e63e2cc72dbf4ff77207a35a39176239b71fd59cc58c02ef6fb"
        );
    }

    #[test]
    fn a_whole_chain_walks_to_its_end() {
        assert_eq!(walk(&chain(5)), Ok(5));
        assert_eq!(walk(&[]), Ok(0));
    }

    #[test]
    fn edited_details_break_the_chain_at_that_entry() {
        let mut entries = chain(5);
        entries[2].details = r#"{"n":3,"status":"suspended"}"#.into();
        assert_eq!(
            walk(&entries),
            Err(Break {
                sequence: 3,
                reason: BreakReason::HashMismatch
            })
        );
    }

    #[test]
    fn details_in_another_key_order_still_verify() {
        let mut entries = chain(3);
        entries[1].details = r#"{ "status": "verified", "n": 2 }"#.into();
        assert_eq!(walk(&entries), Ok(3));
    }

    #[test]
    fn a_resealed_entry_breaks_the_chain_at_the_next_one() {
        let mut entries = chain(5);
        entries[1].target = "mch_other".into();
        entries[1].hash = seal(&entries[1].link());
        assert_eq!(
            walk(&entries),
            Err(Break {
                sequence: 3,
                reason: BreakReason::PrevHashMismatch
            })
        );
    }

    #[test]
    fn a_removed_entry_is_named_as_the_gap() {
        let mut entries = chain(5);
        entries.remove(3);
        assert_eq!(
            walk(&entries),
            Err(Break {
                sequence: 4,
                reason: BreakReason::Missing { found: 5 }
            })
        );
    }

    #[test]
    fn the_first_entry_must_start_from_zeros() {
        let mut entries = chain(1);
        entries[0].prev_hash = "1".repeat(64);
        entries[0].hash = seal(&entries[0].link());
        assert_eq!(
            walk(&entries).unwrap_err().reason,
            BreakReason::PrevHashMismatch
        );
    }
}
