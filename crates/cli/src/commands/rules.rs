//! `ferretwatch rules …`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use ferretwatch_detect::{Engine, Rules};

use super::{bad_input, read_input};

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
}

/// Runs a rules command.
pub fn run(command: RulesCommand) -> ExitCode {
    match command {
        RulesCommand::Default => {
            println!("{}", Rules::builtin().to_json_pretty());
            ExitCode::SUCCESS
        }
        RulesCommand::Check { file } => match load_rules(&file) {
            Ok(rules) => {
                println!(
                    "{}: ok (version {}, {} brands, {} keywords)",
                    file.display(),
                    rules.version,
                    rules.brands.len(),
                    rules.keywords.len()
                );
                ExitCode::SUCCESS
            }
            Err((code, message)) => bad_input(code, message, false),
        },
    }
}

/// Reads, parses and compiles a rules file into an engine-ready rule set.
pub fn load_rules(file: &std::path::Path) -> Result<Rules, (&'static str, String)> {
    let bytes = read_input(file).map_err(|e| ("io", format!("{}: {e}", file.display())))?;
    let text = String::from_utf8(bytes).map_err(|_| ("rules_json", format!("{}: not UTF-8", file.display())))?;
    let rules = Rules::from_json(&text).map_err(|e| (e.code(), format!("{}: {e}", file.display())))?;
    Engine::new(rules.clone()).map_err(|e| (e.code(), e.to_string()))?;
    Ok(rules)
}
