//! Errors with stable codes, so that `--format json` output can be matched by machines.

use ferretwatch_types::Coded;
use thiserror::Error;

/// The rule set could not be used.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RulesError {
    /// The JSON is malformed or has an unknown or mistyped field.
    #[error("rules.json: {0}")]
    Json(String),
    /// The JSON parsed but a value is out of range or inconsistent.
    #[error("rules.json: {0}")]
    Invalid(String),
    /// A YARA rule source does not compile.
    #[error("YARA rules: {0}")]
    Yara(String),
}

impl RulesError {
    pub(crate) fn from_json(err: serde_json::Error) -> Self {
        RulesError::Json(err.to_string())
    }
}

impl Coded for RulesError {
    fn code(&self) -> &'static str {
        match self {
            RulesError::Json(_) => "rules_json",
            RulesError::Invalid(_) => "rules_invalid",
            RulesError::Yara(_) => "yara_compile",
        }
    }
}

/// The page input could not be scanned.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum InputError {
    /// The URL does not parse.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The URL parses but is not http(s) or has no host.
    #[error("unsupported URL: {0}")]
    UnsupportedUrl(String),
}

impl Coded for InputError {
    fn code(&self) -> &'static str {
        match self {
            InputError::InvalidUrl(_) => "invalid_url",
            InputError::UnsupportedUrl(_) => "unsupported_url",
        }
    }
}
