//! `ferretwatch admin …`: administration from the command line. For now, admin API
//! tokens: `admin token create --role viewer` prints a new token once; the database keeps
//! only its SHA-256.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_store::{NewToken, StoreOptions, TokenName, TokenRole};
use ferretwatch_types::Timestamp;

use super::{bad_input, fail};

/// Admin commands.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Admin API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

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

/// Runs an admin command.
pub fn run(command: AdminCommand) -> ExitCode {
    match command {
        AdminCommand::Token(TokenCommand::Create { role, name, db, config }) => create(&role, name, db, config),
    }
}

fn create(role: &str, name: Option<String>, db: Option<String>, config: Option<PathBuf>) -> ExitCode {
    let role = match TokenRole::parse(role) {
        Ok(role) => role,
        Err(e) => return bad_input("invalid_role", e, false),
    };
    let now = Timestamp::now();
    let name = name.unwrap_or_else(|| format!("{}-{}", role.code(), now.as_millis() / 1000));
    let name = match TokenName::parse(&name) {
        Ok(name) => name,
        Err(e) => return bad_input("invalid_name", e, false),
    };
    let settings = match super::serve::settings(config.as_deref(), db) {
        Ok(settings) => settings,
        Err(e) => return bad_input("invalid_config", e, false),
    };
    let url = settings.db_url();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail("runtime", e, false),
    };
    let issued = runtime.block_on(async {
        let store = ferretwatch_store::open(&url, &StoreOptions::default()).await?;
        let issued = store.create_token(&NewToken { name, role, created_at: now }).await;
        store.close().await;
        issued
    });
    match issued {
        Ok(issued) => {
            // The secret goes to standard output only, once; the note to standard error.
            println!("{}", issued.expose_secret());
            eprintln!(
                "created {} token {:?} (id {}); it is shown only now: store it in your secret manager",
                issued.record.role, issued.record.name, issued.record.id
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == ferretwatch_store::ErrorKind::Conflict => {
            bad_input("name_taken", format!("an active token is already named that ({e})"), false)
        }
        Err(e) => fail("token_failed", e, false),
    }
}
