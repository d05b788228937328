//! Invitation codes: 256 random bits behind a recognisable prefix, shown once; the store
//! keeps their SHA-256 only.

use ferretwatch_types::Sha256;
use secrecy::SecretString;

/// Every invitation code starts with this.
pub const INVITATION_PREFIX: &str = "fwin_";

/// A new invitation code and its digest.
pub fn new_invitation_code() -> Result<(SecretString, Sha256), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)?;
    let code = format!("{INVITATION_PREFIX}{}", hex::encode(bytes));
    let hash = Sha256::of(code.as_bytes());
    Ok((SecretString::from(code), hash))
}

/// The digest of a presented code, or `None` when it cannot be one (so garbage never
/// reaches the database).
pub fn invitation_hash(presented: &str) -> Option<Sha256> {
    let presented = presented.trim();
    let body = presented.strip_prefix(INVITATION_PREFIX)?;
    (body.len() == 64 && body.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Sha256::of(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_new_code_is_recognised_and_garbage_is_not() {
        let (code, hash) = new_invitation_code().unwrap();
        assert_eq!(invitation_hash(code.expose_secret()), Some(hash));
        for bad in ["", "fwin_", "fwin_xyz", "fwat_00", &format!("fwin_{}", "A".repeat(64))] {
            assert_eq!(invitation_hash(bad), None, "{bad}");
        }
    }
}
