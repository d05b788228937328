//! Admin API tokens. The store generates the secret, returns it once, and keeps only its
//! SHA-256 (decision 0010 explains why a fast hash is right for 256-bit random tokens).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::ValidationError;
use ferretwatch_types::{Sha256, Timestamp};

/// The admin console's roles (`docs/formats/store.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenRole {
    /// Read-only: dashboards, health and audit logs.
    Viewer,
    /// Triage reports: mark verified, rejected or benign; propose rules.
    Reviewer,
    /// Approve and publish rules and bulletins.
    Publisher,
    /// Manage users, roles, policies, keys and rate limits.
    Admin,
    /// Read audit logs and export compliance data.
    Auditor,
}

impl TokenRole {
    /// Every role.
    pub const ALL: [Self; 5] = [Self::Viewer, Self::Reviewer, Self::Publisher, Self::Admin, Self::Auditor];

    /// The stored code (also the CLI's `--role` value).
    pub fn code(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Reviewer => "reviewer",
            Self::Publisher => "publisher",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }

    /// The role with this code.
    pub fn parse(code: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|r| r.code() == code)
            .ok_or_else(|| ValidationError::new("role", "must be viewer, reviewer, publisher, admin or auditor"))
    }
}

impl fmt::Display for TokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A token's server-assigned id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(pub i64);

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The stored form of a token: SHA-256 of its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub(crate) Sha256);

impl TokenHash {
    /// The hash of a presented secret (for example a bearer token). Does not check the
    /// format; [`TokenHash::of_presented`] does.
    pub fn of_secret(secret: &str) -> Self {
        Self(Sha256::of(secret.as_bytes()))
    }

    /// The hash of a presented bearer token, or `None` when it cannot be one of ours
    /// (wrong prefix or length), so garbage never reaches the database.
    pub fn of_presented(secret: &str) -> Option<Self> {
        let body = secret.strip_prefix(TOKEN_PREFIX)?;
        (body.len() == 64 && body.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self::of_secret(secret))
    }

    /// The digest.
    pub fn digest(&self) -> &Sha256 {
        &self.0
    }
}

/// Every token starts with this, so secret scanners and humans recognise one.
pub const TOKEN_PREFIX: &str = "fwat_";

/// Draws a new token from the operating system's CSPRNG: `fwat_` and 64 hex digits
/// (256 bits).
pub(crate) fn generate_secret() -> Result<SecretString, crate::StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| crate::StoreError::Internal(Box::new(e)))?;
    Ok(SecretString::from(format!("{TOKEN_PREFIX}{}", hex::encode(bytes))))
}

/// A token's display name: 1 to 64 characters of `[A-Za-z0-9_.@-]`. Unique among active
/// tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenName(String);

impl TokenName {
    /// Accepts 1 to 64 characters of `[A-Za-z0-9_.@-]`.
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'));
        if !ok {
            return Err(ValidationError::new("name", "must be 1 to 64 characters of A-Z a-z 0-9 _ . @ -"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Its name.
    pub name: TokenName,
    /// Its role.
    pub role: TokenRole,
    /// When.
    pub created_at: Timestamp,
}

/// A stored token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Id.
    pub id: TokenId,
    /// Name.
    pub name: String,
    /// Role.
    pub role: TokenRole,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last successful use, to the minute (see `Store::touch_token`).
    pub last_used_at: Option<Timestamp>,
    /// When revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

impl TokenRecord {
    /// Whether the token may still be used.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A newly created token: the record and the secret, which exists nowhere else and is
/// shown to the operator exactly once.
pub struct IssuedToken {
    /// The stored record.
    pub record: TokenRecord,
    /// The bearer token. Redacted in `Debug`.
    pub secret: SecretString,
}

impl IssuedToken {
    /// The bearer token's text, to print once.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_secret()
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken").field("record", &self.record).field("secret", &"[REDACTED]").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_prefixed_random_and_recognised() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(TokenHash::of_presented(a.expose_secret()), Some(TokenHash::of_secret(a.expose_secret())));
        assert_eq!(TokenHash::of_presented("Bearer nonsense"), None);
        assert_eq!(TokenHash::of_presented("fwat_1234"), None);
    }

    #[test]
    fn issued_token_debug_hides_the_secret() {
        let secret = generate_secret().unwrap();
        let text = secret.expose_secret().to_owned();
        let issued = IssuedToken {
            record: TokenRecord {
                id: TokenId(1),
                name: "ops".into(),
                role: TokenRole::Viewer,
                created_at: Timestamp::from_millis(0),
                last_used_at: None,
                revoked_at: None,
            },
            secret,
        };
        assert!(!format!("{issued:?}").contains(&text));
    }

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for role in TokenRole::ALL {
            assert_eq!(TokenRole::parse(role.code()).unwrap(), role);
        }
        assert!(TokenRole::parse("root").is_err());
        assert!(TokenName::parse("ops oncall").is_err());
    }
}
