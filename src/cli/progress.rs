//! Progress bars: only on a terminal, never with --json or --quiet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::GlobalArgs;

/// Whether progress may be drawn.
pub fn enabled(global: &GlobalArgs) -> bool {
    !global.json && !global.quiet && std::io::stderr().is_terminal()
}

/// A spinner for long work (the reconcile sweep, a large transfer run).
pub struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    pub fn new(global: &GlobalArgs, message: &'static str) -> Self {
        let bar = enabled(global).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .expect("static template"),
            );
            b.set_message(message);
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        Spinner { bar }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl crate::reconcile::Progress for Spinner {
    fn events(&self, seen: usize) {
        if let Some(b) = &self.bar {
            b.set_message(format!("{seen} undelivered events applied"));
        }
    }
}
