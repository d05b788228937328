//! Storage for rule and bulletin proposals: what the console staged, the publishers'
//! signatures, and each change of state, every write with its audit entry in the same
//! transaction. A supertrait of [`crate::Store`], implemented for both backends from one
//! body of SQL in `proposal_sql.rs`.
//!
//! The two-person rule is kept by the database as well as by the server: one signature
//! per account and per key on a proposal (primary and unique keys), and a key belongs to
//! the first account that signed with it (`publisher_keys`). State changes are
//! compare-and-set (`UPDATE … WHERE state = …`), so two publishers signing at once cannot
//! both start a deploy.

use async_trait::async_trait;
use ferretwatch_types::Timestamp;

use crate::console::Audited;
use crate::model::{AccountId, NewProposal, Proposal, ProposalId, ProposalSignature, ProposalState};
use crate::Result;

/// What [`ProposalStore::sign_proposal`] stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSignature {
    /// The signing account.
    pub account: AccountId,
    /// Its email.
    pub actor: String,
    /// The key's id.
    pub keyid: String,
    /// The checked response (JSON).
    pub signatures: String,
    /// When.
    pub at: Timestamp,
}

/// What [`ProposalStore::finish_proposal`] records: the move from one of `from` to `to`
/// (a final state), who made it, when, and what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finish<'a> {
    /// The states it may leave.
    pub from: &'a [ProposalState],
    /// The final state.
    pub to: ProposalState,
    /// Who.
    pub by: &'a str,
    /// When.
    pub at: Timestamp,
    /// The deployed version, the failure, the reason for rejecting.
    pub outcome: &'a str,
}

/// Proposal storage (see the module documentation).
#[async_trait]
pub trait ProposalStore: Send + Sync {
    /// Stores a staged proposal in state `proposed`.
    async fn create_proposal(&self, proposal: &NewProposal, audit: Audited<'_>) -> Result<Proposal>;

    /// One proposal.
    async fn get_proposal(&self, id: ProposalId) -> Result<Proposal>;

    /// Proposals, newest first: those in `states` (all when empty), at most `limit`.
    async fn list_proposals(&self, states: &[ProposalState], limit: u32) -> Result<Vec<Proposal>>;

    /// Adds a publisher's signature and moves the proposal on: from `proposed` to
    /// `approved` (the first signature), from `approved` to `deploying` (the second, by
    /// another account with another key). Conflict when the account or the key already
    /// signed it, when the key belongs to another account, or when the proposal is in
    /// any other state.
    async fn sign_proposal(
        &self,
        id: ProposalId,
        signature: &NewSignature,
        audit: Audited<'_>,
    ) -> Result<(Proposal, Vec<ProposalSignature>)>;

    /// The signatures on a proposal, oldest first.
    async fn proposal_signatures(&self, id: ProposalId) -> Result<Vec<ProposalSignature>>;

    /// Moves a proposal as `finish` says. Conflict when it is in no state of `finish.from`.
    async fn finish_proposal(&self, id: ProposalId, finish: Finish<'_>, audit: Audited<'_>) -> Result<Proposal>;
}
