//! Raw rows as both backends return them, and their conversion to the model. The column
//! types are chosen so one `FromRow` derive decodes on SQLite and PostgreSQL alike
//! (PostgreSQL's JSONB is selected as `::text`).

use crate::model::{
    Finding, ModerationAudit, ModerationEntry, ModerationState, ReportId, ReportKind, ReportReason, StoredReport,
    TokenId, TokenRecord, TokenRole, UrlHash,
};
use crate::StoreError;
use ferretwatch_types::{Sha256, Timestamp};

/// A stored digest column: 32 bytes, or a corrupt row.
pub(crate) fn digest_from_db(bytes: &[u8]) -> Result<Sha256, StoreError> {
    <[u8; 32]>::try_from(bytes).map(Sha256::from_bytes).map_err(|_| StoreError::corrupt("stored hash is not 32 bytes"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReportRow {
    id: i64,
    received_at: i64,
    kind: String,
    url: String,
    url_hash: Vec<u8>,
    reason: String,
    reason_text: Option<String>,
    client_timestamp: i64,
    extension_version: String,
    pack_version: String,
    score: i16,
    findings: String,
    screenshot_hash: Option<Vec<u8>>,
    install_token_id: Option<String>,
    client_net: Option<String>,
}

impl TryFrom<ReportRow> for StoredReport {
    type Error = StoreError;

    fn try_from(row: ReportRow) -> Result<Self, StoreError> {
        let kind = ReportKind::from_code(&row.kind).ok_or_else(|| StoreError::corrupt("unknown report kind"))?;
        // Stored reasons were valid when written; rebuild without today's length rules.
        let reason = match (row.reason.as_str(), row.reason_text) {
            ("other", Some(text)) => ReportReason::Other(text),
            (code, _) => ReportReason::parse(code, None).map_err(|_| StoreError::corrupt("unknown report reason"))?,
        };
        let findings: Vec<Finding> =
            serde_json::from_str(&row.findings).map_err(|_| StoreError::corrupt("findings are not valid JSON"))?;
        Ok(Self {
            id: ReportId(row.id),
            received_at: Timestamp::from_millis(row.received_at),
            kind,
            url: row.url,
            url_hash: UrlHash(digest_from_db(&row.url_hash)?),
            reason,
            client_timestamp: Timestamp::from_millis(row.client_timestamp),
            extension_version: row.extension_version,
            pack_version: row.pack_version,
            score: u8::try_from(row.score).map_err(|_| StoreError::corrupt("score out of range"))?,
            findings,
            screenshot_hash: row.screenshot_hash.as_deref().map(digest_from_db).transpose()?,
            install_token_id: row.install_token_id,
            client_net: row.client_net,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ModerationRow {
    url_hash: Vec<u8>,
    url: String,
    state: String,
    first_seen: i64,
    last_seen: i64,
    report_count: i64,
    false_positive_count: i64,
    max_score: i16,
    state_changed_at: Option<i64>,
    state_changed_by: Option<String>,
}

fn state(code: &str) -> Result<ModerationState, StoreError> {
    ModerationState::parse(code).map_err(|_| StoreError::corrupt("unknown moderation state"))
}

impl TryFrom<ModerationRow> for ModerationEntry {
    type Error = StoreError;

    fn try_from(row: ModerationRow) -> Result<Self, StoreError> {
        Ok(Self {
            url_hash: UrlHash(digest_from_db(&row.url_hash)?),
            url: row.url,
            state: state(&row.state)?,
            first_seen: Timestamp::from_millis(row.first_seen),
            last_seen: Timestamp::from_millis(row.last_seen),
            report_count: row.report_count,
            false_positive_count: row.false_positive_count,
            max_score: u8::try_from(row.max_score).map_err(|_| StoreError::corrupt("score out of range"))?,
            state_changed_at: row.state_changed_at.map(Timestamp::from_millis),
            state_changed_by: row.state_changed_by,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    url_hash: Vec<u8>,
    from_state: String,
    to_state: String,
    actor: String,
    note: Option<String>,
    at: i64,
}

impl TryFrom<AuditRow> for ModerationAudit {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id,
            url_hash: UrlHash(digest_from_db(&row.url_hash)?),
            from: state(&row.from_state)?,
            to: state(&row.to_state)?,
            actor: row.actor,
            note: row.note,
            at: Timestamp::from_millis(row.at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: i64,
    name: String,
    role: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: TokenId(row.id),
            name: row.name,
            role: TokenRole::parse(&row.role).map_err(|_| StoreError::corrupt("unknown token role"))?,
            created_at: Timestamp::from_millis(row.created_at),
            last_used_at: row.last_used_at.map(Timestamp::from_millis),
            revoked_at: row.revoked_at.map(Timestamp::from_millis),
        })
    }
}

/// Converts every row, failing on the first corrupt one.
pub(crate) fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}

/// `ORDER BY` for a moderation sort (a fixed string, never user text).
pub(crate) fn moderation_order(sort: crate::model::ModerationSort) -> &'static str {
    match sort {
        crate::model::ModerationSort::LastSeen => "last_seen DESC, url_hash",
        crate::model::ModerationSort::ReportCount => "report_count DESC, url_hash",
        crate::model::ModerationSort::MaxScore => "max_score DESC, last_seen DESC, url_hash",
    }
}

/// Gives a duplicate active token name a message that names it.
pub(crate) fn name_conflict(err: sqlx::Error, token: &crate::model::NewToken) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict { .. } => {
            StoreError::conflict(format!("an active token named {:?} already exists", token.name.as_str()))
        }
        other => other,
    }
}

/// One round trip for every gauge; the same SQL on both backends.
pub(crate) const COUNTS_SQL: &str = "SELECT \
     (SELECT count(*) FROM reports WHERE kind = 'report') AS reports, \
     (SELECT count(*) FROM reports WHERE kind = 'false_positive') AS false_positives, \
     (SELECT count(*) FROM moderation WHERE state = 'queued') AS queued, \
     (SELECT count(*) FROM moderation WHERE state = 'verified') AS verified, \
     (SELECT count(*) FROM moderation WHERE state = 'rejected') AS rejected, \
     (SELECT count(*) FROM moderation WHERE state = 'benign') AS benign, \
     (SELECT count(*) FROM admin_tokens WHERE revoked_at IS NULL) AS active_tokens";

#[derive(sqlx::FromRow)]
pub(crate) struct CountsRow {
    reports: i64,
    false_positives: i64,
    queued: i64,
    verified: i64,
    rejected: i64,
    benign: i64,
    active_tokens: i64,
}

impl From<CountsRow> for crate::model::StoreCounts {
    fn from(row: CountsRow) -> Self {
        Self {
            reports: row.reports,
            false_positives: row.false_positives,
            moderation: [row.queued, row.verified, row.rejected, row.benign],
            active_tokens: row.active_tokens,
        }
    }
}

/// `state IN ('a', 'b')` for state codes (fixed identifiers of the model, never input).
pub(crate) fn state_in<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    let codes: Vec<String> = codes.into_iter().map(|c| format!("'{c}'")).collect();
    format!("state IN ({})", codes.join(", "))
}
