//! New domain: the browser first saw this registrable domain less than 24 hours ago.
//! The state is passed in; the engine reads no clock.

use crate::brands::BrandIndex;
use crate::domain::Target;
use crate::input::LocalState;
use crate::rules::Key;
use crate::verdict::Signal;

/// How long a domain counts as new.
pub(crate) const NEW_FOR_SECONDS: u64 = 24 * 3600;

/// Checks the first-seen state.
pub(crate) fn check(target: &Target, state: Option<LocalState>, index: &BrandIndex, out: &mut Vec<Signal>) {
    let Some(state) = state else { return };
    if index.is_brand_domain(target.registrable()) {
        return;
    }
    let age = state.now.saturating_sub(state.first_seen.unwrap_or(state.now));
    if age < NEW_FOR_SECONDS {
        let evidence = match state.first_seen {
            None => format!("{} is seen by this browser for the first time", target.registrable()),
            Some(_) => format!("{} was first seen by this browser {} ago", target.registrable(), human_age(age)),
        };
        out.push(Signal::new(Key::new_domain_local_first_seen, 1000, evidence));
    }
}

fn human_age(seconds: u64) -> String {
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    }
}
