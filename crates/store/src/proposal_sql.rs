//! [`crate::ProposalStore`] for both backends from one body of SQL (the approach of
//! `console_sql.rs`, inside whose backend modules [`proposal_store!`] is instantiated so
//! that its writes append to the audit log with the same `append_audit_in`).

use ferretwatch_types::Timestamp;

use crate::model::{AccountId, NewProposal, Proposal, ProposalId, ProposalKind, ProposalSignature, ProposalState};
use crate::StoreError;

pub(crate) const PROPOSAL_COLUMNS: &str = "id, kind, subject, body, note, url_hash, state, proposed_by, proposed_at, \
     base_version, version, test_passed, test_summary, request, approved_by, approved_at, finished_by, finished_at, \
     outcome";
pub(crate) const SIGNATURE_COLUMNS: &str = "proposal_id, account_id, actor, keyid, signatures, signed_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ProposalRow {
    id: i64,
    kind: String,
    subject: String,
    body: String,
    note: String,
    url_hash: Option<String>,
    state: String,
    proposed_by: String,
    proposed_at: i64,
    base_version: Option<String>,
    version: Option<String>,
    test_passed: Option<bool>,
    test_summary: String,
    request: String,
    approved_by: Option<String>,
    approved_at: Option<i64>,
    finished_by: Option<String>,
    finished_at: Option<i64>,
    outcome: Option<String>,
}

impl TryFrom<ProposalRow> for Proposal {
    type Error = StoreError;
    fn try_from(row: ProposalRow) -> Result<Self, StoreError> {
        Ok(Proposal {
            id: ProposalId(row.id),
            staged: NewProposal {
                kind: ProposalKind::from_code(&row.kind).ok_or_else(|| StoreError::corrupt("unknown proposal kind"))?,
                subject: row.subject,
                body: row.body,
                note: row.note,
                url_hash: row.url_hash,
                proposed_by: row.proposed_by,
                proposed_at: Timestamp::from_millis(row.proposed_at),
                base_version: row.base_version,
                version: row.version,
                test_passed: row.test_passed,
                test_summary: row.test_summary,
                request: row.request,
            },
            state: ProposalState::from_code(&row.state).ok_or_else(|| StoreError::corrupt("unknown proposal state"))?,
            approved_by: row.approved_by,
            approved_at: row.approved_at.map(Timestamp::from_millis),
            finished_by: row.finished_by,
            finished_at: row.finished_at.map(Timestamp::from_millis),
            outcome: row.outcome,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SignatureRow {
    proposal_id: i64,
    account_id: i64,
    actor: String,
    keyid: String,
    signatures: String,
    signed_at: i64,
}

impl From<SignatureRow> for ProposalSignature {
    fn from(row: SignatureRow) -> Self {
        ProposalSignature {
            proposal: ProposalId(row.proposal_id),
            account: AccountId(row.account_id),
            actor: row.actor,
            keyid: row.keyid,
            signatures: row.signatures,
            signed_at: Timestamp::from_millis(row.signed_at),
        }
    }
}

/// `state IN (…)` for proposal states.
pub(crate) fn states_in(states: &[ProposalState]) -> String {
    crate::rows::state_in(states.iter().map(|s| s.code()))
}

macro_rules! proposal_store {
    ($store:ty, $db:ty) => {
        use $crate::model::{NewProposal, Proposal, ProposalId, ProposalSignature, ProposalState};
        use $crate::proposal_sql::{states_in, ProposalRow, SignatureRow, PROPOSAL_COLUMNS, SIGNATURE_COLUMNS};
        use $crate::proposals::{NewSignature, ProposalStore};

        async fn proposal_in(tx: &mut sqlx::Transaction<'_, $db>, id: ProposalId) -> $crate::Result<Proposal> {
            let row: Option<ProposalRow> =
                sqlx::query_as(&format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE id = $1"))
                    .bind(id.0)
                    .fetch_optional(&mut **tx)
                    .await?;
            row.ok_or_else(|| $crate::StoreError::not_found("proposal"))?.try_into()
        }

        #[async_trait::async_trait]
        impl ProposalStore for $store {
            async fn create_proposal(&self, p: &NewProposal, audit: Audited<'_>) -> $crate::Result<Proposal> {
                let mut tx = self.console_begin().await?;
                let row: ProposalRow = sqlx::query_as(&format!(
                    "INSERT INTO proposals (kind, subject, body, note, url_hash, state, proposed_by, proposed_at, \
                     base_version, version, test_passed, test_summary, request) \
                     VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7, $8, $9, $10, $11, $12) \
                     RETURNING {PROPOSAL_COLUMNS}"
                ))
                .bind(p.kind.code())
                .bind(&p.subject)
                .bind(&p.body)
                .bind(&p.note)
                .bind(&p.url_hash)
                .bind(&p.proposed_by)
                .bind(p.proposed_at.as_millis())
                .bind(&p.base_version)
                .bind(&p.version)
                .bind(p.test_passed)
                .bind(&p.test_summary)
                .bind(&p.request)
                .fetch_one(&mut *tx)
                .await?;
                let proposal = Proposal::try_from(row)?;
                let mut entry = audit.entry.clone();
                entry.target = format!("proposal:{}", proposal.id);
                append_audit_in(&mut tx, Audited { entry: &entry, signer: audit.signer }).await?;
                tx.commit().await?;
                Ok(proposal)
            }

            async fn get_proposal(&self, id: ProposalId) -> $crate::Result<Proposal> {
                let row: Option<ProposalRow> =
                    sqlx::query_as(&format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE id = $1"))
                        .bind(id.0)
                        .fetch_optional(self.console_read())
                        .await?;
                row.ok_or_else(|| $crate::StoreError::not_found("proposal"))?.try_into()
            }

            async fn list_proposals(&self, states: &[ProposalState], limit: u32) -> $crate::Result<Vec<Proposal>> {
                let filter = if states.is_empty() { String::new() } else { format!("WHERE {}", states_in(states)) };
                let rows: Vec<ProposalRow> = sqlx::query_as(&format!(
                    "SELECT {PROPOSAL_COLUMNS} FROM proposals {filter} ORDER BY id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(self.console_read())
                .await?;
                rows.into_iter().map(Proposal::try_from).collect()
            }

            async fn sign_proposal(
                &self,
                id: ProposalId,
                s: &NewSignature,
                audit: Audited<'_>,
            ) -> $crate::Result<(Proposal, Vec<ProposalSignature>)> {
                let mut tx = self.console_begin().await?;
                let current = proposal_in(&mut tx, id).await?;
                // The key's owner first (a key signed with from another account is named as
                // such); binding a new key to this account is undone with the transaction
                // when a check below refuses the signature.
                let owner: Option<(i64,)> = sqlx::query_as("SELECT account_id FROM publisher_keys WHERE keyid = $1")
                    .bind(&s.keyid)
                    .fetch_optional(&mut *tx)
                    .await?;
                match owner {
                    Some((account,)) if account != s.account.0 => {
                        return Err($crate::StoreError::conflict(
                            "this key belongs to another publisher's account; sign with your own key",
                        ));
                    }
                    Some(_) => {}
                    None => {
                        sqlx::query("INSERT INTO publisher_keys (keyid, account_id, first_used) VALUES ($1, $2, $3)")
                            .bind(&s.keyid)
                            .bind(s.account.0)
                            .bind(s.at.as_millis())
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let already: Option<(String, i64)> = sqlx::query_as(
                    "SELECT keyid, account_id FROM proposal_signatures WHERE proposal_id = $1 \
                     AND (account_id = $2 OR keyid = $3)",
                )
                .bind(id.0)
                .bind(s.account.0)
                .bind(&s.keyid)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((keyid, account)) = already {
                    return Err($crate::StoreError::conflict(if account == s.account.0 {
                        "you have already signed this proposal; a second, different publisher must sign".to_owned()
                    } else {
                        format!("key {keyid} has already signed this proposal; each publisher signs with their own key")
                    }));
                }
                let (from, to) = match current.state {
                    ProposalState::Proposed => (ProposalState::Proposed, ProposalState::Approved),
                    ProposalState::Approved => (ProposalState::Approved, ProposalState::Deploying),
                    other => {
                        return Err($crate::StoreError::conflict(format!("the proposal is {other}: nothing to sign")));
                    }
                };
                sqlx::query(&format!(
                    "INSERT INTO proposal_signatures ({SIGNATURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(id.0)
                .bind(s.account.0)
                .bind(&s.actor)
                .bind(&s.keyid)
                .bind(&s.signatures)
                .bind(s.at.as_millis())
                .execute(&mut *tx)
                .await?;
                let moved = if to == ProposalState::Approved {
                    sqlx::query(
                        "UPDATE proposals SET state = $1, approved_by = $2, approved_at = $3 \
                         WHERE id = $4 AND state = $5",
                    )
                    .bind(to.code())
                    .bind(&s.actor)
                    .bind(s.at.as_millis())
                    .bind(id.0)
                    .bind(from.code())
                    .execute(&mut *tx)
                    .await?
                } else {
                    sqlx::query("UPDATE proposals SET state = $1 WHERE id = $2 AND state = $3")
                        .bind(to.code())
                        .bind(id.0)
                        .bind(from.code())
                        .execute(&mut *tx)
                        .await?
                };
                if moved.rows_affected() != 1 {
                    return Err($crate::StoreError::conflict("the proposal changed meanwhile; reload it"));
                }
                append_audit_in(&mut tx, audit).await?;
                let proposal = proposal_in(&mut tx, id).await?;
                let rows: Vec<SignatureRow> = sqlx::query_as(&format!(
                    "SELECT {SIGNATURE_COLUMNS} FROM proposal_signatures WHERE proposal_id = $1 ORDER BY signed_at, keyid"
                ))
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok((proposal, rows.into_iter().map(ProposalSignature::from).collect()))
            }

            async fn proposal_signatures(&self, id: ProposalId) -> $crate::Result<Vec<ProposalSignature>> {
                let rows: Vec<SignatureRow> = sqlx::query_as(&format!(
                    "SELECT {SIGNATURE_COLUMNS} FROM proposal_signatures WHERE proposal_id = $1 ORDER BY signed_at, keyid"
                ))
                .bind(id.0)
                .fetch_all(self.console_read())
                .await?;
                Ok(rows.into_iter().map(ProposalSignature::from).collect())
            }

            async fn finish_proposal(
                &self,
                id: ProposalId,
                finish: $crate::proposals::Finish<'_>,
                audit: Audited<'_>,
            ) -> $crate::Result<Proposal> {
                let $crate::proposals::Finish { from, to, by, at, outcome } = finish;
                let mut tx = self.console_begin().await?;
                let current = proposal_in(&mut tx, id).await?;
                if from.is_empty() || !from.contains(&current.state) {
                    return Err($crate::StoreError::conflict(format!("the proposal is {}", current.state)));
                }
                let moved = sqlx::query(&format!(
                    "UPDATE proposals SET state = $1, finished_by = $2, finished_at = $3, outcome = $4 \
                     WHERE id = $5 AND {}",
                    states_in(from)
                ))
                .bind(to.code())
                .bind(by)
                .bind(at.as_millis())
                .bind(outcome)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if moved.rows_affected() != 1 {
                    return Err($crate::StoreError::conflict("the proposal changed meanwhile; reload it"));
                }
                append_audit_in(&mut tx, audit).await?;
                let proposal = proposal_in(&mut tx, id).await?;
                tx.commit().await?;
                Ok(proposal)
            }
        }
    };
}

pub(crate) use proposal_store;
