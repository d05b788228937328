//! [`crate::ConsoleStore`] for both backends from one body of SQL.
//!
//! The console's queries use only what SQLite and PostgreSQL share (`$N` parameters,
//! `RETURNING`, `count(*) FILTER`, `ON CONFLICT`), so one implementation, instantiated by
//! [`console_store!`] for each pool type, serves both. The backends differ in one place:
//! how appends to the audit log are serialised (PostgreSQL takes a transaction-scoped
//! advisory lock; SQLite has a single writer connection).

use ferretwatch_types::Timestamp;

use crate::model::{
    AccessByNetwork, AccessEvent, AccessOutcome, AccessSummary, Account, AccountId, AccountSecrets, AuditEntry,
    Elevation, Invitation, InvitationId, Session, SessionStage, SettingValue, TokenRole,
};
use crate::rows::digest_from_db;
use crate::StoreError;

pub(crate) const ACCOUNT_COLUMNS: &str = "id, email, role, eligible_role, password_hash, totp_secret, totp_last_step, \
     oidc_issuer, oidc_subject, created_at, created_by, last_login_at, disabled_at, failed_logins, locked_until";
pub(crate) const INVITATION_COLUMNS: &str = "id, role, email, totp_secret, created_by, created_at, expires_at, used_at";
pub(crate) const SESSION_COLUMNS: &str = "id_hash, account_id, stage, created_at, last_seen_at, expires_at, \
     client_net, elevated_role, elevated_until, elevation_reason";
pub(crate) const ACCESS_COLUMNS: &str = "login_time, admin_email, account_id, ip_address, method, outcome, user_agent";
pub(crate) const MODERATION_COLUMNS: &str = "url_hash, url, state, first_seen, last_seen, report_count, \
     false_positive_count, max_score, state_changed_at, state_changed_by";
pub(crate) const AUDIT_COLUMNS: &str = "seq, at, actor, action, target, details, prev_hash, hash, key_id, signature";

fn role(code: &str) -> Result<TokenRole, StoreError> {
    TokenRole::parse(code).map_err(|_| StoreError::corrupt("unknown role"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: i64,
    email: String,
    role: String,
    eligible_role: Option<String>,
    password_hash: Option<String>,
    totp_secret: Option<Vec<u8>>,
    totp_last_step: i64,
    oidc_issuer: Option<String>,
    oidc_subject: Option<String>,
    created_at: i64,
    created_by: String,
    last_login_at: Option<i64>,
    disabled_at: Option<i64>,
    failed_logins: i64,
    locked_until: Option<i64>,
}

impl AccountRow {
    pub(crate) fn split(self) -> Result<(Account, AccountSecrets), StoreError> {
        let secrets = AccountSecrets {
            password_hash: self.password_hash,
            totp_secret: self.totp_secret,
            totp_last_step: self.totp_last_step,
        };
        let account = Account {
            id: AccountId(self.id),
            email: self.email,
            role: role(&self.role)?,
            eligible_role: self.eligible_role.as_deref().map(role).transpose()?,
            totp_enrolled: secrets.totp_secret.is_some(),
            has_password: secrets.password_hash.is_some(),
            oidc: self.oidc_issuer.zip(self.oidc_subject),
            created_at: Timestamp::from_millis(self.created_at),
            created_by: self.created_by,
            last_login_at: self.last_login_at.map(Timestamp::from_millis),
            disabled_at: self.disabled_at.map(Timestamp::from_millis),
            failed_logins: self.failed_logins,
            locked_until: self.locked_until.map(Timestamp::from_millis),
        };
        Ok((account, secrets))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InvitationRow {
    id: i64,
    role: String,
    email: Option<String>,
    totp_secret: Option<Vec<u8>>,
    created_by: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(row: InvitationRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: InvitationId(row.id),
            role: role(&row.role)?,
            email: row.email,
            totp_secret: row.totp_secret,
            created_by: row.created_by,
            created_at: Timestamp::from_millis(row.created_at),
            expires_at: Timestamp::from_millis(row.expires_at),
            used_at: row.used_at.map(Timestamp::from_millis),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id_hash: Vec<u8>,
    account_id: i64,
    stage: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    client_net: Option<String>,
    elevated_role: Option<String>,
    elevated_until: Option<i64>,
    elevation_reason: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(row: SessionRow) -> Result<Self, StoreError> {
        let elevation = match (row.elevated_role, row.elevated_until) {
            (Some(r), Some(until)) => Some(Elevation {
                role: role(&r)?,
                until: Timestamp::from_millis(until),
                reason: row.elevation_reason.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Self {
            id_hash: digest_from_db(&row.id_hash)?,
            account_id: AccountId(row.account_id),
            stage: SessionStage::from_code(&row.stage).ok_or_else(|| StoreError::corrupt("unknown session stage"))?,
            created_at: Timestamp::from_millis(row.created_at),
            last_seen_at: Timestamp::from_millis(row.last_seen_at),
            expires_at: Timestamp::from_millis(row.expires_at),
            client_net: row.client_net,
            elevation,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    login_time: i64,
    admin_email: String,
    account_id: Option<i64>,
    ip_address: String,
    method: String,
    outcome: String,
    user_agent: Option<String>,
}

impl TryFrom<AccessRow> for AccessEvent {
    type Error = StoreError;
    fn try_from(row: AccessRow) -> Result<Self, StoreError> {
        Ok(Self {
            at: Timestamp::from_millis(row.login_time),
            email: row.admin_email,
            account_id: row.account_id.map(AccountId),
            client_net: row.ip_address,
            method: row.method,
            outcome: AccessOutcome::from_code(&row.outcome).ok_or_else(|| StoreError::corrupt("unknown outcome"))?,
            user_agent: row.user_agent,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessSummaryRow {
    admin_email: String,
    attempts: i64,
    failures: i64,
    first_login: i64,
    last_login: i64,
}

impl From<AccessSummaryRow> for AccessSummary {
    fn from(row: AccessSummaryRow) -> Self {
        Self {
            email: row.admin_email,
            attempts: row.attempts,
            failures: row.failures,
            first: Timestamp::from_millis(row.first_login),
            last: Timestamp::from_millis(row.last_login),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccessByNetworkRow {
    admin_email: String,
    ip_address: String,
    attempts: i64,
    failures: i64,
}

impl From<AccessByNetworkRow> for AccessByNetwork {
    fn from(row: AccessByNetworkRow) -> Self {
        Self { email: row.admin_email, client_net: row.ip_address, attempts: row.attempts, failures: row.failures }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SettingRow {
    key: String,
    value: String,
    updated_at: i64,
    updated_by: String,
}

impl From<SettingRow> for SettingValue {
    fn from(row: SettingRow) -> Self {
        Self {
            key: row.key,
            value: row.value,
            updated_at: Timestamp::from_millis(row.updated_at),
            updated_by: row.updated_by,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    target: String,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    key_id: String,
    signature: Vec<u8>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        // Stored as bytes, shown as hex; a wrong length shows up in verification.
        Self {
            seq: row.seq,
            at: row.at,
            actor: row.actor,
            action: row.action,
            target: row.target,
            details: row.details,
            prev_hash: hex::encode(row.prev_hash),
            hash: hex::encode(row.hash),
            key_id: row.key_id,
            signature: hex::encode(row.signature),
        }
    }
}

/// Implements [`crate::ConsoleStore`] for `$store`, whose `console_read()` and
/// `console_write()` return its pools of `$db`; `$lock_audit` is the statement that
/// serialises audit appends inside a transaction.
macro_rules! console_store {
    ($store:ty, $db:ty, $lock_audit:expr, $for_update:expr) => {
        use $crate::console::{Audited, ConsoleStore};
        use $crate::console_sql::*;
        use $crate::model::{
            seal, AccessByNetwork, AccessEvent, AccessSummary, Account, AccountId, AccountSecrets, AuditEntry,
            AuditFilter, Email, InboxFilter, InboxGroup, InboxKind, Invitation, ModerationEntry, ModerationState,
            NewAccount, NewInvitation, NewSession, Session, SettingValue, StateChange, TokenRole,
        };
        use $crate::rows::{moderation_order, ModerationRow};
        use ferretwatch_types::Sha256 as Digest;

        /// Appends `audit` inside `tx`, chained to the newest entry.
        async fn append_audit_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            audit: Audited<'_>,
        ) -> $crate::Result<AuditEntry> {
            sqlx::query($lock_audit).execute(&mut **tx).await?;
            let head: Option<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **tx).await?;
            let (prev_seq, prev) = match head {
                Some((seq, hash)) => (seq, $crate::rows::digest_from_db(&hash)?),
                None => (0, Digest::from_bytes([0; 32])),
            };
            let entry = seal(audit.entry, prev_seq, &prev, audit.signer);
            let hash = hex::decode(&entry.hash).map_err(|e| $crate::StoreError::Internal(Box::new(e)))?;
            let signature = hex::decode(&entry.signature).map_err(|e| $crate::StoreError::Internal(Box::new(e)))?;
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash, key_id, signature) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(entry.seq)
            .bind(entry.at)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.details)
            .bind(prev.as_bytes().as_slice())
            .bind(hash)
            .bind(&entry.key_id)
            .bind(signature)
            .execute(&mut **tx)
            .await?;
            Ok(entry)
        }

        async fn account_in(tx: &mut sqlx::Transaction<'_, $db>, id: AccountId) -> $crate::Result<Account> {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE id = $1");
            let row: Option<AccountRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(&mut **tx).await?;
            Ok(row.ok_or_else(|| $crate::StoreError::not_found("account"))?.split()?.0)
        }

        impl $store {
            /// Moderation entries as `filter` selects and orders them: `limit` after
            /// `offset`. The one query behind the triage inbox and `list_moderation`.
            pub(crate) async fn moderation_entries(
                &self,
                filter: &InboxFilter,
                limit: i64,
                offset: i64,
            ) -> $crate::Result<Vec<ModerationEntry>> {
                // Only constant fragments go into the SQL text; every value is bound.
                let mut sql = format!("SELECT {MODERATION_COLUMNS} FROM moderation m WHERE TRUE");
                let mut n = 0;
                let mut next = || {
                    n += 1;
                    n
                };
                if filter.state.is_some() {
                    sql.push_str(&format!(" AND state = ${}", next()));
                }
                if filter.min_score.is_some() {
                    sql.push_str(&format!(" AND max_score >= ${}", next()));
                }
                if filter.since.is_some() {
                    sql.push_str(&format!(" AND last_seen >= ${}", next()));
                }
                match filter.kind {
                    Some(InboxKind::FalsePositive) => sql.push_str(" AND false_positive_count > 0"),
                    Some(InboxKind::Report) => sql.push_str(" AND report_count > false_positive_count"),
                    None => {}
                }
                if filter.url_contains.is_some() {
                    sql.push_str(&format!(" AND lower(url) LIKE ${} ESCAPE '\\'", next()));
                }
                if filter.reason.is_some() {
                    sql.push_str(&format!(
                        " AND EXISTS (SELECT 1 FROM reports r WHERE r.url_hash = m.url_hash AND r.reason = ${})",
                        next()
                    ));
                }
                sql.push_str(&format!(" ORDER BY {} LIMIT ${} OFFSET ${}", moderation_order(filter.sort), next(), next()));
                let mut query = sqlx::query_as::<_, ModerationRow>(&sql);
                if let Some(state) = filter.state {
                    query = query.bind(state.code());
                }
                if let Some(min) = filter.min_score {
                    query = query.bind(i16::from(min));
                }
                if let Some(since) = filter.since {
                    query = query.bind(since.as_millis());
                }
                if let Some(text) = &filter.url_contains {
                    let escaped: String = text
                        .to_lowercase()
                        .chars()
                        .flat_map(|c| match c {
                            '%' | '_' | '\\' => vec!['\\', c],
                            c => vec![c],
                        })
                        .collect();
                    query = query.bind(format!("%{escaped}%"));
                }
                if let Some(reason) = &filter.reason {
                    query = query.bind(reason.as_str());
                }
                let rows = query.bind(limit).bind(offset).fetch_all(self.console_read()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            /// Applies a state change with its moderation-audit row and, when given, its
            /// signed audit entry, in one transaction (`set_moderation_state` and `decide`).
            pub(crate) async fn change_state(
                &self,
                change: &StateChange,
                audit: Option<Audited<'_>>,
            ) -> $crate::Result<ModerationEntry> {
                change.validate()?;
                let hash = change.url_hash.digest().as_bytes().to_vec();
                let mut tx = self.console_begin().await?;
                let sql = format!("SELECT state FROM moderation WHERE url_hash = $1{}", $for_update);
                let current: Option<String> = sqlx::query_scalar(&sql).bind(&hash).fetch_optional(&mut *tx).await?;
                let from = current.ok_or_else(|| $crate::StoreError::not_found("moderation entry"))?;
                let from =
                    ModerationState::parse(&from).map_err(|_| $crate::StoreError::corrupt("unknown moderation state"))?;
                if !from.can_transition_to(change.to) {
                    return Err($crate::StoreError::conflict(format!("cannot move from {from} to {}", change.to)));
                }
                sqlx::query(
                    "INSERT INTO moderation_audit (url_hash, from_state, to_state, actor, note, at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&hash)
                .bind(from.code())
                .bind(change.to.code())
                .bind(change.actor.as_str())
                .bind(change.note.as_deref())
                .bind(change.at.as_millis())
                .execute(&mut *tx)
                .await?;
                let sql = format!(
                    "UPDATE moderation SET state = $2, state_changed_at = $3, state_changed_by = $4 \
                     WHERE url_hash = $1 RETURNING {MODERATION_COLUMNS}"
                );
                let row: ModerationRow = sqlx::query_as(&sql)
                    .bind(&hash)
                    .bind(change.to.code())
                    .bind(change.at.as_millis())
                    .bind(change.actor.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                if let Some(audit) = audit {
                    append_audit_in(&mut tx, audit).await?;
                }
                tx.commit().await?;
                row.try_into()
            }
        }

        #[async_trait::async_trait]
        impl ConsoleStore for $store {
            async fn create_invitation(&self, inv: &NewInvitation, audit: Audited<'_>) -> $crate::Result<Invitation> {
                let mut tx = self.console_begin().await?;
                let sql = format!(
                    "INSERT INTO admin_invitations (code_hash, role, email, created_by, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {INVITATION_COLUMNS}"
                );
                let row: InvitationRow = sqlx::query_as(&sql)
                    .bind(inv.code_hash.as_bytes().as_slice())
                    .bind(inv.role.code())
                    .bind(inv.email.as_ref().map(Email::as_str))
                    .bind(&inv.created_by)
                    .bind(inv.created_at.as_millis())
                    .bind(inv.expires_at.as_millis())
                    .fetch_one(&mut *tx)
                    .await?;
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn find_invitation(&self, code_hash: &Digest) -> $crate::Result<Option<Invitation>> {
                let sql = format!("SELECT {INVITATION_COLUMNS} FROM admin_invitations WHERE code_hash = $1");
                let row: Option<InvitationRow> =
                    sqlx::query_as(&sql).bind(code_hash.as_bytes().as_slice()).fetch_optional(self.console_read()).await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn offer_invitation_totp(&self, code_hash: &Digest, secret: &[u8]) -> $crate::Result<Invitation> {
                let sql = format!(
                    "UPDATE admin_invitations SET totp_secret = coalesce(totp_secret, $2) \
                     WHERE code_hash = $1 RETURNING {INVITATION_COLUMNS}"
                );
                let row: Option<InvitationRow> = sqlx::query_as(&sql)
                    .bind(code_hash.as_bytes().as_slice())
                    .bind(secret)
                    .fetch_optional(self.console_write())
                    .await?;
                row.ok_or_else(|| $crate::StoreError::not_found("invitation"))?.try_into()
            }

            async fn redeem_invitation(
                &self,
                code_hash: &Digest,
                account: &NewAccount,
                audit: Audited<'_>,
            ) -> $crate::Result<Account> {
                let mut tx = self.console_begin().await?;
                let now = account.created_at.as_millis();
                let invitation: Option<(i64, String, String)> = sqlx::query_as(
                    "UPDATE admin_invitations SET used_at = $2 \
                     WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                     RETURNING id, role, created_by",
                )
                .bind(code_hash.as_bytes().as_slice())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let (invitation_id, role, created_by) =
                    invitation.ok_or_else(|| $crate::StoreError::not_found("open invitation"))?;
                let sql = format!(
                    "INSERT INTO admin_accounts (email, role, password_hash, totp_secret, totp_last_step, created_at, created_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ACCOUNT_COLUMNS}"
                );
                let row: AccountRow = sqlx::query_as(&sql)
                    .bind(account.email.as_str())
                    .bind(&role)
                    .bind(&account.password_hash)
                    .bind(account.totp_secret.as_slice())
                    .bind(account.totp_last_step)
                    .bind(now)
                    .bind(&created_by)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| match $crate::StoreError::from(e) {
                        $crate::StoreError::Conflict { .. } => {
                            $crate::StoreError::conflict("an account with that email already exists")
                        }
                        other => other,
                    })?;
                let (created, _) = row.split()?;
                sqlx::query("UPDATE admin_invitations SET account_id = $2 WHERE id = $1")
                    .bind(invitation_id)
                    .bind(created.id.0)
                    .execute(&mut *tx)
                    .await?;
                for code in &account.recovery_codes {
                    sqlx::query("INSERT INTO admin_recovery_codes (account_id, code_hash) VALUES ($1, $2)")
                        .bind(created.id.0)
                        .bind(code.as_bytes().as_slice())
                        .execute(&mut *tx)
                        .await?;
                }
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(created)
            }

            async fn list_accounts(&self) -> $crate::Result<Vec<Account>> {
                let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts ORDER BY id");
                let rows: Vec<AccountRow> = sqlx::query_as(&sql).fetch_all(self.console_read()).await?;
                rows.into_iter().map(|r| r.split().map(|(a, _)| a)).collect()
            }

            async fn get_account(&self, id: AccountId) -> $crate::Result<Account> {
                let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE id = $1");
                let row: Option<AccountRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(self.console_read()).await?;
                Ok(row.ok_or_else(|| $crate::StoreError::not_found("account"))?.split()?.0)
            }

            async fn find_account_by_email(&self, email: &Email) -> $crate::Result<Option<(Account, AccountSecrets)>> {
                let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE email = $1");
                let row: Option<AccountRow> =
                    sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(self.console_read()).await?;
                row.map(AccountRow::split).transpose()
            }

            async fn find_account_by_oidc(
                &self,
                issuer: &str,
                subject: &str,
            ) -> $crate::Result<Option<(Account, AccountSecrets)>> {
                let sql =
                    format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE oidc_issuer = $1 AND oidc_subject = $2");
                let row: Option<AccountRow> =
                    sqlx::query_as(&sql).bind(issuer).bind(subject).fetch_optional(self.console_read()).await?;
                row.map(AccountRow::split).transpose()
            }

            async fn account_secrets(&self, id: AccountId) -> $crate::Result<AccountSecrets> {
                let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM admin_accounts WHERE id = $1");
                let row: Option<AccountRow> = sqlx::query_as(&sql).bind(id.0).fetch_optional(self.console_read()).await?;
                Ok(row.ok_or_else(|| $crate::StoreError::not_found("account"))?.split()?.1)
            }

            async fn link_oidc(
                &self,
                id: AccountId,
                identity: Option<(&str, &str)>,
                audit: Audited<'_>,
            ) -> $crate::Result<Account> {
                let mut tx = self.console_begin().await?;
                let done = sqlx::query("UPDATE admin_accounts SET oidc_issuer = $2, oidc_subject = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(identity.map(|i| i.0))
                    .bind(identity.map(|i| i.1))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match $crate::StoreError::from(e) {
                        $crate::StoreError::Conflict { .. } => {
                            $crate::StoreError::conflict("another account is linked to that identity")
                        }
                        other => other,
                    })?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::not_found("account"));
                }
                append_audit_in(&mut tx, audit).await?;
                let account = account_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(account)
            }

            async fn set_account_role(
                &self,
                id: AccountId,
                role: TokenRole,
                eligible: Option<TokenRole>,
                audit: Audited<'_>,
            ) -> $crate::Result<Account> {
                let mut tx = self.console_begin().await?;
                let done = sqlx::query("UPDATE admin_accounts SET role = $2, eligible_role = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(role.code())
                    .bind(eligible.map(TokenRole::code))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::not_found("account"));
                }
                // A changed role takes effect at once: elevations granted under the old
                // eligibility end with it.
                sqlx::query(
                    "UPDATE admin_sessions SET elevated_role = NULL, elevated_until = NULL, elevation_reason = NULL \
                     WHERE account_id = $1",
                )
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                append_audit_in(&mut tx, audit).await?;
                let account = account_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(account)
            }

            async fn set_account_disabled(
                &self,
                id: AccountId,
                at: Option<ferretwatch_types::Timestamp>,
                audit: Audited<'_>,
            ) -> $crate::Result<Account> {
                let mut tx = self.console_begin().await?;
                let done = sqlx::query(
                    "UPDATE admin_accounts SET disabled_at = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
                )
                .bind(id.0)
                .bind(at.map(|t| t.as_millis()))
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::not_found("account"));
                }
                if at.is_some() {
                    sqlx::query("DELETE FROM admin_sessions WHERE account_id = $1").bind(id.0).execute(&mut *tx).await?;
                }
                append_audit_in(&mut tx, audit).await?;
                let account = account_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(account)
            }

            async fn accept_totp_step(&self, id: AccountId, step: i64) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE admin_accounts SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
                )
                .bind(id.0)
                .bind(step)
                .execute(self.console_write())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_recovery_code(
                &self,
                id: AccountId,
                code_hash: &Digest,
                at: ferretwatch_types::Timestamp,
            ) -> $crate::Result<bool> {
                let done = sqlx::query(
                    "UPDATE admin_recovery_codes SET used_at = $3 \
                     WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
                )
                .bind(id.0)
                .bind(code_hash.as_bytes().as_slice())
                .bind(at.as_millis())
                .execute(self.console_write())
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, id: AccountId) -> $crate::Result<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT count(*) FROM admin_recovery_codes WHERE account_id = $1 AND used_at IS NULL",
                )
                .bind(id.0)
                .fetch_one(self.console_read())
                .await?)
            }

            async fn record_login_failure(
                &self,
                id: AccountId,
                at: ferretwatch_types::Timestamp,
                lock_for_ms: &(dyn Fn(i64) -> i64 + Sync),
            ) -> $crate::Result<i64> {
                let mut tx = self.console_begin().await?;
                let count: Option<i64> = sqlx::query_scalar(
                    "UPDATE admin_accounts SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
                )
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let count = count.ok_or_else(|| $crate::StoreError::not_found("account"))?;
                let lock = lock_for_ms(count);
                if lock > 0 {
                    sqlx::query("UPDATE admin_accounts SET locked_until = $2 WHERE id = $1")
                        .bind(id.0)
                        .bind(at.as_millis().saturating_add(lock))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(count)
            }

            async fn record_login_success(&self, id: AccountId, at: ferretwatch_types::Timestamp) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE admin_accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1",
                )
                .bind(id.0)
                .bind(at.as_millis())
                .execute(self.console_write())
                .await?;
                Ok(())
            }

            async fn create_session(&self, s: &NewSession) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO admin_sessions (id_hash, account_id, stage, created_at, last_seen_at, expires_at, client_net) \
                     VALUES ($1, $2, $3, $4, $4, $5, $6)",
                )
                .bind(s.id_hash.as_bytes().as_slice())
                .bind(s.account_id.0)
                .bind(s.stage.code())
                .bind(s.created_at.as_millis())
                .bind(s.expires_at.as_millis())
                .bind(s.client_net.as_deref())
                .execute(self.console_write())
                .await?;
                Ok(())
            }

            async fn find_session(&self, id_hash: &Digest) -> $crate::Result<Option<Session>> {
                let sql = format!("SELECT {SESSION_COLUMNS} FROM admin_sessions WHERE id_hash = $1");
                let row: Option<SessionRow> =
                    sqlx::query_as(&sql).bind(id_hash.as_bytes().as_slice()).fetch_optional(self.console_read()).await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn touch_session(
                &self,
                id_hash: &Digest,
                at: ferretwatch_types::Timestamp,
                granularity_ms: i64,
            ) -> $crate::Result<()> {
                sqlx::query("UPDATE admin_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $3")
                    .bind(id_hash.as_bytes().as_slice())
                    .bind(at.as_millis())
                    .bind(at.as_millis() - granularity_ms.max(0))
                    .execute(self.console_write())
                    .await?;
                Ok(())
            }

            async fn elevate_session(
                &self,
                id_hash: &Digest,
                role: TokenRole,
                until: ferretwatch_types::Timestamp,
                reason: &str,
                audit: Audited<'_>,
            ) -> $crate::Result<()> {
                let mut tx = self.console_begin().await?;
                let done = sqlx::query(
                    "UPDATE admin_sessions SET elevated_role = $2, elevated_until = $3, elevation_reason = $4 \
                     WHERE id_hash = $1",
                )
                .bind(id_hash.as_bytes().as_slice())
                .bind(role.code())
                .bind(until.as_millis())
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::not_found("session"));
                }
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn end_elevation(&self, id_hash: &Digest) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE admin_sessions SET elevated_role = NULL, elevated_until = NULL, elevation_reason = NULL \
                     WHERE id_hash = $1",
                )
                .bind(id_hash.as_bytes().as_slice())
                .execute(self.console_write())
                .await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &Digest) -> $crate::Result<bool> {
                let done = sqlx::query("DELETE FROM admin_sessions WHERE id_hash = $1")
                    .bind(id_hash.as_bytes().as_slice())
                    .execute(self.console_write())
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_account_sessions(&self, id: AccountId) -> $crate::Result<u64> {
                let done = sqlx::query("DELETE FROM admin_sessions WHERE account_id = $1")
                    .bind(id.0)
                    .execute(self.console_write())
                    .await?;
                Ok(done.rows_affected())
            }

            async fn delete_expired_sessions(
                &self,
                now: ferretwatch_types::Timestamp,
                idle_cutoff: ferretwatch_types::Timestamp,
            ) -> $crate::Result<u64> {
                let mut tx = self.console_begin().await?;
                let sessions = sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1 OR last_seen_at < $2")
                    .bind(now.as_millis())
                    .bind(idle_cutoff.as_millis())
                    .execute(&mut *tx)
                    .await?;
                let pending = sqlx::query("DELETE FROM admin_oidc_pending WHERE expires_at <= $1")
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(sessions.rows_affected() + pending.rows_affected())
            }

            async fn list_account_sessions(&self, id: AccountId) -> $crate::Result<Vec<Session>> {
                let sql = format!(
                    "SELECT {SESSION_COLUMNS} FROM admin_sessions WHERE account_id = $1 ORDER BY created_at DESC"
                );
                let rows: Vec<SessionRow> = sqlx::query_as(&sql).bind(id.0).fetch_all(self.console_read()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn put_oidc_pending(
                &self,
                id_hash: &Digest,
                payload: &str,
                expires_at: ferretwatch_types::Timestamp,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO admin_oidc_pending (id_hash, payload, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id_hash) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at",
                )
                .bind(id_hash.as_bytes().as_slice())
                .bind(payload)
                .bind(expires_at.as_millis())
                .execute(self.console_write())
                .await?;
                Ok(())
            }

            async fn take_oidc_pending(
                &self,
                id_hash: &Digest,
                now: ferretwatch_types::Timestamp,
            ) -> $crate::Result<Option<String>> {
                let row: Option<(String, i64)> =
                    sqlx::query_as("DELETE FROM admin_oidc_pending WHERE id_hash = $1 RETURNING payload, expires_at")
                        .bind(id_hash.as_bytes().as_slice())
                        .fetch_optional(self.console_write())
                        .await?;
                Ok(row.filter(|(_, expires)| *expires > now.as_millis()).map(|(payload, _)| payload))
            }

            async fn append_access(&self, e: &AccessEvent) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO admin_access_logs (login_time, admin_email, account_id, ip_address, method, outcome, user_agent) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.at.as_millis())
                .bind(&e.email)
                .bind(e.account_id.map(|a| a.0))
                .bind(&e.client_net)
                .bind(&e.method)
                .bind(e.outcome.code())
                .bind(e.user_agent.as_deref())
                .execute(self.console_write())
                .await?;
                Ok(())
            }

            async fn list_access(&self, since: ferretwatch_types::Timestamp, limit: u32) -> $crate::Result<Vec<AccessEvent>> {
                let sql = format!(
                    "SELECT {ACCESS_COLUMNS} FROM admin_access_logs WHERE login_time >= $1 ORDER BY id DESC LIMIT $2"
                );
                let rows: Vec<AccessRow> =
                    sqlx::query_as(&sql).bind(since.as_millis()).bind(i64::from(limit)).fetch_all(self.console_read()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn access_summary(&self, since: ferretwatch_types::Timestamp) -> $crate::Result<Vec<AccessSummary>> {
                let rows: Vec<AccessSummaryRow> = sqlx::query_as(
                    "SELECT admin_email, count(*) AS attempts, \
                            count(*) FILTER (WHERE outcome NOT IN ('success', 'logout')) AS failures, \
                            min(login_time) AS first_login, max(login_time) AS last_login \
                     FROM admin_access_logs WHERE login_time > $1 \
                     GROUP BY admin_email ORDER BY attempts DESC, admin_email",
                )
                .bind(since.as_millis())
                .fetch_all(self.console_read())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn access_by_network(
                &self,
                since: ferretwatch_types::Timestamp,
                over: i64,
            ) -> $crate::Result<Vec<AccessByNetwork>> {
                let rows: Vec<AccessByNetworkRow> = sqlx::query_as(
                    "SELECT admin_email, ip_address, count(*) AS attempts, \
                            count(*) FILTER (WHERE outcome NOT IN ('success', 'logout')) AS failures \
                     FROM admin_access_logs WHERE login_time > $1 \
                     GROUP BY admin_email, ip_address HAVING count(*) > $2 \
                     ORDER BY attempts DESC, admin_email, ip_address",
                )
                .bind(since.as_millis())
                .bind(over)
                .fetch_all(self.console_read())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn list_settings(&self) -> $crate::Result<Vec<SettingValue>> {
                let rows: Vec<SettingRow> =
                    sqlx::query_as("SELECT key, value, updated_at, updated_by FROM console_settings ORDER BY key")
                        .fetch_all(self.console_read())
                        .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn put_settings(
                &self,
                values: &[(String, String)],
                at: ferretwatch_types::Timestamp,
                by: &str,
                audit: Audited<'_>,
            ) -> $crate::Result<()> {
                let mut tx = self.console_begin().await?;
                for (key, value) in values {
                    sqlx::query(
                        "INSERT INTO console_settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, \
                         updated_by = excluded.updated_by",
                    )
                    .bind(key)
                    .bind(value)
                    .bind(at.as_millis())
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                }
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn triage_inbox(
                &self,
                filter: &InboxFilter,
                limit: u32,
                offset: u32,
            ) -> $crate::Result<Vec<InboxGroup>> {
                let entries = self.moderation_entries(filter, i64::from(limit), i64::from(offset)).await?;
                if entries.is_empty() {
                    return Ok(Vec::new());
                }
                let marks: Vec<String> = (1..=entries.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT url_hash, reason, count(*) FROM reports WHERE url_hash IN ({}) \
                     GROUP BY url_hash, reason ORDER BY count(*) DESC, reason",
                    marks.join(", ")
                );
                let mut query = sqlx::query_as::<_, (Vec<u8>, String, i64)>(&sql);
                for e in &entries {
                    query = query.bind(e.url_hash.digest().as_bytes().to_vec());
                }
                let counts = query.fetch_all(self.console_read()).await?;
                Ok(entries
                    .into_iter()
                    .map(|entry| {
                        let key = entry.url_hash.digest().as_bytes().to_vec();
                        let reasons = counts
                            .iter()
                            .filter(|(hash, _, _)| *hash == key)
                            .map(|(_, reason, n)| (reason.clone(), *n))
                            .collect();
                        InboxGroup { entry, reasons }
                    })
                    .collect())
            }

            async fn decide(&self, change: &StateChange, audit: Audited<'_>) -> $crate::Result<ModerationEntry> {
                self.change_state(change, Some(audit)).await
            }

            async fn report_volume(
                &self,
                since: [ferretwatch_types::Timestamp; 3],
            ) -> $crate::Result<[$crate::console::ReportVolume; 3]> {
                let earliest = since.iter().map(|t| t.as_millis()).min().unwrap_or(0);
                let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
                    "SELECT \
                        count(*) FILTER (WHERE received_at > $1 AND kind = 'report'), \
                        count(*) FILTER (WHERE received_at > $1 AND kind = 'false_positive'), \
                        count(*) FILTER (WHERE received_at > $2 AND kind = 'report'), \
                        count(*) FILTER (WHERE received_at > $2 AND kind = 'false_positive'), \
                        count(*) FILTER (WHERE received_at > $3 AND kind = 'report'), \
                        count(*) FILTER (WHERE received_at > $3 AND kind = 'false_positive') \
                     FROM reports WHERE received_at > $4",
                )
                .bind(since[0].as_millis())
                .bind(since[1].as_millis())
                .bind(since[2].as_millis())
                .bind(earliest)
                .fetch_one(self.console_read())
                .await?;
                let v = |reports, false_positives| $crate::console::ReportVolume { reports, false_positives };
                Ok([v(row.0, row.1), v(row.2, row.3), v(row.4, row.5)])
            }

            async fn append_audit(&self, audit: Audited<'_>) -> $crate::Result<AuditEntry> {
                let mut tx = self.console_begin().await?;
                let entry = append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(entry)
            }

            async fn list_audit(&self, filter: &AuditFilter, limit: u32) -> $crate::Result<Vec<AuditEntry>> {
                let sql = format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log \
                     WHERE ($1 IS NULL OR seq < $1) AND ($2 IS NULL OR actor = $2) \
                       AND ($3 IS NULL OR substr(action, 1, length($3)) = $3) \
                     ORDER BY seq DESC LIMIT $4"
                );
                let rows: Vec<AuditRow> = sqlx::query_as(&sql)
                    .bind(filter.before_seq)
                    .bind(filter.actor.as_deref())
                    .bind(filter.action_prefix.as_deref())
                    .bind(i64::from(limit))
                    .fetch_all(self.console_read())
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn audit_after(&self, after_seq: i64, limit: u32) -> $crate::Result<Vec<AuditEntry>> {
                let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
                let rows: Vec<AuditRow> =
                    sqlx::query_as(&sql).bind(after_seq).bind(i64::from(limit)).fetch_all(self.console_read()).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

mod sqlite_impl {
    // One writer connection: reading the state and writing it cannot interleave.
    console_store!(crate::SqliteStore, sqlx::Sqlite, "SELECT 1", "");
    crate::proposal_sql::proposal_store!(crate::SqliteStore, sqlx::Sqlite);
    crate::incident_sql::incident_store!(crate::SqliteStore, sqlx::Sqlite);
}

mod postgres_impl {
    // The lock's key is arbitrary and only needs to be the same for every appender.
    console_store!(crate::PostgresStore, sqlx::Postgres, "SELECT pg_advisory_xact_lock(7466301)", " FOR UPDATE");
    crate::proposal_sql::proposal_store!(crate::PostgresStore, sqlx::Postgres);
    crate::incident_sql::incident_store!(crate::PostgresStore, sqlx::Postgres);
}
