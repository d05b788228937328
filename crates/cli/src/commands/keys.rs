//! `ferretwatch keys …`: publisher signing keys.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_pack_publisher::keys::PrivateKey;

use crate::error::CliError;
use crate::output::{self, Format, Report};

/// Key commands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Generate an ed25519 publisher key: writes OUT.key (private, mode 0600, never
    /// overwritten) and OUT.pub (the public key object for root.json), prints the key id.
    Generate {
        /// Path prefix of the two files, e.g. `keys/alice`.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs a keys command.
pub fn run(command: KeysCommand) -> ExitCode {
    match command {
        KeysCommand::Generate { out } => output::run(Format::Text, None, || {
            let (private, public) = (with_ext(&out, "key"), with_ext(&out, "pub"));
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CliError::input("io", format!("creating {}: {e}", dir.display())))?;
            }
            let key = PrivateKey::generate()?;
            key.write_private(&private, false)?;
            std::fs::write(&public, key.public_json())
                .map_err(|e| CliError::input("io", format!("writing {}: {e}", public.display())))?;
            output::note(format!(
                "wrote {} (private: keep it offline, never share it) and {}",
                private.display(),
                public.display()
            ));
            Ok(Report::text(key.public().key_id()))
        }),
    }
}

fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}
