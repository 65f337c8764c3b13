//! Progress of long work (sync, drift): a bar on a terminal, plain lines
//! elsewhere (CI logs), always on stderr so stdout stays the result.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::sync::ProgressSnapshot;

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    what: &'static str,
}

impl crate::ops::Observer for Progress {
    fn step(&self, step: crate::ops::Step<'_>) {
        use crate::ops::Step;
        match step {
            Step::Started { accounts } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(accounts);
                }
            }
            Step::Progress(p) => self.update(p),
            Step::Fetched {
                account,
                counts: None,
            } => self.account_line(&format!("{account}: fetched")),
            Step::Fetched {
                account,
                counts: Some((resources, partitions, failed)),
            } => self.account_line(&format!(
                "{account}: {resources} resources in {partitions} partitions{}",
                if failed == 0 {
                    String::new()
                } else {
                    format!(", {failed} failed")
                }
            )),
            Step::Failed { account, problem } => {
                self.account_line(&format!("{account}: FAILED: {problem}"))
            }
            Step::Finished => self.finish(),
        }
    }
}

impl Progress {
    /// `what` names the work in plain lines (`sync`, `drift`).
    pub fn new(what: &'static str) -> Progress {
        let bar = super::printer::stderr_is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {pos}/{len} accounts  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(what);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            what,
        }
    }

    /// Refreshes the bar from the run's counters.
    pub fn update(&self, p: &ProgressSnapshot) {
        if let Some(bar) = &self.bar {
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            bar.set_position(p.accounts_done);
            bar.set_message(format!(
                "{}/{} partitions ({} failed)  {} resources  {:.0}/s",
                p.partitions_done,
                p.partitions_total,
                p.partitions_failed,
                p.resources,
                p.resources as f64 / secs
            ));
        }
    }

    /// One account finished: a line in plain mode, the bar moves otherwise.
    pub fn account_line(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => super::printer::stderr_bytes(format!("{}: {line}\n", self.what).as_bytes()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
