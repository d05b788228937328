//! The data lifecycle's part of the service (`docs/data-lifecycle.md`): the tombstone key,
//! and `POST /v1/deletion-request`, by which a client asks for its reports to be deleted.
//!
//! The key is 32 bytes kept as 64 hex digits in a file (`lifecycle.tombstone_key_file`,
//! default `DATA_DIR/tombstone-key`), generated with mode 0600 on first use, like the
//! install secret. A file that its group or others may read is refused: with the key,
//! anyone holding the tombstone list could test which URLs were deleted. The server and
//! the `ferretwatch db` commands load it the same way ([`load_or_create_key`]).
//!
//! A deletion request is authenticated by the install token the client sends its reports
//! with, and rate-limited with them (the same buckets). It tombstones the token's id and
//! deletes the reports received up to that instant; reports the same install sends later
//! are accepted (it asked for its past to be deleted, not to stop reporting).

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferretwatch_pack_client::dir::write_private;
use ferretwatch_store::{ForgetTarget, InstallTokenId, TombstoneKey};
use ferretwatch_types::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::state::AppState;

/// The key's file name under the data directory.
pub const KEY_FILE: &str = "tombstone-key";

/// The reason a deletion request's tombstone records.
pub const REQUEST_REASON: &str = "deletion request";

/// Why the tombstone key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is readable by its group or others.
    #[error("{path}: readable by others (mode {mode:o}); chmod 600 it")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold 64 hex digits.
    #[error("{path}: not a tombstone key (64 hex digits)")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// No randomness for a new key.
    #[error("no randomness for a new tombstone key: {0}")]
    Random(getrandom::Error),
}

/// The key at `path`; created (32 random bytes, mode 0600, with its directory) when absent
/// and `may_create`. Returns whether it was created.
pub fn load_or_create_key(path: &Path, may_create: bool) -> Result<(TombstoneKey, bool), KeyError> {
    let io = |source| KeyError::Io { path: path.to_owned(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::Permissions { path: path.to_owned(), mode });
                }
            }
            let key = TombstoneKey::from_hex(&text).map_err(|_| KeyError::Malformed { path: path.to_owned() })?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
            let mut bytes = [0u8; 32];
            getrandom::getrandom(&mut bytes).map_err(KeyError::Random)?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            write_private(path, hex::encode(bytes).as_bytes(), false).map_err(io)?;
            tracing::info!(path = %path.display(), "generated the tombstone key");
            Ok((TombstoneKey::from_bytes(bytes), true))
        }
        Err(e) => Err(io(e)),
    }
}

/// What a deletion request did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeletionDone {
    /// `deleted`: the install's reports received up to `covers_until` are gone.
    pub status: String,
    /// Reports deleted by this request.
    pub reports_deleted: u64,
    /// Reports received up to this instant (RFC 3339, UTC) are covered; later ones are
    /// accepted and kept.
    pub covers_until: String,
    /// Whether an earlier request from this install had been recorded already.
    pub repeated: bool,
}

#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum DeletionResponses {
    #[response(status = 200, description = "Deleted: the install's reports up to now are gone")]
    Deleted(DeletionDone),
    #[response(status = 401, description = "Install token missing, invalid or expired")]
    Unauthorized(crate::error::ErrorBody),
    #[response(status = 429, description = "Rate limited (see Retry-After)",
        headers(("retry-after" = u64, description = "Seconds to wait")))]
    RateLimited(crate::error::ErrorBody),
    #[response(status = 503, description = "Storage unavailable; retry",
        headers(("retry-after" = u64, description = "Seconds to wait")))]
    Unavailable(crate::error::ErrorBody),
}

/// `POST /v1/deletion-request`: no body; the install token says whose reports.
#[utoipa::path(post, path = "/v1/deletion-request", tag = "reports",
    params(("x-install-token" = String, Header, description = "The install token the reports were sent with")),
    responses(DeletionResponses))]
pub async fn deletion_request(State(state): State<AppState>, ClientIp(ip): ClientIp, req: Request) -> Response {
    use crate::degradation::{Admission, Gate};
    if state.degradation.admission(Gate::DeletionRequest) == Admission::Shed {
        return crate::degradation::shed_response(&state, req).await;
    }
    let outcome = forget_install(&state, ip, req.headers()).await;
    // No body is expected; one that came anyway is read and dropped when small, so that
    // the connection can carry the client's next request (router::close_unread).
    let drained = crate::extract::drain_small_body(req, &state.settings.limits).await;
    let mut response = match outcome {
        Ok(done) => {
            metrics::counter!("ferretwatch_deletion_requests_total", "result" => "deleted").increment(1);
            (StatusCode::OK, Json(done)).into_response()
        }
        Err(err) => {
            metrics::counter!("ferretwatch_deletion_requests_total", "result" => err.code()).increment(1);
            err.into_response()
        }
    };
    if drained {
        response.extensions_mut().insert(crate::extract::BodyDrained);
    }
    response
}

async fn forget_install(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
) -> Result<DeletionDone, ApiError> {
    let install = match crate::report_api::verify_install(state, headers) {
        Ok(install) => {
            state.limits.check_report(ip, &install.id).await.map_err(|l| crate::report_api::rate_limited(state, l))?;
            install
        }
        Err(refused) => {
            state.limits.check_ip(ip).await.map_err(|l| crate::report_api::rate_limited(state, l))?;
            return Err(refused);
        }
    };
    let id = InstallTokenId::parse(&install.id).map_err(|e| ApiError::invalid(&e))?;
    let done = state
        .store
        .forget(&state.tombstone_key, &ForgetTarget::Install(id), REQUEST_REASON, Timestamp::now())
        .await
        .map_err(ApiError::store)?;
    tracing::info!(reports_deleted = done.reports_deleted, "deletion request: an install's reports deleted");
    Ok(DeletionDone {
        status: "deleted".into(),
        reports_deleted: done.reports_deleted,
        covers_until: done.tombstone.created_at.to_string(),
        repeated: !done.new,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_private_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(KEY_FILE);
        assert!(matches!(load_or_create_key(&path, false), Err(KeyError::Io { .. })));
        let (key, created) = load_or_create_key(&path, true).unwrap();
        assert!(created);
        let (again, created) = load_or_create_key(&path, true).unwrap();
        assert!(!created);
        assert_eq!(key, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(load_or_create_key(&path, true), Err(KeyError::Permissions { mode: 0o644, .. })));
        }
    }

    #[test]
    fn a_file_that_is_no_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        write_private(&path, b"not hex", false).unwrap();
        assert!(matches!(load_or_create_key(&path, true), Err(KeyError::Malformed { .. })));
    }
}
