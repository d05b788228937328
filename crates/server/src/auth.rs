//! Admin API authentication: a bearer token from `ferretwatch admin token create`, looked
//! up by its SHA-256 (the store keeps nothing else), as an extractor that also checks the
//! role's permission.
//!
//! Timing: the database compares SHA-256 digests of the presented token, so how long a
//! lookup takes can reveal at most something about a digest, never about a token; the
//! secret itself is never compared byte by byte.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use ferretwatch_store::{TokenHash, TokenRecord, TokenRole};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Something an admin API route requires.
pub trait Permission: Send + Sync + 'static {
    /// What the route does, for the 403 message.
    const ACTION: &'static str;
    /// Whether `role` may.
    fn allows(role: TokenRole) -> bool;
}

/// Reading health and dashboards: every role but `auditor` (auditors read audit logs and
/// exports only; `docs/formats/store.md` lists the roles).
#[derive(Debug)]
pub struct ReadHealth;

impl Permission for ReadHealth {
    const ACTION: &'static str = "read health";
    fn allows(role: TokenRole) -> bool {
        matches!(role, TokenRole::Viewer | TokenRole::Reviewer | TokenRole::Publisher | TokenRole::Admin)
    }
}

/// An authenticated admin whose role has permission `P`.
#[derive(Debug)]
pub struct Admin<P> {
    /// The token's record (never its secret).
    pub token: TokenRecord,
    _permission: PhantomData<P>,
}

impl<S, P> FromRequestParts<S> for Admin<P>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    P: Permission,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "send Authorization: Bearer <admin token>"))?;
        let invalid = || ApiError::new(ErrorCode::InvalidToken, "the token is unknown or revoked");
        let hash = TokenHash::of_presented(presented).ok_or_else(invalid)?;
        let record = state.store.find_token_by_hash(&hash).await.map_err(ApiError::store)?;
        let record = record.filter(TokenRecord::is_active).ok_or_else(invalid)?;
        if !P::allows(record.role) {
            return Err(ApiError::new(ErrorCode::Forbidden, format!("role {} may not {}", record.role, P::ACTION)));
        }
        if let Err(e) = state.store.touch_token(record.id, ferretwatch_types::Timestamp::now()).await {
            // Recording the last use is bookkeeping; it never refuses a valid token.
            tracing::warn!(error = %crate::error::chain(&e), "could not record token use");
        }
        Ok(Admin { token: record, _permission: PhantomData })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_but_auditor_reads_health() {
        for role in TokenRole::ALL {
            assert_eq!(ReadHealth::allows(role), role != TokenRole::Auditor, "{role}");
        }
    }
}
