//! `ferretwatch pack …`: the runbook's pack procedures, one file each: build, validate,
//! test (the pre-publish gate), delta, sign, sign-request, verify, deploy, rollback, emergency.

mod build;
mod delta;
mod deploy;
mod emergency;
mod rollback;
mod sign;
mod sign_request;
mod test;
mod timestamp;
mod validate;
mod verify;

use std::process::ExitCode;

pub use deploy::{deploy_when_signed, OnlineArgs};

use clap::Subcommand;

/// Pack commands.
#[derive(Subcommand)]
pub enum PackCommand {
    /// Build a pack: rules, reputation filters, YARA sources and manifest.json.
    Build(Box<build::BuildArgs>),
    /// Add this publisher's signature (two publishers sign in turn; see docs/formats/signing.md).
    Sign(sign::SignArgs),
    /// Sign a signing request the admin console offers, offline, with this publisher's key;
    /// prints the answer to paste back.
    SignRequest(sign_request::SignRequestArgs),
    /// Verify a pack as a client does; the exit status names the refusal (40–50).
    Verify(verify::VerifyArgs),
    /// Check a built pack: schema, hashes, sizes, rules, YARA, filters (exit 1 lists every problem).
    Validate(validate::ValidateArgs),
    /// Scan the corpus with a pack: detection and false-positive rates, per family, against the previous pack.
    Test(test::TestArgs),
    /// Write the intel delta from a base pack to a newer one (clients patch their filters with it).
    Delta(delta::DeltaArgs),
    /// Verify a signed pack, then upload it to the origin: files first, timestamp.json last, history kept.
    Deploy(deploy::DeployArgs),
    /// Renew the origin's timestamp.json with the online timestamp key (the service does
    /// this by itself with server.online_key).
    Timestamp(timestamp::TimestampArgs),
    /// Republish a deployed version's content under a new, higher version.
    Rollback(rollback::RollbackArgs),
    /// Build, sign and deploy the current pack plus one YARA rule in one step.
    Emergency(emergency::EmergencyArgs),
}

/// Runs a pack command.
pub fn run(command: PackCommand) -> ExitCode {
    match command {
        PackCommand::Build(args) => build::run(*args),
        PackCommand::Sign(args) => sign::run(args),
        PackCommand::SignRequest(args) => sign_request::run(args),
        PackCommand::Verify(args) => verify::run(args),
        PackCommand::Validate(args) => validate::run(args),
        PackCommand::Test(args) => test::run(args),
        PackCommand::Delta(args) => delta::run(args),
        PackCommand::Deploy(args) => deploy::run(args),
        PackCommand::Timestamp(args) => timestamp::run(args),
        PackCommand::Rollback(args) => rollback::run(args),
        PackCommand::Emergency(args) => emergency::run(args),
    }
}
