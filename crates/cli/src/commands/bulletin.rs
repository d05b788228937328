//! `ferretwatch bulletin create | sign | verify | publish`: signed active-campaign
//! bulletins (`docs/formats/bulletin.md`), two publishers as for packs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ferretwatch_pack_client::bulletin::{verify_bulletin, Severity};
use ferretwatch_pack_client::dir::write_atomic;
use ferretwatch_pack_client::trust::verify::VerifyError;
use ferretwatch_pack_publisher::bulletin::{add_signature, create, publish_bulletin, sign_new, BulletinSpec};
use ferretwatch_pack_publisher::origin::Origin;
use ferretwatch_types::Timestamp;

use crate::clock::{self, parse_instant};
use crate::error::{CliError, Failure};
use crate::input::{read_input, read_keys, read_root, root_for_signers};
use crate::output::{self, Format, Report};

/// Bulletin commands.
#[derive(Subcommand)]
pub enum BulletinCommand {
    /// Write a signed bulletin (and publish it with --to once it carries enough signatures).
    Create(Box<CreateArgs>),
    /// Add this publisher's signature to a bulletin file.
    Sign(SignArgs),
    /// Verify a bulletin file as a client does; the exit status names the refusal (40–50).
    Verify(VerifyArgs),
    /// Upload a fully signed bulletin and list it in bulletins/index.json.
    Publish(PublishArgs),
}

/// `bulletin create`.
#[derive(Args)]
pub struct CreateArgs {
    /// low, medium, high or critical.
    #[arg(long)]
    pub severity: Severity,
    /// The advisory text (at most 1000 characters).
    #[arg(long)]
    pub message: String,
    /// Brands the campaign impersonates (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub brands: Vec<String>,
    /// Registrable domains (eTLD+1) where the advisory shows (comma-separated or repeated).
    #[arg(long = "etld1", value_delimiter = ',')]
    pub etld1: Vec<String>,
    /// Time to live: N followed by m, h or d (5m to 30d).
    #[arg(long, default_value = "24h", value_parser = parse_ttl)]
    pub ttl: u64,
    /// Locales it is written for.
    #[arg(long, value_delimiter = ',', default_value = "en")]
    pub locales: Vec<String>,
    /// https links to the genuine sites (repeatable).
    #[arg(long = "safe-link")]
    pub safe_links: Vec<String>,
    /// The id (default: generated from the time and random bits).
    #[arg(long)]
    pub id: Option<String>,
    /// The version; a reissue of an id needs a higher one.
    #[arg(long, default_value_t = 1)]
    pub version: u64,
    /// The most times a client shows it per day.
    #[arg(long, default_value_t = 1)]
    pub frequency_cap: u32,
    /// The oldest extension version that shows it.
    #[arg(long, default_value = "0.1.0")]
    pub min_ext_version: String,
    /// Publisher private key(s); two for threshold 2 (or collect the second with `bulletin sign`).
    #[arg(long = "key", env = "FERRETWATCH_SIGNING_KEY", value_delimiter = ',', required = true)]
    pub keys: Vec<PathBuf>,
    /// The root of trust (keys are checked against it; required to publish).
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// Directory the bulletin file is written to.
    #[arg(long, default_value = "bulletins")]
    pub out: PathBuf,
    /// Publish to this origin once signed (file:///DIR, a directory or s3://BUCKET[/PREFIX]).
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub to: Option<String>,
}

/// `bulletin sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The bulletin file.
    pub file: PathBuf,
    /// This publisher's private key.
    #[arg(long, env = "FERRETWATCH_SIGNING_KEY")]
    pub key: PathBuf,
}

/// `bulletin verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The bulletin file.
    pub file: PathBuf,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
    /// Verify as of this instant (RFC 3339 UTC or Unix seconds) instead of now.
    #[arg(long, value_parser = parse_instant)]
    pub now: Option<Timestamp>,
}

/// `bulletin publish`.
#[derive(Args)]
pub struct PublishArgs {
    /// The signed bulletin file.
    pub file: PathBuf,
    /// The origin.
    #[arg(long, env = "FERRETWATCH_ORIGIN")]
    pub to: String,
    /// The root of trust.
    #[arg(long, env = "FERRETWATCH_ROOT", default_value = "root.json")]
    pub root: PathBuf,
}

/// A time to live that is not N followed by m, h or d.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: want N followed by m, h or d")]
pub struct TtlError(String);

fn parse_ttl(text: &str) -> Result<u64, TtlError> {
    let bad = || TtlError(text.chars().take(32).collect());
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "m" => 60,
        "h" | "" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(number.saturating_mul(unit))
}

/// Runs a bulletin command.
pub fn run(command: BulletinCommand) -> ExitCode {
    match command {
        BulletinCommand::Create(args) => run_create(*args),
        BulletinCommand::Sign(args) => run_sign(args),
        BulletinCommand::Verify(args) => run_verify(args),
        BulletinCommand::Publish(args) => run_publish(args),
    }
}

fn run_create(args: CreateArgs) -> ExitCode {
    output::run(Format::Text, Some("bulletin"), || {
        let mut spec = BulletinSpec::new(args.severity, args.message.clone(), clock::now(None));
        spec.id = args.id.clone();
        spec.version = args.version;
        spec.ttl = args.ttl;
        spec.locales = args.locales.clone();
        spec.brands = args.brands.clone();
        spec.etld_plus1 = args.etld1.clone();
        spec.safe_links = args.safe_links.clone();
        spec.frequency_cap = args.frequency_cap;
        spec.min_ext_version = args.min_ext_version.clone();
        let bulletin = create(spec)?;
        let keys = read_keys(&args.keys)?;
        let root = if args.to.is_some() || args.root.is_file() { Some(read_root(&args.root)?) } else { None };
        let mut threshold = None;
        if let Some(root) = &root {
            let parsed = root_for_signers(&args.root, root)?;
            for key in &keys {
                parsed.check_signer(&key.public().key_id(), &["targets"])?;
            }
            threshold = Some(parsed.threshold("targets"));
        }
        let envelope = sign_new(&bulletin, &keys)?;
        let bytes = envelope.to_bytes();
        let path = args.out.join(bulletin.file_name());
        std::fs::create_dir_all(&args.out)
            .and_then(|()| write_atomic(&path, &bytes))
            .map_err(|e| CliError::failed("io", format!("writing {}: {e}", path.display())))?;
        let signatures = envelope.signatures.len();
        let made = format!(
            "bulletin {} ({}, expires {}) → {} ({signatures}{} signature(s))",
            bulletin.id,
            bulletin.severity,
            bulletin.expires,
            path.display(),
            threshold.map(|n| format!(" of {n}")).unwrap_or_default()
        );
        let (Some(to), Some(root)) = (&args.to, &root) else { return Ok(Report::text(made)) };
        output::emit(Format::Text, &Report::text(made));
        if threshold.is_some_and(|n| (signatures as u64) < u64::from(n)) {
            output::note(format!(
                "not published yet: a second publisher signs it with `ferretwatch bulletin sign {} --key \
                 THEIR.key`, then `ferretwatch bulletin publish {} --to {to}`",
                path.display(),
                path.display()
            ));
            let threshold = threshold.unwrap_or_default();
            return Err(VerifyError::TooFewSignatures {
                file: path.display().to_string(),
                role: "targets".into(),
                valid: signatures,
                threshold,
            }
            .into());
        }
        publish(to, &bytes, root)
    })
}

fn publish(to: &str, bytes: &[u8], root: &[u8]) -> Result<Report, Failure> {
    let origin = Origin::open(to)?;
    let name = publish_bulletin(&origin, bytes, root, clock::now(None))?;
    Ok(Report::text(format!("published {name} to {}", origin.url())))
}

fn run_sign(args: SignArgs) -> ExitCode {
    output::run(Format::Text, None, || {
        let bytes = read_input(&args.file)?;
        let key = read_keys(std::slice::from_ref(&args.key))?.remove(0);
        let envelope = add_signature(&bytes, &key)?;
        write_atomic(&args.file, &envelope.to_bytes())
            .map_err(|e| CliError::failed("io", format!("writing {}: {e}", args.file.display())))?;
        Ok(Report::text(format!(
            "{}: signed by {}; {} signature(s)",
            args.file.display(),
            key.public().key_id(),
            envelope.signatures.len()
        )))
    })
}

fn run_verify(args: VerifyArgs) -> ExitCode {
    let subject = args.file.display().to_string();
    output::run(Format::Text, Some(&subject), || {
        let bytes = read_input(&args.file)?;
        let bulletin = verify_bulletin(&bytes, &read_root(&args.root)?, clock::now(args.now))?;
        Ok(Report::text(format!(
            "ok: bulletin {} version {} ({}) verified; expires {}; {}",
            bulletin.id, bulletin.version, bulletin.severity, bulletin.expires, bulletin.advisory_text
        )))
    })
}

fn run_publish(args: PublishArgs) -> ExitCode {
    let subject = args.file.display().to_string();
    output::run(Format::Text, Some(&subject), || {
        let bytes = read_input(&args.file)?;
        publish(&args.to, &bytes, &read_root(&args.root)?)
    })
}
