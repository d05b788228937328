//! `admin token create --role viewer`: a new admin API token, printed once; the database
//! keeps only its SHA-256.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_store::{ErrorKind, NewToken, StoreOptions, TokenName, TokenRole};
use ferretwatch_types::Timestamp;

use crate::error::{CliError, Failure};
use crate::output::{self, Format, Report};

/// Token commands.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        /// viewer, reviewer, publisher, admin or auditor.
        #[arg(long)]
        role: String,
        /// A unique name among active tokens (default ROLE-SECONDS).
        #[arg(long)]
        name: Option<String>,
        /// The database (sqlite://PATH or postgres://…); default: the server's setting.
        #[arg(long)]
        db: Option<String>,
        /// The server's configuration file, for its database setting.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Runs a token command.
pub fn run(command: TokenCommand) -> ExitCode {
    match command {
        TokenCommand::Create { role, name, db, config } => create(&role, name, db, config),
    }
}

fn create(role: &str, name: Option<String>, db: Option<String>, config: Option<PathBuf>) -> ExitCode {
    output::run(Format::Text, None, || {
        let role = TokenRole::parse(role).map_err(|e| CliError::input("invalid_role", e.to_string()))?;
        let now = Timestamp::now();
        let name = name.unwrap_or_else(|| format!("{}-{}", role.code(), now.as_secs()));
        let name = TokenName::parse(&name).map_err(|e| CliError::input("invalid_name", e.to_string()))?;
        let url = super::super::serve::settings(config.as_deref(), db)?.db_url();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::failed("runtime", e.to_string()))?;
        let issued = runtime.block_on(async {
            let store = ferretwatch_store::open(&url, &StoreOptions::default()).await?;
            let issued = store.create_token(&NewToken { name, role, created_at: now }).await;
            store.close().await;
            issued
        });
        let issued = issued.map_err(|e| -> Failure {
            match e.kind() {
                ErrorKind::Conflict => {
                    CliError::input("name_taken", format!("an active token is already named that ({e})"))
                }
                _ => CliError::failed("token_failed", e.to_string()),
            }
            .into()
        })?;
        // The secret goes to standard output only, once; the note to standard error.
        output::note(format!(
            "created {} token {:?} (id {}); it is shown only now: store it in your secret manager",
            issued.record.role, issued.record.name, issued.record.id
        ));
        Ok(Report::text(issued.expose_secret()))
    })
}
