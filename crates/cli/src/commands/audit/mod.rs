//! `ferretwatch audit …`: the console's audit log, checked and exported
//! (`docs/formats/audit.md`).
//!
//! - `verify` walks the whole log through the store's `ChainCheck`: every link, every
//!   hash, every signature. Removing the newest entries leaves a valid, shorter chain, so
//!   `--expect-head SEQ:HASH` (a head printed by an earlier run or export) catches that.
//! - `export` writes entries as JSON lines with a signed trailer to a directory or bucket.
//! - `verify-export` checks such a file offline.
//!
//! Each exits 1 (the exit table's "a gate did not pass") when it finds a problem.

mod export;
mod verify;
mod verify_export;

pub use export::signed_export;

use std::process::ExitCode;

use clap::Subcommand;

/// Audit log commands.
#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain: links, hashes, signatures and, with --expect-head, the head.
    Verify(verify::VerifyArgs),
    /// Write the entries as signed JSON lines to file:///DIR, a directory or s3://BUCKET/PREFIX.
    Export(export::ExportArgs),
    /// Check an export offline: its chain, every signature, the trailer's digest and signature.
    VerifyExport(verify_export::VerifyExportArgs),
}

/// Runs an audit command.
pub fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Verify(args) => verify::run(args),
        AuditCommand::Export(args) => export::run(args),
        AuditCommand::VerifyExport(args) => verify_export::run(args),
    }
}

/// Entries read per query.
const PAGE: u32 = 1000;
