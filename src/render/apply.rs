//! Apply's line per account as it ends.

use crate::ops::apply::Outcome;
use crate::plan::{AccountChange, Action};
use crate::state::State;

/// `aws.prod: created (verified 123456789012 as arn:…)`, `…: FAILED: why`.
pub fn line(c: &AccountChange, outcome: &Outcome, st: &State) -> String {
    let verb = match c.action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "forgotten",
        Action::NoOp => "unchanged",
    };
    match outcome {
        Outcome::Done => match st.accounts.get(&c.address) {
            Some(a) => format!(
                "{}: {verb} (verified {} as {})\n",
                c.address, a.identity.account_id, a.identity.principal
            ),
            None => format!("{}: {verb}\n", c.address),
        },
        Outcome::Failed(why) => format!("{}: FAILED: {why}\n", c.address),
        Outcome::Skipped(after) => {
            format!("{}: skipped: `{after}` did not complete\n", c.address)
        }
        Outcome::NotStarted => format!("{}: not started (interrupted)\n", c.address),
    }
}
