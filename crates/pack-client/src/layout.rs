//! The names of everything a pack and an origin hold (`docs/formats/origin.md`), and the
//! one rule an object name must follow wherever it is read: from a pack directory, over
//! HTTP, from an object store, or by the service's origin routes.
//!
//! ```text
//! root.json, N.root.json        root of trust and its rotations
//! timestamp.json                the entry point: pins snapshot.json
//! snapshot.json                 pins targets.json
//! targets.json                  every pack file with its length and sha256
//! manifest.json                 what the pack holds (a signed target)
//! STEM.<16 hex>.EXT             content-addressed pack files
//! deltas/BASE.fwd               intel deltas leading to this pack
//! bulletins/index.json          active bulletins
//! bulletins/bulletin-ID.<16 hex>.json
//! history/VERSION/…             each deployed version's metadata (never served)
//! ```

use ferretwatch_types::Sha256;

/// Root of trust (clients ship it; a pack may carry `N.root.json` rotations).
pub const ROOT: &str = "root.json";
/// The signed list of pack files.
pub const TARGETS: &str = "targets.json";
/// Pins the `targets` version.
pub const SNAPSHOT: &str = "snapshot.json";
/// Pins the `snapshot` version; the entry point of verification.
pub const TIMESTAMP: &str = "timestamp.json";
/// The delegations a pack's `targets` carries, in a pack directory (not a target, not
/// uploaded: the signed `targets.json` holds them).
pub const DELEGATIONS: &str = "delegations.json";
/// The mirrors a pack's `targets` lists, in a pack directory (a JSON array of base URLs;
/// not a target, not uploaded: the signed `targets.json` holds them).
pub const MIRRORS: &str = "mirrors.json";
/// The canary a pack's `targets` carries (`custom.canary`), in a pack directory (not a
/// target, not uploaded: the signed `targets.json` holds it; `docs/canaries.md`).
pub const CANARY: &str = "canary.json";
/// The delegated role that signs fresh intel, and the directory of its targets.
pub const INTEL_ROLE: &str = "intel";
/// The intel role's manifest: the filters it ships (same format as `manifest.json`).
pub const INTEL_MANIFEST: &str = "intel/manifest.json";
/// The manifest's file name in a pack directory.
pub const MANIFEST: &str = "manifest.json";
/// The directory of a pack that holds deltas leading to it.
pub const DELTA_DIR: &str = "deltas";
/// The extension of delta files (`deltas/BASE_VERSION.fwd`).
pub const DELTA_EXTENSION: &str = "fwd";
/// Where bulletins live at the origin.
pub const BULLETIN_DIR: &str = "bulletins";
/// The list of active bulletins clients read with their manifest check.
pub const BULLETIN_INDEX: &str = "bulletins/index.json";
/// Where each deployed version's metadata and manifest are kept at the origin.
pub const HISTORY_DIR: &str = "history";
/// Names copied to `history/VERSION/` on every deploy, and read from there by a rollback.
pub const HISTORY_FILES: [&str; 4] = [MANIFEST, TARGETS, SNAPSHOT, TIMESTAMP];
/// The longest object name accepted.
pub const MAX_NAME_LEN: usize = 512;

/// The file name of root rotation `version`: `N.root.json`.
pub fn root_rotation(version: u64) -> String {
    format!("{version}.root.json")
}

/// The version of a root rotation's file name (`N.root.json`), when it is one.
pub fn root_rotation_version(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".root.json")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `name` (a top-level file name) is TUF metadata rather than a pack file.
pub fn is_metadata(name: &str) -> bool {
    matches!(name, ROOT | TARGETS | SNAPSHOT | TIMESTAMP | DELEGATIONS | MIRRORS | CANARY)
        || root_rotation_version(name).is_some()
}

/// The consistent-snapshot name of target `path` (TUF): `DIR/SHA256.NAME`, with the full
/// hex sha256 before the file name.
pub fn hash_prefixed(path: &str, sha256: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/{sha256}.{file}"),
        None => format!("{sha256}.{path}"),
    }
}

/// The consistent-snapshot name of role metadata: `VERSION.ROLE.json`.
pub fn versioned(role: &str, version: u64) -> String {
    format!("{version}.{role}.json")
}

/// The content-addressed name of a file: `STEM.<first 16 hex of its SHA-256>.EXT`.
pub fn content_name(stem: &str, sha256: &Sha256, extension: &str) -> String {
    format!("{stem}.{}.{extension}", &sha256.to_hex()[..16])
}

/// Whether the last segment of `name` has the form `STEM.<16 hex>.EXT`.
fn hash_tag(name: &str) -> Option<&str> {
    let file = name.rsplit('/').next().unwrap_or(name);
    let parts: Vec<&str> = file.split('.').collect();
    (parts.len() >= 3).then(|| parts[parts.len() - 2])
}

/// Whether `name` is the content-addressed name of `bytes` (its tag is the first 16 hex
/// digits of their SHA-256).
pub fn is_content_addressed(name: &str, bytes: &[u8]) -> bool {
    hash_tag(name) == Some(&Sha256::of(bytes).to_hex()[..16])
}

/// Whether an object never changes once written: a content-addressed name (its tag is 16
/// hex digits), a hash-prefixed target (`SHA256.NAME`), versioned metadata
/// (`VERSION.snapshot.json`, `VERSION.targets.json`, `VERSION.ROLE.json`), or a root
/// rotation at the top level.
pub fn is_immutable(name: &str) -> bool {
    let hashed = hash_tag(name).is_some_and(|tag| tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit()));
    let file = name.rsplit('/').next().unwrap_or(name);
    let prefixed =
        file.split_once('.').is_some_and(|(head, _)| head.len() == 64 && head.bytes().all(|b| b.is_ascii_hexdigit()));
    let versioned = !name.contains('/') && name != TIMESTAMP && {
        let (head, rest) = file.split_once('.').unwrap_or(("", ""));
        !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) && rest.ends_with(".json") && !rest.contains('/')
    };
    hashed || prefixed || versioned
}

/// Why an object name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, or longer than [`MAX_NAME_LEN`].
    #[error("the object name is empty or too long")]
    Length,
    /// An empty, `.` or `..` segment: the name would leave its directory.
    #[error("the object name has an empty, '.' or '..' segment")]
    Segment,
    /// A character outside `A-Z a-z 0-9 . _ -` (and `/` between segments).
    #[error("the object name has characters outside A-Z a-z 0-9 . _ -")]
    Character,
}

/// The one rule for object names: `/`-separated segments of `A-Z a-z 0-9 . _ -`, none
/// empty, `.` or `..`, at most [`MAX_NAME_LEN`] bytes in all. Every name the publisher
/// writes follows it; a name that does not is never looked up anywhere.
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(NameError::Length);
    }
    for segment in name.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(NameError::Segment);
        }
        if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            return Err(NameError::Character);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_addressed_and_root_names_are_immutable_and_fixed_names_are_not() {
        assert!(is_immutable("rules.0123456789abcdef.json"));
        assert!(is_immutable("bulletins/bulletin-7.0123456789abcdef.json"));
        assert!(is_immutable("2.root.json"));
        assert!(is_immutable("29399242000000.snapshot.json") && is_immutable("7.targets.json"));
        assert!(is_immutable(&hash_prefixed("filters/hosts.bin", &"ab".repeat(32))));
        assert_eq!(hash_prefixed("a/b.json", "ff"), "a/ff.b.json");
        assert_eq!(hash_prefixed("b.json", "ff"), "ff.b.json");
        for fixed in
            ["manifest.json", "timestamp.json", "targets.json", "bulletins/index.json", "root.json", "x/2.root.json"]
        {
            assert!(!is_immutable(fixed), "{fixed}");
        }
    }

    #[test]
    fn names_that_leave_their_directory_or_use_other_characters_are_refused() {
        for bad in ["", "../etc/passwd", "a/../../b", "./x", "a//b", "a\\b", "x%2e", "/abs", "a b", "é"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(check_name(&"a".repeat(MAX_NAME_LEN + 1)), Err(NameError::Length));
        for good in ["manifest.json", "bulletins/index.json", "deltas/2025.09.24.15.fwd", ".hidden"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn metadata_names_and_content_names() {
        assert!(is_metadata("timestamp.json") && is_metadata("12.root.json"));
        assert!(is_metadata("delegations.json") && is_metadata("mirrors.json") && is_metadata("canary.json"));
        assert!(!is_metadata(".root.json") && !is_metadata("x.root.json") && !is_metadata("manifest.json"));
        assert_eq!(root_rotation(3), "3.root.json");
        assert_eq!(root_rotation_version("3.root.json"), Some(3));
        let bytes = b"rules";
        let name = content_name("rules", &Sha256::of(bytes), "json");
        assert!(is_content_addressed(&name, bytes));
        assert!(!is_content_addressed(&name, b"other"));
        assert!(!is_content_addressed("rules.json", bytes));
    }
}
