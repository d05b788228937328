//! Exit statuses, in one table (`docs/cli.md`).
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done; a green verdict |
//! | 1 | the operation failed on valid input (a download, the origin, a gate: `pack validate` found problems, `pack test` missed its limits) |
//! | 2 | bad input (an argument, a file, a rule set, a URL) |
//! | 3 | a feed shrank by more than half (`pack build`; `--force` accepts it) |
//! | 10, 20 | a yellow or red verdict |
//! | 40–50 | a pack or bulletin was refused; the status names why |
//!
//! Library errors carry a stable code and a [`Fault`]; [`TABLE`] lists the codes with a
//! status of their own, and every other code exits 2 when the input is at fault and 1
//! when the operation failed.

use ferretwatch_detect::Level;
use ferretwatch_types::{Coded, Fault};

/// Done, or a green verdict.
pub const SUCCESS: u8 = 0;
/// The operation failed on valid input, or a gate did not pass.
pub const FAILED: u8 = 1;
/// Bad input.
pub const BAD_INPUT: u8 = 2;
/// A feed shrank by more than half since the previous pack.
pub const FEED_SHRUNK: u8 = 3;
/// A yellow verdict.
pub const YELLOW: u8 = 10;
/// A red verdict.
pub const RED: u8 = 20;

/// The codes with a status of their own.
pub const TABLE: [(&str, u8); 12] = [
    ("feed_shrunk", FEED_SHRUNK),
    ("tampered", 40),
    ("unknown_key", 41),
    ("too_few_signatures", 42),
    ("expired", 43),
    ("rollback", 44),
    ("mixed_pack", 45),
    ("oversized", 46),
    ("missing", 47),
    ("malformed", 48),
    ("unreadable", 49),
    ("delegation_violation", 50),
];

/// The exit status of an error with `code` and `fault`.
pub fn status(code: &str, fault: Fault) -> u8 {
    match TABLE.iter().find(|(listed, _)| *listed == code) {
        Some((_, status)) => *status,
        None => match fault {
            Fault::Input => BAD_INPUT,
            Fault::Operation => FAILED,
        },
    }
}

/// The exit status of `error`.
pub fn of(error: &dyn Coded) -> u8 {
    status(error.code(), error.fault())
}

/// Whether a status says that a pack or bulletin was refused.
pub fn is_refusal(status: u8) -> bool {
    (40..=50).contains(&status)
}

/// The exit status of a verdict.
pub fn level(level: Level) -> u8 {
    match level {
        Level::Green => SUCCESS,
        Level::Yellow => YELLOW,
        Level::Red => RED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_own_status_from_40_to_50() {
        let refusals = &TABLE[1..];
        for (i, (code, status)) in refusals.iter().enumerate() {
            assert_eq!(*status, 40 + i as u8, "{code}");
            assert!(is_refusal(*status));
        }
        let mut codes: Vec<&str> = TABLE.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len(), "one status per code");
    }

    #[test]
    fn unlisted_codes_follow_their_fault() {
        assert_eq!(status("invalid_url", Fault::Input), BAD_INPUT);
        assert_eq!(status("origin_failed", Fault::Operation), FAILED);
        assert_eq!(status("unreadable", Fault::Operation), 49, "the table wins over the fault");
        assert_eq!(status("feed_shrunk", Fault::Input), FEED_SHRUNK);
        assert_eq!((level(Level::Green), level(Level::Yellow), level(Level::Red)), (0, 10, 20));
    }
}
