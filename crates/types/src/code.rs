//! Error codes: every error a user can see has a stable code (for `--format json`, logs,
//! metrics labels and API bodies) and says whose fault it is.

/// Whose fault an error is: the input's, or the operation's. The command line maps it to
/// an exit status (2 or 1), the service to an HTTP status class (4xx or 5xx).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The input is wrong (an argument, a file, a request body); retrying it unchanged
    /// fails again.
    Input,
    /// The operation failed on valid input (a download, a store, a destination); it may
    /// succeed later.
    Operation,
}

/// An error with a stable, machine-readable code.
pub trait Coded: std::error::Error {
    /// A stable code in `snake_case` (`bad_version`, `tampered`, `feed_shrunk`).
    fn code(&self) -> &'static str;

    /// Whose fault it is; input unless the error says otherwise.
    fn fault(&self) -> Fault {
        Fault::Input
    }
}
