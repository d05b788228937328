//! `ferretwatch keys …`: publisher signing keys.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_pack::trust::keys::PrivateKey;

use super::bad_input;

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
        KeysCommand::Generate { out } => match generate(&out) {
            Ok(id) => {
                println!("{id}");
                eprintln!(
                    "ferretwatch: wrote {} (private: keep it offline, never share it) and {}",
                    with_ext(&out, "key").display(),
                    with_ext(&out, "pub").display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => bad_input("key_generate_failed", format!("{e:#}"), false),
        },
    }
}

fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

fn generate(out: &Path) -> anyhow::Result<String> {
    use anyhow::Context;
    let key = PrivateKey::generate()?;
    let public = key.public();
    let (private_path, public_path) = (with_ext(out, "key"), with_ext(out, "pub"));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&private_path)
        .with_context(|| format!("creating {} (an existing key is never overwritten)", private_path.display()))?;
    file.write_all(key.to_json().as_bytes())?;
    file.sync_all()?;
    let mut text = serde_json::to_string_pretty(&public)?;
    text.push('\n');
    std::fs::write(&public_path, text).with_context(|| format!("writing {}", public_path.display()))?;
    Ok(public.key_id())
}
