//! The audit log: append-only, each entry chained to the one before by SHA-256 and signed
//! by the server (`docs/formats/audit.md`).
//!
//! An entry's hash covers its sequence number, time, actor, action, target, details and the
//! previous entry's hash, serialised as one JSON array behind a domain tag, so:
//! - an edited entry no longer matches its hash (and a recomputed hash no longer matches
//!   its signature, which needs the server's key);
//! - a deleted entry leaves a gap in the sequence and a broken link;
//! - reordered entries break the links and their sequence numbers.
//!
//! Removing the newest entries leaves a valid, shorter chain: that is caught by comparing
//! the head with an exported one (`ferretwatch audit verify --expect-head`).
//!
//! Signing and verification are traits, so the store needs no key and no signature crate.

use std::fmt;

use ferretwatch_types::{Sha256, Timestamp};

/// The domain tag in front of every hashed entry.
pub const AUDIT_DOMAIN: &str = "ferretwatch-audit-v1\n";

/// What the server records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who: an account's email, `cli:USER`, or `system`.
    pub actor: String,
    /// What, as a dotted code: `account.invited`, `settings.changed`, `session.elevated`.
    pub action: String,
    /// On what: an account, a setting key, a URL hash.
    pub target: String,
    /// Further facts, as a JSON object.
    pub details: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Its position, from 1, without gaps.
    pub seq: i64,
    /// When (milliseconds since the epoch).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Further facts: a JSON object, serialised with sorted keys.
    pub details: String,
    /// The previous entry's hash (zeros for the first), hex.
    pub prev_hash: String,
    /// This entry's hash, hex.
    pub hash: String,
    /// The signing key's id.
    pub key_id: String,
    /// The Ed25519 signature of the hash, hex.
    pub signature: String,
}

/// Signs entry hashes (the server's audit key).
pub trait AuditSigner: Send + Sync {
    /// The key's id, stored with each signature.
    fn key_id(&self) -> &str;
    /// The signature of `hash`.
    fn sign(&self, hash: &Sha256) -> Vec<u8>;
}

/// Checks signatures (the audit key's public half).
pub trait AuditVerifier {
    /// Whether `signature` by key `key_id` is valid for `hash`.
    fn verify(&self, key_id: &str, hash: &Sha256, signature: &[u8]) -> bool;
}

/// The hash of an entry at `seq` after `prev`.
pub fn audit_hash(seq: i64, at: i64, actor: &str, action: &str, target: &str, details: &str, prev: &Sha256) -> Sha256 {
    let body = serde_json::json!([seq, at, actor, action, target, details, prev.to_hex()]);
    let mut bytes = AUDIT_DOMAIN.as_bytes().to_vec();
    bytes.extend_from_slice(body.to_string().as_bytes());
    Sha256::of(&bytes)
}

/// The details as stored: compact JSON with sorted keys (`serde_json`'s map is ordered).
pub(crate) fn canonical_details(details: &serde_json::Value) -> String {
    details.to_string()
}

/// The row to insert for `entry` after the entry whose hash is `prev` at `prev_seq`.
pub(crate) fn seal(entry: &NewAuditEntry, prev_seq: i64, prev: &Sha256, signer: &dyn AuditSigner) -> AuditEntry {
    let seq = prev_seq + 1;
    let details = canonical_details(&entry.details);
    let hash = audit_hash(seq, entry.at.as_millis(), &entry.actor, &entry.action, &entry.target, &details, prev);
    AuditEntry {
        seq,
        at: entry.at.as_millis(),
        actor: entry.actor.clone(),
        action: entry.action.clone(),
        target: entry.target.clone(),
        details,
        prev_hash: prev.to_hex(),
        hash: hash.to_hex(),
        key_id: signer.key_id().to_owned(),
        signature: hex::encode(signer.sign(&hash)),
    }
}

/// What is wrong with one place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// Entries are missing before `seq` (deleted), or out of order.
    Gap {
        /// The sequence number expected here.
        expected: i64,
        /// The one found.
        found: i64,
    },
    /// The entry does not link to the one before it (deleted or reordered entries).
    BrokenLink {
        /// The entry.
        seq: i64,
    },
    /// The entry's content does not match its hash (edited).
    Edited {
        /// The entry.
        seq: i64,
    },
    /// The signature does not verify (forged, or signed by an unknown key).
    BadSignature {
        /// The entry.
        seq: i64,
    },
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gap { expected, found } => {
                write!(f, "entry {expected} is missing or out of order (found entry {found} in its place)")
            }
            Self::BrokenLink { seq } => write!(f, "entry {seq} does not link to the entry before it"),
            Self::Edited { seq } => write!(f, "entry {seq} was edited: its content does not match its hash"),
            Self::BadSignature { seq } => write!(f, "entry {seq} has an invalid signature"),
        }
    }
}

/// Walks a chain in storage order and collects what is wrong. Call [`ChainCheck::push`]
/// for every entry in `seq` order, then [`ChainCheck::finish`].
#[derive(Debug)]
pub struct ChainCheck {
    expected_seq: i64,
    prev: Option<Sha256>,
    problems: Vec<ChainProblem>,
    entries: u64,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self::new()
    }
}

/// The outcome of a chain walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries read.
    pub entries: u64,
    /// The last entry's sequence number and hash.
    pub head: Option<(i64, String)>,
    /// What is wrong, in order; empty when the chain holds.
    pub problems: Vec<ChainProblem>,
}

impl ChainCheck {
    /// Starts at entry 1.
    pub fn new() -> Self {
        Self { expected_seq: 1, prev: Some(Sha256::from_bytes([0; 32])), problems: Vec::new(), entries: 0 }
    }

    /// Starts after a known entry (to check a page or an export that does not begin at 1).
    pub fn after(seq: i64, hash: Sha256) -> Self {
        Self { expected_seq: seq + 1, prev: Some(hash), problems: Vec::new(), entries: 0 }
    }

    /// Checks the next entry.
    pub fn push(&mut self, entry: &AuditEntry, verifier: &dyn AuditVerifier) {
        self.entries += 1;
        if entry.seq != self.expected_seq {
            self.problems.push(ChainProblem::Gap { expected: self.expected_seq, found: entry.seq });
        }
        let prev_hash = Sha256::from_hex(&entry.prev_hash).ok();
        if prev_hash.is_none() || prev_hash != self.prev {
            self.problems.push(ChainProblem::BrokenLink { seq: entry.seq });
        }
        let recomputed = audit_hash(
            entry.seq,
            entry.at,
            &entry.actor,
            &entry.action,
            &entry.target,
            &entry.details,
            &prev_hash.unwrap_or(Sha256::from_bytes([0; 32])),
        );
        let stored = Sha256::from_hex(&entry.hash).ok();
        if stored != Some(recomputed) {
            self.problems.push(ChainProblem::Edited { seq: entry.seq });
        }
        let signature = hex::decode(&entry.signature).unwrap_or_default();
        let signed = stored.unwrap_or(recomputed);
        if !verifier.verify(&entry.key_id, &signed, &signature) {
            self.problems.push(ChainProblem::BadSignature { seq: entry.seq });
        }
        self.expected_seq = entry.seq + 1;
        self.prev = stored;
    }

    /// The report; `head` is the last entry pushed.
    pub fn finish(self, head: Option<&AuditEntry>) -> ChainReport {
        ChainReport { entries: self.entries, head: head.map(|e| (e.seq, e.hash.clone())), problems: self.problems }
    }
}

/// Filters for the audit page.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries with a sequence number below this (paging backwards).
    pub before_seq: Option<i64>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this.
    pub action_prefix: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Key;
    impl AuditSigner for Key {
        fn key_id(&self) -> &str {
            "k1"
        }
        fn sign(&self, hash: &Sha256) -> Vec<u8> {
            hash.as_bytes().iter().rev().copied().collect()
        }
    }
    impl AuditVerifier for Key {
        fn verify(&self, key_id: &str, hash: &Sha256, signature: &[u8]) -> bool {
            key_id == "k1" && self.sign(hash) == signature
        }
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        let mut prev = Sha256::from_bytes([0; 32]);
        for i in 0..n {
            let e = NewAuditEntry {
                at: Timestamp::from_millis(1000 + i),
                actor: "a@x".into(),
                action: "settings.changed".into(),
                target: format!("t{i}"),
                details: serde_json::json!({"b": 1, "a": i}),
            };
            let sealed = seal(&e, i, &prev, &Key);
            prev = Sha256::from_hex(&sealed.hash).unwrap();
            out.push(sealed);
        }
        out
    }

    fn check(entries: &[AuditEntry]) -> Vec<ChainProblem> {
        let mut c = ChainCheck::new();
        for e in entries {
            c.push(e, &Key);
        }
        c.finish(entries.last()).problems
    }

    #[test]
    fn an_intact_chain_has_no_problems_and_details_are_sorted() {
        let entries = chain(5);
        assert_eq!(check(&entries), vec![]);
        assert_eq!(entries[2].details, r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn an_edit_a_deletion_and_a_swap_are_each_found() {
        let mut edited = chain(5);
        edited[2].target = "other".into();
        assert_eq!(check(&edited), vec![ChainProblem::Edited { seq: 3 }]);

        let mut deleted = chain(5);
        deleted.remove(2);
        assert_eq!(
            check(&deleted),
            vec![ChainProblem::Gap { expected: 3, found: 4 }, ChainProblem::BrokenLink { seq: 4 }]
        );

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        let problems = check(&swapped);
        assert!(problems.contains(&ChainProblem::Gap { expected: 2, found: 3 }), "{problems:?}");
        assert!(problems.contains(&ChainProblem::BrokenLink { seq: 3 }), "{problems:?}");
    }

    #[test]
    fn a_rehashed_edit_still_fails_its_signature() {
        let mut entries = chain(3);
        let e = &mut entries[2];
        e.actor = "mallory".into();
        let prev = Sha256::from_hex(&e.prev_hash).unwrap();
        e.hash = audit_hash(e.seq, e.at, &e.actor, &e.action, &e.target, &e.details, &prev).to_hex();
        assert_eq!(check(&entries), vec![ChainProblem::BadSignature { seq: 3 }]);
    }
}
