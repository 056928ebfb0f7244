//! `stark demo`: the whole 24-hour flow, compressed, against the built-in emulator.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::GlobalArgs;
use super::errors::{Report, UsageError};
use crate::demo::{self, DemoOptions, DemoProgress, FaultLevel, count};
use crate::domain::money::format_brl;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for the sandbox's payer and faults (same seed, same day)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Business seconds per real second (2880 runs the 24 hours in 30 seconds)
    #[arg(long, default_value_t = 2880.0)]
    pub speed: f64,
    /// How badly the bank behaves
    #[arg(long, value_enum, default_value_t = FaultLevel::Light)]
    pub faults: FaultLevel,
}

struct Bar {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl DemoProgress for Bar {
    fn step(&self, done: u64, total: u64, now: chrono::DateTime<chrono::Utc>, up: bool) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
            b.set_message(format!(
                "{} UTC, webhook {}",
                now.format("%H:%M"),
                if up { "up" } else { "down" }
            ));
        }
    }
    fn note(&self, line: String) {
        match &self.bar {
            Some(b) => b.println(line),
            None if self.lines => eprintln!("{line}"),
            None => {}
        }
    }
}

pub fn run(args: &DemoArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    if args.speed.is_nan() || args.speed < 1.0 {
        return Err(UsageError::new("--speed must be at least 1").into());
    }
    // A fresh ledger: --ledger if given (must not hold a campaign yet), else a temporary one,
    // removed when the demo ends (however it ends).
    let tmp;
    let ledger: PathBuf = match &global.ledger {
        Some(p) if crate::ledger::is_postgres(p) => {
            // A database: fresh when it holds no ledger yet (an unreachable one fails later,
            // with its own message).
            if crate::ledger::Ledger::open(p).is_ok() {
                return Err(UsageError(format!(
                    "the database {} holds a ledger already: the demo needs a fresh one (an empty database)",
                    crate::ledger::display_address(p)
                ))
                .into());
            }
            p.clone()
        }
        Some(p) => {
            if p.exists() {
                return Err(UsageError(format!(
                    "{} exists: the demo needs a fresh ledger (remove it or pick another path)",
                    p.display()
                ))
                .into());
            }
            p.clone()
        }
        None => {
            tmp = TempDir(tempfile_dir()?);
            tmp.0.join("ledger.sqlite3")
        }
    };
    let bar = super::progress::enabled(global).then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}")
                .expect("static template"),
        );
        b
    });
    let progress = Bar {
        bar,
        lines: !global.quiet && !global.json,
    };
    if !global.quiet && !global.json {
        let kept = if global.ledger.is_some() {
            ""
        } else {
            ", temporary: removed at the end unless --ledger is given"
        };
        eprintln!(
            "stark demo: a 24-hour campaign against the built-in sandbox (seed {}, faults {}, ledger {}{kept})",
            args.seed,
            args.faults.name(),
            crate::ledger::display_address(&ledger)
        );
    }
    let rt = super::transfer::runtime()?;
    let opts = DemoOptions {
        seed: args.seed,
        speed: args.speed,
        faults: args.faults,
        ledger: ledger.clone(),
    };
    let outcome = rt.block_on(demo::run(&opts, &progress))?;
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    let a = &outcome.audit;
    if global.json {
        super::print_json("demo", &outcome)?;
    } else if !global.quiet {
        let l = crate::ledger::Ledger::open(&ledger)?;
        let report = crate::status::report(
            &l.db(),
            outcome.ended,
            &crate::status::StatusOptions::default(),
        )?;
        outln!(
            "{}",
            super::status::render(&report, super::status::Layout::detect())
        )?;
        outln!(
            "events: {} by webhook ({} windows), {} by reconcile sweeps; {} issue ticks, {} reconcile ticks; {:.1} s",
            outcome.webhook_events,
            outcome.webhook_windows,
            outcome.swept_events,
            outcome.ticks,
            outcome.reconciles,
            outcome.real_seconds
        )?;
    }
    if !a.failed() {
        if !global.json {
            outln!(
                "verdict: PASS — {}, {}; {} of ours credited, {} forwarded exactly once ({}), {} with nothing to forward, {} retried, {} waiting for the operator; nothing else sent",
                count(a.batches, "batch", "batches"),
                count(a.invoices, "invoice", "invoices"),
                a.credited,
                a.transferred,
                format_brl(a.transferred_amount),
                a.nothing_to_forward,
                count(a.failed_attempts, "failed attempt", "failed attempts"),
                a.waiting_for_operator
            )?;
        }
    } else {
        for v in &a.violations {
            eprintln!("violation: {v}");
        }
        eprintln!(
            "verdict: FAIL — {} (seed {}, faults {})",
            count(a.violations.len(), "violation", "violations"),
            args.seed,
            args.faults.name()
        );
    }
    Ok(a.exit_code())
}

/// A directory removed (with what it holds) when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("stark-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
