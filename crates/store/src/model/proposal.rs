//! Rule and bulletin proposals of the admin console and the publishers' signatures on them
//! (`docs/formats/store.md`, "Proposals"). The store keeps what the console staged (the
//! signing request) and who signed it with which key; it never holds a private key.

use std::fmt;

use ferretwatch_types::Timestamp;

use super::console::AccountId;

/// A proposal's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProposalId(pub i64);

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! codes {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored code.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// The value for a stored code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some(Self::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

codes! {
    /// What a proposal changes.
    ProposalKind {
        /// Warn on a host (and its subdomains) or an IP address.
        BlockHost = "block_host",
        /// Warn on one URL.
        BlockUrl = "block_url",
        /// Never warn on a domain through reputation or look-alike signals.
        AllowDomain = "allow_domain",
        /// Take a URL off the console's blocklist.
        AllowUrl = "allow_url",
        /// Ship a YARA rule.
        Yara = "yara",
        /// Broadcast a signed bulletin.
        Bulletin = "bulletin",
        /// Republish an earlier version's content under a new version.
        Rollback = "rollback",
    }
}

codes! {
    /// Where a proposal is in its life.
    ProposalState {
        /// Staged and tested; no publisher has signed.
        Proposed = "proposed",
        /// A first publisher approved it with their signature.
        Approved = "approved",
        /// A second publisher signed; the server is deploying it.
        Deploying = "deploying",
        /// Deployed to the origin.
        Deployed = "deployed",
        /// The deploy failed (the outcome says why); propose again.
        Failed = "failed",
        /// Refused before deployment.
        Rejected = "rejected",
    }
}

impl ProposalKind {
    /// Whether the change is a bulletin (signed as a bulletin, not as a pack).
    pub fn is_bulletin(self) -> bool {
        self == Self::Bulletin
    }
}

impl ProposalState {
    /// Whether nothing more can happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Deployed | Self::Failed | Self::Rejected)
    }
}

/// A proposal as the console stages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProposal {
    /// What it changes.
    pub kind: ProposalKind,
    /// The domain, URL, rule id, bulletin headline or version it is about.
    pub subject: String,
    /// The details as JSON (a YARA source, a bulletin's fields).
    pub body: String,
    /// Why, in the proposer's words.
    pub note: String,
    /// The reported URL it came from (hex of the URL hash), if any.
    pub url_hash: Option<String>,
    /// The proposer (the audit log's actor).
    pub proposed_by: String,
    /// When.
    pub proposed_at: Timestamp,
    /// The pack version it was built on, for pack changes.
    pub base_version: Option<String>,
    /// The version it will be deployed as, for pack changes.
    pub version: Option<String>,
    /// Whether `pack test` passed (`None`: not run, for bulletins or without a corpus).
    pub test_passed: Option<bool>,
    /// What `pack validate` and `pack test` said.
    pub test_summary: String,
    /// The signing request publishers sign (JSON).
    pub request: String,
}

/// A stored proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Its id.
    pub id: ProposalId,
    /// As staged.
    pub staged: NewProposal,
    /// Where it is.
    pub state: ProposalState,
    /// The publisher who approved it (the first signature).
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<Timestamp>,
    /// Who deployed, failed or rejected it.
    pub finished_by: Option<String>,
    /// When.
    pub finished_at: Option<Timestamp>,
    /// What happened: the deployed version, the failure, the reason for rejecting.
    pub outcome: Option<String>,
}

/// A publisher's signature on a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalSignature {
    /// The proposal.
    pub proposal: ProposalId,
    /// The signing account.
    pub account: AccountId,
    /// Its email (the audit log's actor).
    pub actor: String,
    /// The key's id.
    pub keyid: String,
    /// The signature response (JSON), as checked.
    pub signatures: String,
    /// When.
    pub signed_at: Timestamp,
}
