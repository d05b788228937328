//! Errors the command line raises itself (an unreadable input file, a bad combination of
//! flags), and [`Failure`]: any coded error, which is what a command returns when it
//! fails.

use ferretwatch_types::{Coded, Fault};

/// An error of the command line itself, with a stable code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    code: &'static str,
    message: String,
    fault: Fault,
}

impl CliError {
    /// Bad input: exit status 2.
    pub fn input(code: &'static str, message: impl Into<String>) -> Self {
        CliError { code, message: message.into(), fault: Fault::Input }
    }

    /// A failed operation: exit status 1.
    pub fn failed(code: &'static str, message: impl Into<String>) -> Self {
        CliError { code, message: message.into(), fault: Fault::Operation }
    }
}

impl Coded for CliError {
    fn code(&self) -> &'static str {
        self.code
    }

    fn fault(&self) -> Fault {
        self.fault
    }
}

/// Any coded error: what a command returns when it fails. `?` turns every library error
/// into one.
pub struct Failure(pub Box<dyn Coded + Send + Sync>);

impl<E: Coded + Send + Sync + 'static> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure(Box::new(error))
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code(), self.0)
    }
}
