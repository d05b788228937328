//! `ferretwatch rules …`: the built-in rule set, and checking a `rules.json`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_detect::{Engine, Rules, RulesError};

use crate::error::{CliError, Failure};
use crate::input::read_input;
use crate::output::{self, Format, Report};

/// Rule set commands.
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Print the built-in default rule set as rules.json.
    Default,
    /// Check a rules.json file (unknown fields, ranges, domains) and compile it.
    Check {
        /// The file to check (`-` for standard input).
        file: PathBuf,
    },
    /// Print the perceptual hash of favicons or logos (ICO, PNG, GIF, JPEG, BMP), as a
    /// brand's `favicon_phashes` lists them: `HASH  FILE` per line.
    Phash {
        /// The image files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a rules command.
pub fn run(command: RulesCommand) -> ExitCode {
    output::run(Format::Text, None, || match command {
        RulesCommand::Default => Ok(Report::text(Rules::builtin().to_json_pretty())),
        RulesCommand::Check { file } => {
            let rules = load_rules(&file)?;
            Ok(Report::text(format!(
                "{}: ok (version {}, {} brands, {} keywords)",
                file.display(),
                rules.version,
                rules.brands.len(),
                rules.keywords.len()
            )))
        }
        RulesCommand::Phash { files } => {
            let mut lines = Vec::new();
            for file in &files {
                let bytes = read_input(file)?;
                let hash = ferretwatch_detect::rules::favicon_phash(&bytes).ok_or_else(|| {
                    CliError::input("image_invalid", format!("{}: not an image this build decodes", file.display()))
                })?;
                lines.push(format!("{hash:016x}  {}", file.display()));
            }
            Ok(Report::text(lines.join("\n")))
        }
    })
}

/// Reads, parses and compiles a rules file into an engine-ready rule set. Errors name the
/// file.
pub fn load_rules(file: &Path) -> Result<Rules, Failure> {
    let bytes = read_input(file)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::input("rules_json", format!("{}: not UTF-8", file.display())))?;
    let named = |e: RulesError| match e {
        RulesError::Json(why) => RulesError::Json(format!("{}: {why}", file.display())),
        RulesError::Invalid(why) => RulesError::Invalid(format!("{}: {why}", file.display())),
        other => other,
    };
    let rules = Rules::from_json(&text).map_err(named)?;
    Engine::new(rules.clone())?;
    Ok(rules)
}
