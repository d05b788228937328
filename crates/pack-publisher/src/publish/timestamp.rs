//! The online timestamp role: `timestamp.json` signed by a key the service holds, with an
//! expiry of a day or less, renewed automatically, so a client fed a frozen view notices
//! within that day rather than when the pack expires.
//!
//! The root decides: when its `timestamp` role lists a key the publishers do not hold
//! (`ferretwatch root create --online-key`), publishers sign `targets` and `snapshot`
//! offline, and the timestamp is made at deploy time and renewed by `ferretwatch serve` (or
//! `ferretwatch pack timestamp`) with the online key. The timestamp pins the snapshot by
//! version, length and sha256: it is signed after the snapshot is final, so nothing of the
//! two-person signing needs to converge on it.
//!
//! The online key can only say "this snapshot is current until T": the snapshot and the
//! targets still need the publishers' threshold. A stolen online key lets an attacker
//! freeze clients for at most one timestamp lifetime at a time, or fast-forward the
//! timestamp version (recovered by rotating that key in the root).
//!
//! The timestamp also carries the service's degradation level (`custom.degradation`, 1
//! full service to 4 emergency bulletins only): the operator sets it with the online key
//! ([`set_degradation`], `ferretwatch pack timestamp --degradation N`), and every timestamp
//! made after (renewals, deploys, intel) carries it forward until it is set again. Only a
//! level the current timestamp carries under a valid signature is carried forward: one
//! written to the origin by anybody else is not re-signed.

use ferretwatch_pack_client::layout;
use ferretwatch_pack_client::trust::metadata::{
    Envelope, MetaFile, Pins, Root, ServiceInfo, FULL_SERVICE, MAX_DEGRADATION, SPEC_VERSION,
};
use ferretwatch_pack_client::trust::verify::{
    check_rotation, signed_role, trusted_root, RoleTrust, MAX_PINS_BYTES, MAX_ROOT_BYTES, MAX_ROTATIONS,
    MAX_TARGETS_BYTES,
};
use ferretwatch_types::Timestamp;
use std::collections::BTreeMap;

use super::PublishError;
use crate::keys::PrivateKey;
use crate::origin::Origin;

/// The default lifetime of an online timestamp: one day.
pub const DEFAULT_TTL_SECS: u64 = 24 * 3600;

/// The online timestamp key and the lifetime of what it signs.
#[derive(Debug)]
pub struct OnlineKey {
    /// The key the root's `timestamp` role lists.
    pub key: PrivateKey,
    /// Seconds each timestamp stays valid (at most a day is the point).
    pub ttl_secs: u64,
}

impl OnlineKey {
    /// Refuses a key the root does not list for `timestamp` (and for `snapshot`, when the
    /// root signs that online too).
    pub fn check(&self, root: &Root) -> Result<(), PublishError> {
        let roles: &[&str] = if has_online_snapshot(root) { &["snapshot", "timestamp"] } else { &["timestamp"] };
        Ok(root.check_signer(&self.key.public().key_id(), roles)?)
    }
}

/// Whether `root` has an online timestamp: its `timestamp` role is signed by keys other
/// than the `targets` role's (the publishers').
pub fn has_online_timestamp(root: &Root) -> bool {
    root.roles.get("timestamp").map(|r| &r.keyids) != root.roles.get("targets").map(|r| &r.keyids)
}

/// Whether `root` has an online snapshot too (needed for a delegated role, whose new
/// versions must reach the snapshot without the publishers).
pub fn has_online_snapshot(root: &Root) -> bool {
    root.roles.get("snapshot").map(|r| &r.keyids) != root.roles.get("targets").map(|r| &r.keyids)
}

/// A snapshot signed with the online key: `targets.json` and each delegated role's
/// metadata pinned by version, length and sha256; version `version`, expiring `expires`.
pub fn make_snapshot(
    targets: &[u8],
    delegated: &[(String, Vec<u8>)],
    version: u64,
    expires: Timestamp,
    online: &OnlineKey,
) -> Result<Vec<u8>, PublishError> {
    let pinned = |name: &str, bytes: &[u8]| -> Result<(String, MetaFile), PublishError> {
        let version = version_of(bytes).ok_or_else(|| PublishError::Invalid(format!("{name} has no version")))?;
        Ok((name.to_owned(), MetaFile::pinning(version, bytes)))
    };
    let mut meta = BTreeMap::from([pinned(layout::TARGETS, targets)?]);
    for (role, bytes) in delegated {
        let (name, entry) = pinned(&format!("{role}.json"), bytes)?;
        meta.insert(name, entry);
    }
    let pins =
        Pins { kind: "snapshot".into(), spec_version: SPEC_VERSION.into(), version, expires, meta, custom: None };
    let mut envelope = Envelope::new(&pins);
    online.key.sign_envelope(&mut envelope)?;
    Ok(envelope.to_bytes())
}

/// The expiry of a metadata file, read without trusting it.
pub fn expiry_of(bytes: &[u8]) -> Option<Timestamp> {
    let envelope = Envelope::parse(bytes).ok()?;
    Timestamp::parse(envelope.signed.get("expires")?.as_str()?).ok()
}

/// The names of the roles `targets` (its bytes) delegates to, read without trusting it.
pub fn delegated_roles(targets: &[u8]) -> Vec<String> {
    let Ok(envelope) = Envelope::parse(targets) else { return Vec::new() };
    let Some(roles) = envelope.signed.pointer("/delegations/roles").and_then(|r| r.as_array()) else {
        return Vec::new();
    };
    roles.iter().filter_map(|r| r.get("name")?.as_str().map(str::to_owned)).collect()
}

/// A timestamp pinning `snapshot` (its bytes), version `version`, expiring `ttl` from
/// `now`, carrying degradation level `degradation`, signed with the online key. Level 1
/// (full service) writes no `custom` field, so the timestamp is the same as one made
/// without levels; so does a level outside 1 to [`MAX_DEGRADATION`], which clients would
/// read as full service anyway ([`set_degradation`] refuses one).
pub fn make(
    snapshot: &[u8],
    snapshot_version: u64,
    version: u64,
    online: &OnlineKey,
    now: Timestamp,
    degradation: u8,
) -> Vec<u8> {
    let custom =
        (FULL_SERVICE < degradation && degradation <= MAX_DEGRADATION).then(|| ServiceInfo { degradation }.to_value());
    let pins = Pins {
        kind: "timestamp".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: now.whole_second().plus_secs(online.ttl_secs),
        meta: BTreeMap::from([(layout::SNAPSHOT.to_owned(), MetaFile::pinning(snapshot_version, snapshot))]),
        custom,
    };
    let mut envelope = Envelope::new(&pins);
    online.key.sign_envelope(&mut envelope).expect("an ed25519 key signs");
    envelope.to_bytes()
}

/// The degradation level a timestamp file carries (`custom.degradation`), read without
/// trusting it: 1 (full service) when it carries none, one out of range, or is unreadable.
pub fn degradation_of(bytes: &[u8]) -> u8 {
    Envelope::parse(bytes)
        .ok()
        .and_then(|envelope| envelope.signed.pointer("/custom/degradation").and_then(|level| level.as_u64()))
        .filter(|level| (u64::from(FULL_SERVICE)..=u64::from(MAX_DEGRADATION)).contains(level))
        .map_or(FULL_SERVICE, |level| level as u8)
}

/// The degradation level a new timestamp carries forward from `current` (the origin's
/// timestamp, its bytes): its level when the `timestamp` role of `root` signed it (expired
/// or not: renewal replaces expired ones), otherwise 1 (full service). A level written to
/// the origin without the online key is not re-signed.
pub fn carried_degradation(current: Option<&[u8]>, root: &Root) -> u8 {
    let Some(bytes) = current else { return FULL_SERVICE };
    let Ok(trust) = RoleTrust::of_root(root, "timestamp") else { return FULL_SERVICE };
    signed_role::<Pins>(layout::TIMESTAMP, "timestamp", bytes, &trust).map_or(FULL_SERVICE, |pins| pins.degradation())
}

/// The degradation level `origin` serves now: that of its `timestamp.json` when the root in
/// force (`root`, then the origin's rotations) signed it, otherwise 1 (full service).
pub fn current_degradation(origin: &Origin, root: &[u8]) -> Result<u8, PublishError> {
    let root = current_root(origin, root)?;
    Ok(carried_degradation(origin.get(layout::TIMESTAMP, MAX_PINS_BYTES)?.as_deref(), &root))
}

/// The origin's timestamp as the root in force signed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedLevel {
    /// The degradation level it carries.
    pub level: u8,
    /// Its version.
    pub version: u64,
    /// Its expiry.
    pub expires: Timestamp,
}

/// The degradation level, version and expiry of `origin`'s `timestamp.json` when the root
/// in force (`root`, then the origin's rotations) signed it; `None` when the origin has no
/// timestamp or its signatures do not verify. Expiry and version are the caller's to
/// judge (a replayed or expired timestamp verifies too).
pub fn signed_level(origin: &Origin, root: &[u8]) -> Result<Option<SignedLevel>, PublishError> {
    let root = current_root(origin, root)?;
    let Some(bytes) = origin.get(layout::TIMESTAMP, MAX_PINS_BYTES)? else { return Ok(None) };
    let Ok(trust) = RoleTrust::of_root(&root, "timestamp") else { return Ok(None) };
    Ok(signed_role::<Pins>(layout::TIMESTAMP, "timestamp", &bytes, &trust).ok().map(|pins| SignedLevel {
        level: pins.degradation(),
        version: pins.version,
        expires: pins.expires,
    }))
}

/// What clients do at degradation `level`, in a few words (for operators).
pub fn degradation_summary(level: u8) -> &'static str {
    match level {
        2 => "core detection only, reduced rule updates",
        3 => "cached rules only, no real-time updates",
        4 => "minimal detection, emergency bulletins only",
        _ => "full service",
    }
}

/// The version of a timestamp file, read without trusting it (only to keep versions
/// increasing).
pub fn version_of(bytes: &[u8]) -> Option<u64> {
    Envelope::parse(bytes).ok()?.signed.get("version")?.as_u64()
}

/// The origin's current metadata of each role `targets` (its bytes) delegates to, except
/// `except` (a role about to be replaced): what a new snapshot keeps pinning.
pub fn delegated_metadata(
    origin: &Origin,
    targets: &[u8],
    except: Option<&str>,
) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let mut delegated = Vec::new();
    for role in delegated_roles(targets).into_iter().filter(|role| Some(role.as_str()) != except) {
        if let Some(bytes) = origin.get(&format!("{role}.json"), MAX_TARGETS_BYTES)? {
            delegated.push((role, bytes));
        }
    }
    Ok(delegated)
}

/// The version a new piece of metadata takes: one above the current one (`current`, its
/// bytes, read without trusting them, only to keep versions increasing; 0 when there is
/// none), and at least `floor`.
pub fn next_after(current: Option<&[u8]>, floor: u64) -> u64 {
    current.and_then(version_of).unwrap_or(0).saturating_add(1).max(floor)
}

/// The root in force at `origin`: the configured root, then the rotations the origin
/// serves, each checked against the one before.
pub fn current_root(origin: &Origin, root: &[u8]) -> Result<Root, PublishError> {
    let mut root = trusted_root(root)?;
    for _ in 0..MAX_ROTATIONS {
        match origin.get(&layout::root_rotation(root.version + 1), MAX_ROOT_BYTES)? {
            Some(bytes) => root = check_rotation(&root, &bytes)?,
            None => break,
        }
    }
    Ok(root)
}

/// What a renewal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// A new timestamp was written.
    Renewed {
        /// Its version.
        version: u64,
        /// Its expiry.
        expires: Timestamp,
    },
    /// The current one is good for longer than the renewal window.
    Fresh {
        /// Its expiry.
        expires: Timestamp,
    },
}

/// Renews the origin's `timestamp.json` with the online key when it expires within
/// `within` seconds (or is missing or unreadable): the snapshot it pins must verify under
/// the root in force, the new version is one above the current one, and the degradation
/// level is the current one's ([`carried_degradation`]).
pub fn renew(
    origin: &Origin,
    root: &[u8],
    online: &OnlineKey,
    now: Timestamp,
    within: u64,
) -> Result<Renewal, PublishError> {
    let root = current_root(origin, root)?;
    online.check(&root)?;
    let current = origin.get(layout::TIMESTAMP, MAX_PINS_BYTES)?;
    if let Some(expires) = current.as_deref().and_then(expiry_of) {
        if expires > now.plus_secs(within) {
            return Ok(Renewal::Fresh { expires });
        }
    }
    let degradation = carried_degradation(current.as_deref(), &root);
    resign(origin, &root, online, now, current.as_deref(), degradation)
}

/// Re-signs the origin's `timestamp.json` with the online key now, at degradation `level`
/// (1 full service to [`MAX_DEGRADATION`]; anything else is refused), whatever is left of
/// the current one: the snapshot it pins must verify under the root in force, and the new
/// version is one above the current one. Every timestamp made after carries the level
/// forward until it is set again. Always [`Renewal::Renewed`].
pub fn set_degradation(
    origin: &Origin,
    root: &[u8],
    online: &OnlineKey,
    now: Timestamp,
    level: u8,
) -> Result<Renewal, PublishError> {
    if !(FULL_SERVICE..=MAX_DEGRADATION).contains(&level) {
        return Err(PublishError::Invalid(format!(
            "degradation level {level}: use {FULL_SERVICE} (full service) to {MAX_DEGRADATION} (emergency bulletins \
             only)"
        )));
    }
    let root = current_root(origin, root)?;
    online.check(&root)?;
    let current = origin.get(layout::TIMESTAMP, MAX_PINS_BYTES)?;
    resign(origin, &root, online, now, current.as_deref(), level)
}

/// Writes a new timestamp at `origin` pinning its snapshot (which must verify under `root`
/// and not have expired), one version above `current`, at degradation `level`.
fn resign(
    origin: &Origin,
    root: &Root,
    online: &OnlineKey,
    now: Timestamp,
    current: Option<&[u8]>,
    level: u8,
) -> Result<Renewal, PublishError> {
    let snapshot = origin
        .get(layout::SNAPSHOT, MAX_PINS_BYTES)?
        .ok_or_else(|| PublishError::NoCurrentPack(origin.url().to_owned()))?;
    let pins: Pins = signed_role(layout::SNAPSHOT, "snapshot", &snapshot, &RoleTrust::of_root(root, "snapshot")?)?;
    if pins.expires <= now {
        return Err(PublishError::Invalid(format!(
            "the origin's snapshot expired at {}: publish a new pack; a timestamp cannot make it current",
            pins.expires
        )));
    }
    let version = next_after(current, pins.version);
    let bytes = make(&snapshot, pins.version, version, online, now, level);
    origin.put(layout::TIMESTAMP, &bytes)?;
    Ok(Renewal::Renewed { version, expires: now.whole_second().plus_secs(online.ttl_secs) })
}
