//! Randomized simulation of whole campaigns, TigerBeetle-style: from a seed, a schedule of
//! cron ticks (`issue-invoices`, `reconcile`, `transfer-credited`) at jittered times, some
//! overlapping; `serve-webhook` up and down; sandbox faults (5xx, 429, latency, lost responses,
//! late effects, lagging and partial lists, request-level 400s, duplicate / reordered /
//! dropped deliveries, failing transfers); real child processes killed with SIGKILL at random
//! moments (mid-POST, mid-transaction), stalled with SIGSTOP past their lease and resumed, or
//! running with a wall clock stepped forward; and operators who restore the ledger from an
//! earlier backup, delete it (and restore the latest backup a little later), retry every
//! credit that `status` says waits for them, and start a new campaign at random. Then the
//! system settles and the promise is checked against the sandbox's ground truth with
//! `stark::audit` (the slot rule included: every `issue-invoices` run that ran to its end is
//! a tick).
//!
//! `SIM_RUNS` (default 2) sets how many seeds run from `SIM_BASE` (default 1); `SIM_SEED=N`
//! replays one. A failure prints the seed and the schedule; every run ends with a summary
//! (seeds, batches, invoices, credits, transfers, faults and scenarios drawn, exit codes,
//! seconds per seed, what each run that exited 1 said last). A run still going after `SIM_PATIENCE_SECS` (default 6) is SIGKILLed,
//! as cron's `timeout` would (a `late-effect` may hold an answer until the client's 30 s
//! timeout). `SIM_KEEP=DIR` keeps the ledger and the bank's ground truth of a failing seed
//! there (`seed-N.sqlite3`, `seed-N-truth.json`); `SIM_TRACE=1` prints each step with its
//! real duration; `SIM_SKIP=restore-earlier-backup,delete-ledger,…` leaves out the steps of
//! the scenarios named as in the summary (and counts them under `skipped`).
//!
//! On PostgreSQL (`simulation_on_postgres`, and `randomized_campaigns_keep_the_promise` with
//! `STARK_TEST_BACKEND=postgres`; both SKIP without `STARK_TEST_PG`, which `tests/run` sets)
//! each seed's ledger is a fresh database, its URL used wherever the file's path would be
//! (`STARK_LEDGER`), and the topology is a deployment's: two `serve-webhook --no-register`
//! replicas, each on its own port with a webhook of its own from `stark webhook ensure` (the
//! bank delivers every event to both; the first 200 marks it delivered), up and down in
//! windows of their own, SIGKILLed or stopped; and two cron hosts whose runs overlap: at each
//! cron step the second host runs its own command (mostly the same), up to 200 ms later, with
//! its own SIGKILL draws; it also takes over after a stall and is the host whose wall clock is
//! ahead. Processes of the second hosts run in a UTS namespace of their own with their own
//! host name (`unshare --uts`, where it works: root), so that the lease rules judge them as
//! another host's, whose liveness cannot be told. The scenarios that work on the ledger FILE
//! (backup, restore-earlier-backup, delete-ledger) are not drawn there: a database's backups
//! are the server's. Everything else is drawn as on SQLite from the same seed (the second
//! host's and second replica's draws come from a second generator), and audited the same way.
//! A PostgreSQL seed takes longer, so `SIM_RUNS` defaults to 1 there; `SIM_KEEP` writes the
//! database's URL (`seed-N-ledger.url`: it stays on the test server until the cluster goes).

#[path = "it/harness/mod.rs"]
mod harness;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use harness::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stark::audit::{self, Expectations};
use stark::testing::{self, Backend};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Issue,
    Reconcile,
    Transfer,
}

impl Cmd {
    fn args(self) -> &'static [&'static str] {
        match self {
            Cmd::Issue => &["issue-invoices"],
            Cmd::Reconcile => &["reconcile"],
            Cmd::Transfer => &["transfer-credited"],
        }
    }

    fn name(self) -> &'static str {
        self.args()[0]
    }
}

#[derive(Debug, Clone)]
enum Action {
    /// Run a command (twice at once when `twins`), SIGKILLing each after `kill_ms` if given;
    /// on PostgreSQL the second cron host runs `other` at the same tick, overlapping.
    Run {
        cmd: Cmd,
        twins: bool,
        kill_ms: Option<u64>,
        other: Option<Other>,
    },
    /// Start `serve-webhook` replica `replica` (only replica 0 on SQLite).
    WebhookUp {
        replica: usize,
    },
    /// Stop a webhook replica: SIGKILL or SIGTERM.
    WebhookDown {
        kill: bool,
        replica: usize,
    },
    Faults(Vec<String>),
    /// Another tool in the same workspace issues invoices (their credits are foreign).
    Foreign(u32),
    /// A run SIGSTOPped after `stop_ms` and kept stopped `over_ms` past its lease while a
    /// second run of the same command goes; then SIGCONT.
    Stall {
        cmd: Cmd,
        stop_ms: u64,
        over_ms: u64,
    },
    /// A run whose wall clock is `secs` ahead (`STARK_WALL_SKEW_SECS`), started `after_ms`
    /// after a normal run of the same command.
    Skewed {
        cmd: Cmd,
        secs: i64,
        after_ms: u64,
    },
    /// Copy the ledger (`VACUUM INTO`, a consistent copy while others write).
    Backup,
    /// Put back backup number `pick` (modulo those taken): the webhook is stopped first and
    /// started again after, the -wal/-shm files go with the ledger.
    Restore {
        pick: usize,
    },
    /// Delete the ledger and its -wal/-shm files (after a backup); `RestoreLatest` follows.
    Delete,
    RestoreLatest,
    /// An operator runs `transfer-credited --retry` for every credit `status --json` lists as
    /// failed, refused or stale.
    Operator,
    /// `issue-invoices --new-campaign` (with `--force` too): refused while a batch is open.
    NewCampaign {
        force: bool,
    },
}

impl Action {
    /// The scenario this step belongs to, for the summary (`None`: routine cron).
    fn scenario(&self) -> Option<&'static str> {
        Some(match self {
            Action::Run {
                kill_ms: Some(_), ..
            } => "sigkill",
            Action::Run { twins: true, .. } => "twins",
            Action::Stall { .. } => "stall-past-lease",
            Action::Skewed { .. } => "wall-clock-step",
            Action::Backup => "backup",
            Action::Restore { .. } => "restore-earlier-backup",
            Action::Delete => "delete-ledger",
            Action::Operator => "operator-retry",
            Action::NewCampaign { force: false } => "new-campaign",
            Action::NewCampaign { force: true } => "new-campaign-force",
            Action::Foreign(_) => "foreign-invoices",
            _ => return None,
        })
    }
}

/// What the second cron host (PostgreSQL only) runs at a tick of the first: its own command
/// (mostly the same one: both hosts have the same crontab), started `delay_ms` after the
/// first host's, SIGKILLed `kill_ms` after its start if given.
#[derive(Debug, Clone)]
struct Other {
    cmd: Cmd,
    delay_ms: u64,
    kill_ms: Option<u64>,
}

impl Action {
    /// A step that works on the ledger FILE (copies, deletes or replaces it): not drawn on
    /// PostgreSQL, where a database's backups are the server's (`pg_dump`, PITR), not ours.
    fn touches_the_file(&self) -> bool {
        matches!(
            self,
            Action::Backup | Action::Restore { .. } | Action::Delete | Action::RestoreLatest
        )
    }
}

#[derive(Debug, Clone)]
struct Step {
    at: Duration,
    action: Action,
}

struct Schedule {
    seed: u64,
    backend: Backend,
    /// `STARK_LEASE_SECS` of every run of this seed.
    lease_secs: u64,
    steps: Vec<Step>,
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  {:?}, lease {} s", self.backend, self.lease_secs)?;
        for s in &self.steps {
            writeln!(
                f,
                "  +{:02}:{:02}  {:?}",
                s.at.num_hours(),
                s.at.num_minutes() % 60,
                s.action
            )?;
        }
        Ok(())
    }
}

/// One fault rule, with its parameters drawn.
fn draw_fault(rng: &mut StdRng) -> String {
    const FIXED: &[&str] = &[
        "invoice.create:lost-response=0.4",
        "transfer.create:lost-response=0.4",
        "500=0.1",
        "503=0.1",
        "429=0.1",
        "latency=0.3@150",
        "duplicate-delivery=0.3",
        "reorder-delivery=0.3",
        "drop-delivery=0.4",
        "transfer-fail=0.08",
        "transfer-fail=0.6",
        "event.patch:503=0.3",
        "transfer.list:500=0.2",
        "invoice.list:503=0.2",
        "invoice.list:list-partial=0.5",
        "transfer.list:list-partial=0.5",
        "invalid-access-time=0.1",
        "invalid-credentials=0.1",
        "invoice.create:invalid-access-time=0.4",
        "transfer.create:invalid-credentials=0.4",
    ];
    // Business milliseconds: mostly inside the settle window (5 min), a quarter beyond it
    // (up to 20 min: a copy then lands after the batch was resent and issued).
    let ms = |rng: &mut StdRng| match rng.gen_bool(0.75) {
        true => rng.gen_range(1_000..240_000u64),
        false => rng.gen_range(300_000..1_200_000u64),
    };
    match rng.gen_range(0..FIXED.len() + 4) {
        i if i < FIXED.len() => FIXED[i].to_string(),
        i if i == FIXED.len() => format!("invoice.create:late-effect=0.4@{}", ms(rng)),
        i if i == FIXED.len() + 1 => format!("transfer.create:late-effect=0.4@{}", ms(rng)),
        i if i == FIXED.len() + 2 => format!("late-effect=0.05@{}", ms(rng)),
        _ => format!("list-lag=0.6@{}", ms(rng)),
    }
}

/// The kind of a rule (`invoice.create:late-effect=0.4@60000` → `invoice.create:late-effect`).
fn fault_name(rule: &str) -> &str {
    rule.split('=').next().unwrap_or(rule)
}

fn schedule(seed: u64, backend: Backend) -> Schedule {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut steps = Vec::new();
    let kill = |rng: &mut StdRng| rng.gen_bool(0.25).then(|| rng.gen_range(0..120));
    // Issue ticks: each slot's cron run, jittered both ways; sometimes doubled; rarely skipped.
    for k in 0..8i64 {
        if rng.gen_bool(0.07) {
            continue; // cron did not run: the slot is missed
        }
        let at = Duration::hours(3 * k) + Duration::minutes(rng.gen_range(-14..40));
        steps.push(Step {
            at: at.max(Duration::zero()),
            action: Action::Run {
                cmd: Cmd::Issue,
                twins: rng.gen_bool(0.2),
                kill_ms: kill(&mut rng),
                other: None,
            },
        });
        if rng.gen_bool(0.2) {
            // A retry by hand a little later.
            let later = at + Duration::minutes(rng.gen_range(1..30));
            steps.push(Step {
                at: later.max(Duration::zero()),
                action: Action::Run {
                    cmd: Cmd::Issue,
                    twins: false,
                    kill_ms: None,
                    other: None,
                },
            });
        }
    }
    // Reconcile and transfer ticks through the day.
    let mut t = Duration::minutes(rng.gen_range(5..40));
    while t < Duration::hours(25) {
        let cmd = if rng.gen_bool(0.7) {
            Cmd::Reconcile
        } else {
            Cmd::Transfer
        };
        steps.push(Step {
            at: t,
            action: Action::Run {
                cmd,
                twins: rng.gen_bool(0.15),
                kill_ms: kill(&mut rng),
                other: None,
            },
        });
        t += Duration::minutes(rng.gen_range(20..90));
    }
    // The webhook: up for a few windows.
    webhook_windows(&mut rng, &mut steps, 0);
    // Another tool shares the workspace.
    for _ in 0..rng.gen_range(0..3) {
        steps.push(Step {
            at: Duration::minutes(rng.gen_range(0..1200)),
            action: Action::Foreign(rng.gen_range(1..4)),
        });
    }
    // Faults come and go.
    let mut t = Duration::zero();
    while t < Duration::hours(24) {
        let n = rng.gen_range(0..4);
        let set: Vec<String> = (0..n).map(|_| draw_fault(&mut rng)).collect();
        steps.push(Step {
            at: t,
            action: Action::Faults(set),
        });
        t += Duration::minutes(rng.gen_range(60..300));
    }
    // Processes stalled past their lease, and one with its wall clock stepped forward:
    // issuing or transferring, started near an issue tick so that there is work to hold.
    let near_tick = |rng: &mut StdRng| {
        Duration::hours(3 * rng.gen_range(0..8i64)) + Duration::minutes(rng.gen_range(1..50))
    };
    let busy = |rng: &mut StdRng| {
        if rng.gen_bool(0.5) {
            Cmd::Issue
        } else {
            Cmd::Transfer
        }
    };
    // (At most one stall a seed: each costs a lease and more of real time.)
    if rng.gen_bool(0.6) {
        let cmd = busy(&mut rng);
        let at = near_tick(&mut rng) + Duration::minutes(if cmd == Cmd::Transfer { 90 } else { 0 });
        steps.push(Step {
            at,
            action: Action::Stall {
                cmd,
                stop_ms: rng.gen_range(0..150),
                over_ms: rng.gen_range(500..2500),
            },
        });
    }
    if rng.gen_bool(0.5) {
        let cmd = busy(&mut rng);
        let at = near_tick(&mut rng) + Duration::minutes(if cmd == Cmd::Transfer { 90 } else { 0 });
        steps.push(Step {
            at,
            action: Action::Skewed {
                cmd,
                secs: rng.gen_range(600..3600),
                after_ms: rng.gen_range(0..100),
            },
        });
    }
    // Backups through the day; a restore of an earlier one; a deletion restored later.
    for _ in 0..rng.gen_range(0..4) {
        steps.push(Step {
            at: Duration::minutes(rng.gen_range(60..1320)),
            action: Action::Backup,
        });
    }
    if rng.gen_bool(0.35) {
        let at = Duration::minutes(rng.gen_range(120..1380));
        steps.push(Step {
            at: at - Duration::minutes(rng.gen_range(30..400)).min(at - Duration::minutes(61)),
            action: Action::Backup,
        });
        steps.push(Step {
            at,
            action: Action::Restore {
                pick: rng.gen_range(0..4),
            },
        });
    }
    if rng.gen_bool(0.3) {
        let at = Duration::minutes(rng.gen_range(90..1300));
        steps.push(Step {
            at: at - Duration::minutes(rng.gen_range(1..60)),
            action: Action::Backup,
        });
        steps.push(Step {
            at,
            action: Action::Delete,
        });
        steps.push(Step {
            at: at + Duration::minutes(rng.gen_range(20..120)),
            action: Action::RestoreLatest,
        });
    }
    // An operator follows `status`; sometimes someone starts a new campaign.
    for _ in 0..rng.gen_range(0..3) {
        steps.push(Step {
            at: Duration::minutes(rng.gen_range(120..1500)),
            action: Action::Operator,
        });
    }
    if rng.gen_bool(0.3) {
        steps.push(Step {
            at: Duration::minutes(rng.gen_range(30..1470)),
            action: Action::NewCampaign {
                force: rng.gen_bool(0.5),
            },
        });
    }
    // Stable: steps drawn at the same minute keep their drawing order.
    steps.sort_by_key(|s| s.at);
    let lease_secs = rng.gen_range(2..=3);
    if backend == Backend::Postgres {
        // Everything above is drawn as on SQLite (a seed's SQLite schedule stays as it was);
        // PostgreSQL's topology is drawn from a second generator of the same seed.
        steps.retain(|s| !s.action.touches_the_file());
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5047_7365_636f_6e64);
        let cmds = [Cmd::Issue, Cmd::Reconcile, Cmd::Transfer];
        for s in &mut steps {
            if let Action::Run { cmd, other, .. } = &mut s.action {
                *other = Some(Other {
                    cmd: if rng.gen_bool(0.6) {
                        *cmd
                    } else {
                        cmds[rng.gen_range(0..cmds.len())]
                    },
                    delay_ms: rng.gen_range(0..200),
                    kill_ms: kill(&mut rng),
                });
            }
        }
        // The second replica has its own windows: sometimes both are up, sometimes one,
        // sometimes none.
        webhook_windows(&mut rng, &mut steps, 1);
        steps.sort_by_key(|s| s.at);
    }
    Schedule {
        seed,
        backend,
        lease_secs,
        steps,
    }
}

/// Up and down windows through the day for webhook replica `replica`.
fn webhook_windows(rng: &mut StdRng, steps: &mut Vec<Step>, replica: usize) {
    let mut t = Duration::minutes(rng.gen_range(0..180));
    while t < Duration::hours(24) {
        let len = Duration::minutes(rng.gen_range(30..300));
        steps.push(Step {
            at: t,
            action: Action::WebhookUp { replica },
        });
        steps.push(Step {
            at: t + len,
            action: Action::WebhookDown {
                kill: rng.gen_bool(0.5),
                replica,
            },
        });
        t += len + Duration::minutes(rng.gen_range(30..360));
    }
}

/// Whether this `stark` has `stark init` — then no command creates a ledger implicitly, and
/// every command on a deleted ledger must exit 2 and create nothing.
fn refuses_missing_ledger() -> bool {
    static HAS_INIT: OnceLock<bool> = OnceLock::new();
    *HAS_INIT.get_or_init(|| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("stark"))
            .args(["init", "--help"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn patience() -> StdDuration {
    let secs = std::env::var("SIM_PATIENCE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    StdDuration::from_secs(secs)
}

/// What one seed saw, beyond the audit.
#[derive(Default)]
struct Seen {
    /// `cmd:code` (or `cmd:killed`) → count.
    exits: BTreeMap<String, usize>,
    /// Business times of the `issue-invoices` runs that ran to their end.
    issue_ticks: Vec<DateTime<Utc>>,
    /// Runs SIGKILLed by the patience watchdog.
    watchdog_kills: usize,
    /// Runs while the ledger was deleted that found one created (before `stark init`
    /// existed, the first of them creates a fresh ledger).
    implicit_ledgers: usize,
    /// Runs while the ledger was deleted that exited 2 and created nothing.
    refused_missing: usize,
    /// `transfer-credited --retry` runs by the operator.
    retries: usize,
    /// Deliveries recorded by each webhook replica (PostgreSQL; SQLite's one webhook is not
    /// counted).
    replica_deliveries: [usize; 2],
    /// Runs that said they lost a lease to another process, by scenario and what they held
    /// (`stalled`: SIGSTOPped past it; `to a clock ahead`: running normally beside a run whose
    /// wall clock is ahead).
    leases_lost: BTreeMap<&'static str, usize>,
    /// Runs that exited 1 (a failure), by command and what they said last.
    exit1: BTreeMap<String, usize>,
    /// Steps not taken: a backup without a ledger, a restore without a backup, `SIM_SKIP`.
    skipped: BTreeMap<&'static str, usize>,
    violations: Vec<String>,
}

struct Sim<'a> {
    env: &'a Env,
    backend: Backend,
    lease_secs: u64,
    /// SQLite: the one `serve-webhook`, which registers its own webhook.
    webhook: Option<Server>,
    /// The webhook should be up (it is kept down while the ledger is deleted).
    webhook_wanted: bool,
    /// PostgreSQL: the two `serve-webhook --no-register` replicas, each on its own port with
    /// its own webhook (`stark webhook ensure`), the second on the second web host.
    replicas: [Option<Replica>; 2],
    ports: [u16; 2],
    recorded: Recorded,
    /// The stderr readers of the runs in flight, by pid; what the last run waited for said.
    stderrs:
        std::cell::RefCell<std::collections::HashMap<u32, std::thread::JoinHandle<Vec<String>>>>,
    last_stderr: Vec<String>,
    backups: Vec<PathBuf>,
    deleted: bool,
    seen: Seen,
}

/// A host of the PostgreSQL topology: processes of another host run in their own UTS
/// namespace under another host name (when `unshare` works here), so that the ledger's lease
/// rules see them as another host's — whose liveness cannot be told here, whose leases are
/// taken only once expired — and with their own home directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    /// The first cron host and the first web host: this machine.
    Here,
    /// The second cron host.
    CronB,
    /// The second web host.
    WebB,
}

impl Host {
    fn name(self) -> Option<&'static str> {
        match self {
            Host::Here => None,
            Host::CronB => Some("stark-sim-cron-b"),
            Host::WebB => Some("stark-sim-web-b"),
        }
    }
}

/// Whether `unshare --uts` works here (root, or a user namespace allowed): then another host's
/// processes get a host name of their own. Without it they share this host's name, and the
/// lease rules judge them as local processes (the summary says which).
fn hosts_have_names() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("unshare")
            .args(["--uts", "/bin/sh", "-c", "hostname stark-sim-probe"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// `c` run on `host`: in a UTS namespace of its own named after it, its environment kept
/// (the pid stays the program's: `unshare` and `sh` exec into it).
fn on_host(c: Command, host: Host) -> Command {
    let Some(name) = host.name().filter(|_| hosts_have_names()) else {
        return c;
    };
    let mut w = Command::new("unshare");
    w.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            w.env(k, v);
        }
    }
    w.args([
        "--uts",
        "/bin/sh",
        "-c",
        "hostname \"$0\" && exec \"$@\"",
        name,
    ])
    .arg(c.get_program())
    .args(c.get_args());
    w
}

/// A `serve-webhook --no-register` replica (PostgreSQL).
struct Replica {
    child: Child,
}

/// Deliveries each replica recorded (its `--json` lines of type `event`), over its lives.
type Recorded = std::sync::Arc<[std::sync::atomic::AtomicUsize; 2]>;

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The webhook URL of the replica on `port`, registered with `stark webhook ensure`.
fn replica_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/webhook")
}

fn ledger_files(ledger: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = ledger.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [ledger.to_path_buf(), with("-wal"), with("-shm")]
}

impl Sim<'_> {
    fn run_at(&self, t: DateTime<Utc>) -> Run {
        self.env
            .at(t)
            .env("STARK_LEASE_SECS", self.lease_secs.to_string())
    }

    fn spawn(&self, at: &Run, args: &[&str], skew: Option<i64>) -> Child {
        self.spawn_on(Host::Here, at, args, skew)
    }

    /// A run on `host` (its own home directory for another host).
    fn spawn_on(&self, host: Host, at: &Run, args: &[&str], skew: Option<i64>) -> Child {
        self.spawn_with(host, at, args, skew)
    }

    fn spawn_with(&self, host: Host, at: &Run, args: &[&str], skew: Option<i64>) -> Child {
        let at = match host {
            Host::Here => at.clone(),
            _ => {
                let home = self.env.dir.path().join(format!("{host:?}"));
                let _ = std::fs::create_dir_all(&home);
                at.clone()
                    .env("HOME", &home)
                    .env("XDG_CONFIG_HOME", home.join("config"))
                    .env("XDG_DATA_HOME", home.join("data"))
            }
        };
        let mut c = at.command(args);
        if let Some(s) = skew {
            c.env("STARK_WALL_SKEW_SECS", s.to_string());
        }
        c.arg("--quiet");
        let mut child = on_host(c, host)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read to the end in the background (the last lines kept): what a run that failed,
        // or lost a lease, said.
        let stderr = child.stderr.take().unwrap();
        let lines = std::thread::spawn(move || {
            let mut kept = std::collections::VecDeque::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if kept.len() == 40 {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            kept.into_iter().collect()
        });
        self.stderrs.borrow_mut().insert(child.id(), lines);
        child
    }

    /// Whether the ledger is there (a PostgreSQL database always is: it is never deleted).
    fn ledger_exists(&self) -> bool {
        self.backend == Backend::Postgres || self.env.ledger.exists()
    }

    /// Wait for a child (SIGKILL after the patience), record its exit; `Some(code)` when it
    /// exited by itself.
    fn wait(&mut self, name: &str, mut c: Child) -> Option<i32> {
        let deadline = Instant::now() + patience();
        let status = loop {
            if let Ok(Some(s)) = c.try_wait() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                self.seen.watchdog_kills += 1;
                break c.wait().unwrap();
            }
            std::thread::sleep(StdDuration::from_millis(5));
        };
        let code = status.code();
        let what = code.map_or("killed".to_string(), |c| c.to_string());
        *self.seen.exits.entry(format!("{name}:{what}")).or_default() += 1;
        let handle = self.stderrs.borrow_mut().remove(&c.id());
        self.last_stderr = handle.and_then(|h| h.join().ok()).unwrap_or_default();
        if code == Some(1) {
            // Why, in a few words: its last `error` line, numbers and ids blurred.
            let why = self
                .last_stderr
                .iter()
                .rev()
                .find(|l| l.contains("error"))
                .or(self.last_stderr.last())
                .map(|l| {
                    let l: String = l
                        .chars()
                        .map(|c| if c.is_ascii_digit() { '#' } else { c })
                        .collect();
                    l.chars().take(160).collect::<String>()
                })
                .unwrap_or_default();
            *self.seen.exit1.entry(format!("{name}: {why}")).or_default() += 1;
        }
        code
    }

    /// Whether the run waited for last said it lost a lease to another process: on a batch
    /// or a transfer.
    fn lost_a_lease(&self) -> Option<&'static str> {
        let said = |what: &str| self.last_stderr.iter().any(|l| l.contains(what));
        if said("lost its lease") {
            Some("batch")
        } else if said("lost the transfer's lease") {
            Some("transfer")
        } else {
            None
        }
    }

    /// After a run while the ledger is deleted: with `stark init`, the run must have exited 2
    /// and created nothing; before it, a run that created a ledger is tolerated (and counted).
    fn check_deleted(&mut self, what: &str, code: Option<i32>) {
        if !self.deleted {
            return;
        }
        let exists = self.ledger_exists();
        match (code, exists) {
            // `status` reads only: it says there is no ledger (exit 0 or 2), creating nothing.
            (Some(0), false) if what == "status" => {}
            (Some(2), false) => self.seen.refused_missing += 1,
            // Before `stark init`, the first run creates a ledger (and may exit 2 for another
            // reason, a request-level 400).
            (_, true) if !refuses_missing_ledger() => self.seen.implicit_ledgers += 1,
            (None, false) => {} // killed before it got anywhere
            (code, exists) if refuses_missing_ledger() => self.seen.violations.push(format!(
                "{what} on a deleted ledger: exit {code:?}, ledger created: {exists} (want exit 2, nothing created)"
            )),
            _ => {}
        }
    }

    fn finished(&mut self, cmd: &str, t: DateTime<Utc>, code: Option<i32>) {
        if cmd == Cmd::Issue.name() && code.is_some() {
            self.seen.issue_ticks.push(t);
        }
        self.check_deleted(cmd, code);
    }

    fn run_cmd(
        &mut self,
        t: DateTime<Utc>,
        cmd: Cmd,
        twins: bool,
        kill_ms: Option<u64>,
        other: Option<&Other>,
    ) {
        let at = self.run_at(t);
        let started = Instant::now();
        let mut children = vec![self.spawn(&at, cmd.args(), None)];
        if twins {
            children.push(self.spawn(&at, cmd.args(), None));
        }
        // The moments (ms after the first start) of what follows: the first host's SIGKILL,
        // the second host's start and its SIGKILL.
        let mut b: Option<Child> = None;
        let mut a_kill = kill_ms;
        let mut b_start = other.map(|o| o.delay_ms);
        let mut b_kill = other.and_then(|o| o.kill_ms.map(|k| o.delay_ms + k));
        loop {
            let next = [a_kill, b_start, b_kill].into_iter().flatten().min();
            let Some(ms) = next else { break };
            let due = started + StdDuration::from_millis(ms);
            if let Some(left) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(left);
            }
            if a_kill == Some(ms) {
                a_kill = None;
                for c in &mut children {
                    let _ = c.kill();
                }
            } else if b_start == Some(ms) {
                b_start = None;
                let o = other.unwrap();
                b = Some(self.spawn_on(Host::CronB, &at, o.cmd.args(), None));
            } else {
                b_kill = None;
                if let Some(c) = &mut b {
                    let _ = c.kill();
                }
            }
        }
        for c in children {
            let code = self.wait(cmd.name(), c);
            self.finished(cmd.name(), t, code);
        }
        if let (Some(c), Some(o)) = (b, other) {
            let code = self.wait(&format!("{}@b", o.cmd.name()), c);
            self.finished(o.cmd.name(), t, code);
        }
    }

    fn stall(&mut self, t: DateTime<Utc>, cmd: Cmd, stop_ms: u64, over_ms: u64) {
        let at = self.run_at(t);
        let stalled = self.spawn(&at, cmd.args(), None);
        std::thread::sleep(StdDuration::from_millis(stop_ms));
        let pid = stalled.id() as i32;
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        // Past its lease, another run of the same command comes (cron's next tick, a retry).
        std::thread::sleep(StdDuration::from_millis(self.lease_secs * 1000 + over_ms));
        // It waits for the ledger's lock a few seconds at most (the stalled one may hold it).
        // On PostgreSQL it comes from the second cron host: a takeover across hosts.
        let (host, name) = self.second_host(Host::CronB, cmd);
        let other = self.spawn_on(
            host,
            &at.clone().env("STARK_BUSY_TIMEOUT_MS", "3000"),
            cmd.args(),
            None,
        );
        let code = self.wait(&name, other);
        self.finished(cmd.name(), t, code);
        unsafe { libc::kill(pid, libc::SIGCONT) };
        let code = self.wait(cmd.name(), stalled);
        self.finished(cmd.name(), t, code);
        match self.lost_a_lease() {
            Some("batch") => *self.seen.leases_lost.entry("stalled: batch").or_default() += 1,
            Some(_) => {
                *self
                    .seen
                    .leases_lost
                    .entry("stalled: transfer")
                    .or_default() += 1
            }
            None => {}
        }
    }

    fn skewed(&mut self, t: DateTime<Utc>, cmd: Cmd, secs: i64, after_ms: u64) {
        let at = self.run_at(t);
        let normal = self.spawn(&at, cmd.args(), None);
        std::thread::sleep(StdDuration::from_millis(after_ms));
        // On PostgreSQL the run ahead is the second cron host's: a host whose clock is ahead.
        let (host, name) = self.second_host(Host::CronB, cmd);
        let ahead = self.spawn_on(host, &at, cmd.args(), Some(secs));
        let code = self.wait(cmd.name(), normal);
        self.finished(cmd.name(), t, code);
        // A live run that lost its lease to a run whose clock is ahead: on one host, the
        // lease rules never let that happen (the owner is judged alive); across hosts, only
        // the wall clocks decide.
        let to_ahead = match self.lost_a_lease() {
            Some("batch") => Some("to a clock ahead: batch"),
            Some(_) => Some("to a clock ahead: transfer"),
            None => None,
        };
        if let Some(k) = to_ahead {
            *self.seen.leases_lost.entry(k).or_default() += 1;
        }
        let code = self.wait(&name, ahead);
        self.finished(cmd.name(), t, code);
    }

    /// Where the other run of a two-run scenario goes: `host` on PostgreSQL, here on SQLite;
    /// with the name its exits are counted under.
    fn second_host(&self, host: Host, cmd: Cmd) -> (Host, String) {
        match self.backend {
            Backend::Postgres => (host, format!("{}@b", cmd.name())),
            Backend::Sqlite => (Host::Here, cmd.name().to_string()),
        }
    }

    fn webhook_up(&mut self, t: DateTime<Utc>, replica: usize) {
        if self.backend == Backend::Postgres {
            if self.replicas[replica].is_none() {
                self.replicas[replica] = Some(self.spawn_replica(t, replica));
            }
            return;
        }
        self.webhook_wanted = true;
        if self.webhook.is_none() && !self.deleted {
            let mut w = self.run_at(t).spawn_webhook(&[]);
            // Registration can fail under faults; a real operator would retry, and so do we.
            w.listening(StdDuration::from_secs(10));
            self.webhook = Some(w);
        }
    }

    /// `serve-webhook --no-register` on the replica's own port (the webhook for it was
    /// registered once, by `stark webhook ensure`); waits up to 10 s until it listens.
    fn spawn_replica(&self, t: DateTime<Utc>, replica: usize) -> Replica {
        let port = self.ports[replica];
        let listen = format!("127.0.0.1:{port}");
        let url = replica_url(port);
        let c = self.run_at(t).command([
            "serve-webhook",
            "--listen",
            &listen,
            "--public-url",
            &url,
            "--no-register",
            "--json",
        ]);
        let host = if replica == 0 { Host::Here } else { Host::WebB };
        let mut child = on_host(c, host)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let recorded = self.recorded.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if v["type"] == "event" {
                    recorded[replica].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Drained to the end, so that it never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        let _ = rx.recv_timeout(StdDuration::from_secs(10));
        Replica { child }
    }

    fn webhook_down(&mut self, kill: bool, replica: usize) {
        if self.backend == Backend::Postgres {
            if let Some(mut r) = self.replicas[replica].take() {
                stop_child(&mut r.child, kill);
            }
            return;
        }
        self.webhook_wanted = false;
        if let Some(mut w) = self.webhook.take() {
            stop_child(&mut w.child, kill);
        }
    }

    fn backup(&mut self) {
        if self.deleted || !self.env.ledger.exists() {
            *self.seen.skipped.entry("backup (no ledger)").or_default() += 1;
            return;
        }
        let to = self
            .env
            .dir
            .path()
            .join(format!("backup-{}.sqlite3", self.backups.len()));
        let conn = rusqlite::Connection::open(&self.env.ledger).unwrap();
        conn.busy_timeout(StdDuration::from_secs(10)).unwrap();
        conn.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
            .unwrap();
        drop(conn);
        self.backups.push(to);
    }

    /// Put `from` in place of the ledger, with no -wal/-shm of the old file left behind; the
    /// webhook (which holds the ledger open) is stopped first and started again after.
    fn put_back(&mut self, t: DateTime<Utc>, from: &Path) {
        let wanted = self.webhook_wanted;
        self.webhook_down(false, 0);
        for f in ledger_files(&self.env.ledger) {
            let _ = std::fs::remove_file(f);
        }
        let tmp = self.env.dir.path().join("restoring.sqlite3");
        std::fs::copy(from, &tmp).unwrap();
        std::fs::rename(&tmp, &self.env.ledger).unwrap();
        self.deleted = false;
        if wanted {
            self.webhook_up(t, 0);
        }
    }

    fn restore(&mut self, t: DateTime<Utc>, pick: usize) {
        if self.deleted || self.backups.is_empty() {
            *self.seen.skipped.entry("restore (no backup)").or_default() += 1;
            return;
        }
        let from = self.backups[pick % self.backups.len()].clone();
        self.put_back(t, &from);
    }

    fn delete(&mut self) {
        if self.deleted || self.backups.is_empty() {
            *self.seen.skipped.entry("delete (no backup)").or_default() += 1;
            return;
        }
        let wanted = self.webhook_wanted;
        self.webhook_down(false, 0);
        self.webhook_wanted = wanted;
        for f in ledger_files(&self.env.ledger) {
            let _ = std::fs::remove_file(f);
        }
        self.deleted = true;
    }

    fn restore_latest(&mut self, t: DateTime<Utc>) {
        if !self.deleted {
            return;
        }
        let from = self.backups.last().unwrap().clone();
        self.put_back(t, &from);
    }

    /// `status --json`, then `transfer-credited --retry` for every credit it says waits for
    /// the operator: failed on every attempt, refused by the API, or stale (credited a while
    /// ago without a successful transfer — an impatient operator; `--retry` must refuse while
    /// a live transfer exists at the bank).
    fn operator(&mut self, t: DateTime<Utc>) {
        let at = self.run_at(t);
        let out = at.run(["status", "--json"]);
        let code = out.status.code();
        *self
            .seen
            .exits
            .entry(format!(
                "status:{}",
                code.map_or("killed".into(), |c| c.to_string())
            ))
            .or_default() += 1;
        self.check_deleted("status", code);
        let report: serde_json::Value =
            serde_json::from_str(&out.stdout()).unwrap_or(serde_json::Value::Null);
        let mut waiting: Vec<String> = ["failed_transfers", "rejected_transfers", "stale_credits"]
            .iter()
            .flat_map(|g| {
                report["attention"][g]["items"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|i| i["invoice_id"].as_str().map(str::to_string))
            .collect();
        waiting.sort();
        waiting.dedup();
        for invoice in waiting {
            let c = self.spawn(&at, &["transfer-credited", "--retry", &invoice], None);
            self.seen.retries += 1;
            let code = self.wait("transfer-credited --retry", c);
            self.check_deleted("transfer-credited --retry", code);
        }
    }

    fn new_campaign(&mut self, t: DateTime<Utc>, force: bool) {
        let at = self.run_at(t);
        let mut args = vec!["issue-invoices", "--new-campaign"];
        if force {
            args.push("--force");
        }
        let c = self.spawn(&at, &args, None);
        let code = self.wait(&args.join(" "), c);
        self.finished(Cmd::Issue.name(), t, code);
    }

    fn foreign(&mut self, other: &stark::api::Client, n: u32) {
        let invoices: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"amount": {}, "taxId": "012.345.678-90", "name": "Outra Ferramenta"}}"#,
                    1000 + i
                )
            })
            .collect();
        let body = format!(r#"{{"invoices": [{}]}}"#, invoices.join(","));
        // Faults may refuse or hold it; another tool's bad luck is not ours.
        let _ = self.env.rt.block_on(async {
            tokio::time::timeout(
                StdDuration::from_secs(3),
                other.create_invoices_raw(body.as_bytes()),
            )
            .await
        });
    }
}

/// Stop a `serve-webhook`: SIGKILL, or SIGTERM and wait (40 s at most).
fn stop_child(child: &mut Child, kill: bool) {
    if kill {
        let _ = child.kill();
    } else {
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    }
    let deadline = Instant::now() + StdDuration::from_secs(40);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve-webhook did not stop within 40 s of SIGTERM");
        }
        std::thread::sleep(StdDuration::from_millis(10));
    }
}

/// A count from the ledger: `sqlite` on a SQLite file (0 when there is none), `pg` on
/// PostgreSQL (with `psql`).
fn count(env: &Env, backend: Backend, sqlite: &str, pg: &str) -> i64 {
    match backend {
        Backend::Postgres => testing::psql(env.ledger.to_str().unwrap(), pg)
            .trim()
            .parse()
            .unwrap_or(0),
        Backend::Sqlite if !env.ledger.exists() => 0,
        Backend::Sqlite => env
            .sqlite_conn()
            .query_row(sqlite, [], |r| r.get(0))
            .unwrap_or(0),
    }
}

/// What a seed drew and what came of it.
struct Outcome {
    audit: Option<audit::Audit>,
    seen: Seen,
    faults: BTreeMap<String, usize>,
    scenarios: BTreeMap<&'static str, usize>,
    failure: Option<String>,
}

fn simulate(seed: u64, backend: Backend) -> Outcome {
    let sched = schedule(seed, backend);
    let mut faults = BTreeMap::new();
    let mut scenarios = BTreeMap::new();
    for s in &sched.steps {
        if let Action::Faults(rules) = &s.action {
            for r in rules {
                *faults.entry(fault_name(r).to_string()).or_default() += 1;
            }
        }
        if let Some(name) = s.action.scenario() {
            *scenarios.entry(name).or_default() += 1;
        }
        match &s.action {
            Action::Run { other: Some(o), .. } => {
                *scenarios.entry("second-cron-host").or_default() += 1;
                if o.kill_ms.is_some() {
                    *scenarios.entry("second-cron-host-sigkill").or_default() += 1;
                }
            }
            Action::WebhookUp { replica: 1 } => {
                *scenarios.entry("second-replica-window").or_default() += 1;
            }
            _ => {}
        }
    }
    let customize = |c: &mut stark::sandbox::SandboxConfig| {
        c.seed = seed;
        c.pay_rate = 0.85;
        c.pay_delay = (Duration::minutes(10), Duration::hours(3));
    };
    let mut ports = [0, 0];
    let env = match backend {
        Backend::Sqlite => Env::new(customize),
        Backend::Postgres => {
            // A fresh database is the ledger: its URL goes everywhere the file's path would.
            let mut env = Env::without_ledger(customize);
            let label = format!("simulation seed {seed}");
            let url = testing::pg_test_database(&label)
                .expect("the caller checked that there is a PostgreSQL test server");
            env.ledger = PathBuf::from(url);
            env
        }
    };
    if backend == Backend::Postgres || (refuses_missing_ledger() && !env.ledger.exists()) {
        // No command creates a ledger implicitly any more: the operator's first step.
        env.cmd().run(["init"]).success();
    }
    if backend == Backend::Postgres {
        // The deploy step for replicas behind a load balancer, once per replica: each has a
        // webhook of its own, so that the bank delivers every event to both (whichever
        // answers 200 first marks it delivered; the other's retries then stop).
        for p in &mut ports {
            *p = free_port();
            env.cmd()
                .run(["webhook", "ensure", "--url", &replica_url(*p)])
                .success();
        }
    }
    let mut sim = Sim {
        env: &env,
        backend,
        lease_secs: sched.lease_secs,
        webhook: None,
        webhook_wanted: false,
        replicas: [None, None],
        ports,
        recorded: Recorded::default(),
        stderrs: Default::default(),
        last_stderr: Vec::new(),
        backups: Vec::new(),
        deleted: false,
        seen: Seen::default(),
    };
    let (audit, failure) = drive(&mut sim, &sched);
    for (seen, n) in sim
        .seen
        .replica_deliveries
        .iter_mut()
        .zip(sim.recorded.iter())
    {
        *seen = n.load(std::sync::atomic::Ordering::Relaxed);
    }
    let failure = failure.map(|msg| format!("seed {seed}: {msg}\nschedule:\n{sched}"));
    Outcome {
        audit,
        seen: sim.seen,
        faults,
        scenarios,
        failure,
    }
}

fn drive(sim: &mut Sim<'_>, sched: &Schedule) -> (Option<audit::Audit>, Option<String>) {
    let env = sim.env;
    let foreign = env.other_client();
    let trace = std::env::var_os("SIM_TRACE").is_some();
    let skip = std::env::var("SIM_SKIP").unwrap_or_default();
    let skip: Vec<&str> = skip
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for step in &sched.steps {
        let started = Instant::now();
        let t = env.t0 + step.at;
        if let Some(name) = step.action.scenario().filter(|n| skip.contains(n)) {
            *sim.seen.skipped.entry(name).or_default() += 1;
            continue;
        }
        env.sandbox().set_time(t);
        env.flush();
        match &step.action {
            Action::Run {
                cmd,
                twins,
                kill_ms,
                other,
            } => sim.run_cmd(t, *cmd, *twins, *kill_ms, other.as_ref()),
            Action::WebhookUp { replica } => sim.webhook_up(t, *replica),
            Action::WebhookDown { kill, replica } => sim.webhook_down(*kill, *replica),
            Action::Faults(rules) => {
                let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
                env.faults(&rules)
            }
            Action::Foreign(n) => sim.foreign(&foreign, *n),
            Action::Stall {
                cmd,
                stop_ms,
                over_ms,
            } => sim.stall(t, *cmd, *stop_ms, *over_ms),
            Action::Skewed {
                cmd,
                secs,
                after_ms,
            } => sim.skewed(t, *cmd, *secs, *after_ms),
            Action::Backup => sim.backup(),
            Action::Restore { pick } => sim.restore(t, *pick),
            Action::Delete => sim.delete(),
            Action::RestoreLatest => sim.restore_latest(t),
            Action::Operator => sim.operator(t),
            Action::NewCampaign { force } => sim.new_campaign(t, *force),
        }
        if trace {
            eprintln!(
                "  {:>6.2} s  +{:02}:{:02}  {:?}",
                started.elapsed().as_secs_f64(),
                step.at.num_hours(),
                step.at.num_minutes() % 60,
                step.action
            );
        }
    }
    // The good day starts after the last step (business time never goes back: a tick dated
    // before a campaign that exists would be counted for the one before it).
    let last = sched.steps.last().map_or(Duration::zero(), |s| s.at);
    let end = env.t0 + Duration::hours(25).max(last);
    sim.restore_latest(end);
    sim.webhook_down(true, 0);
    sim.webhook_down(true, 1);
    // Settle: a good day follows; cron keeps running (on both hosts, on PostgreSQL), until
    // every campaign is over (a late `--new-campaign` runs a day past the schedule) and
    // nothing is left open.
    env.faults(&[]);
    let both = |cmd: Cmd| {
        (sim.backend == Backend::Postgres).then_some(Other {
            cmd,
            delay_ms: 20,
            kill_ms: None,
        })
    };
    let (issue_b, reconcile_b) = (both(Cmd::Issue), both(Cmd::Reconcile));
    let mut t = end;
    for _ in 0..60 {
        t += Duration::minutes(30);
        env.sandbox().set_time(t);
        env.flush();
        sim.run_cmd(t, Cmd::Issue, false, None, issue_b.as_ref());
        sim.run_cmd(t, Cmd::Reconcile, false, None, reconcile_b.as_ref());
        let open_transfers = "SELECT COUNT(*) FROM transfers WHERE status IN ('claimed', 'sending', 'created', 'processing')";
        let open_batches = "SELECT COUNT(*) FROM batches WHERE status IN ('planned', 'sending')";
        let open = count(env, sim.backend, open_transfers, open_transfers)
            + count(env, sim.backend, open_batches, open_batches);
        let campaigns_end = count(
            env,
            sim.backend,
            "SELECT COALESCE(MAX(CAST(strftime('%s', started_at) AS INTEGER) + interval_secs * slots), 0) FROM campaigns",
            "SELECT COALESCE(MAX(CAST(EXTRACT(EPOCH FROM started_at::timestamptz) AS BIGINT) + interval_secs * slots), 0) FROM campaigns",
        );
        let over = t > env.t0 + Duration::hours(28)
            && t.timestamp() > campaigns_end + Duration::hours(2).num_seconds();
        if open == 0 && over {
            break;
        }
    }
    let ledger = match stark::ledger::Ledger::open(&env.ledger) {
        Ok(l) => l,
        Err(e) => return (None, Some(format!("ledger: {e}"))),
    };
    let expect = Expectations {
        batches: 8,
        min_invoices: 8,
        max_invoices: 12,
        max_attempts: 3,
        issue_ticks: sim.seen.issue_ticks.clone(),
    };
    let a = match audit::audit(&env.truth(), &ledger, Some(&expect), true) {
        Ok(a) => a,
        Err(e) => return (None, Some(format!("audit: {e}"))),
    };
    let mut violations = a.violations.clone();
    violations.extend(sim.seen.violations.iter().cloned());
    if let (false, Ok(dir)) = (violations.is_empty(), std::env::var("SIM_KEEP")) {
        let truth = env.truth();
        let dir = PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        let name = format!("seed-{}", sched.seed);
        match sim.backend {
            Backend::Sqlite => {
                let _ = std::fs::copy(&env.ledger, dir.join(format!("{name}.sqlite3")));
            }
            // The database stays on the test server (until its cluster goes): say where.
            Backend::Postgres => {
                let _ = std::fs::write(
                    dir.join(format!("{name}-ledger.url")),
                    format!("{}\n", env.ledger.display()),
                );
            }
        }
        let _ = std::fs::write(
            dir.join(format!("{name}-truth.json")),
            serde_json::to_string_pretty(&truth).unwrap_or_default(),
        );
    }
    let failure = if !violations.is_empty() {
        Some(format!("violations:\n  {}", violations.join("\n  ")))
    } else if a.batches == 0 {
        Some("no batch issued at all".into())
    } else {
        None
    };
    (Some(a), failure)
}

/// Totals over the seeds of one run, printed at its end.
#[derive(Default)]
struct Summary {
    backend: Option<Backend>,
    seeds: usize,
    failed: Vec<u64>,
    secs: Vec<f64>,
    batches: usize,
    invoices: usize,
    credited: usize,
    transferred: usize,
    failed_attempts: usize,
    waiting: usize,
    foreign: usize,
    retries: usize,
    watchdog_kills: usize,
    implicit_ledgers: usize,
    refused_missing: usize,
    replica_deliveries: [usize; 2],
    leases_lost: BTreeMap<&'static str, usize>,
    exit1: BTreeMap<String, usize>,
    faults: BTreeMap<String, usize>,
    scenarios: BTreeMap<&'static str, usize>,
    exits: BTreeMap<String, usize>,
    skipped: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn add(&mut self, seed: u64, o: &Outcome, secs: f64) {
        self.seeds += 1;
        self.secs.push(secs);
        if o.failure.is_some() {
            self.failed.push(seed);
        }
        if let Some(a) = &o.audit {
            self.batches += a.batches;
            self.invoices += a.invoices;
            self.credited += a.credited;
            self.transferred += a.transferred;
            self.failed_attempts += a.failed_attempts;
            self.waiting += a.waiting_for_operator;
            self.foreign += a.foreign_credited;
        }
        self.retries += o.seen.retries;
        for (to, n) in self
            .replica_deliveries
            .iter_mut()
            .zip(o.seen.replica_deliveries)
        {
            *to += n;
        }
        self.watchdog_kills += o.seen.watchdog_kills;
        self.implicit_ledgers += o.seen.implicit_ledgers;
        self.refused_missing += o.seen.refused_missing;
        let merge = |to: &mut BTreeMap<String, usize>, from: &BTreeMap<String, usize>| {
            for (k, v) in from {
                *to.entry(k.clone()).or_default() += v;
            }
        };
        merge(&mut self.faults, &o.faults);
        merge(&mut self.exits, &o.seen.exits);
        merge(&mut self.exit1, &o.seen.exit1);
        for (k, v) in &o.scenarios {
            *self.scenarios.entry(k).or_default() += v;
        }
        for (k, v) in &o.seen.leases_lost {
            *self.leases_lost.entry(k).or_default() += v;
        }
        for (k, v) in &o.seen.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: f64 = self.secs.iter().sum();
        let max = self.secs.iter().copied().fold(0.0, f64::max);
        let topology = match self.backend {
            Some(Backend::Postgres) => format!(
                "PostgreSQL, 2 webhook replicas, 2 cron hosts (own host names: {})",
                hosts_have_names()
            ),
            _ => "SQLite, 1 webhook, 1 cron host".to_string(),
        };
        writeln!(
            f,
            "simulation summary ({topology}): {} seeds, {} failed {:?}; {:.1} s/seed (max {max:.1}, total {total:.0} s)",
            self.seeds,
            self.failed.len(),
            self.failed,
            total / self.seeds.max(1) as f64
        )?;
        writeln!(
            f,
            "  batches {}, invoices {}, credited {}, transferred {}, failed attempts {}, waiting for the operator {}, foreign credits {}",
            self.batches,
            self.invoices,
            self.credited,
            self.transferred,
            self.failed_attempts,
            self.waiting,
            self.foreign
        )?;
        writeln!(
            f,
            "  operator retries {}, watchdog kills {}, runs on a deleted ledger: {} refused (exit 2), {} ran on a fresh one (stark init: {})",
            self.retries,
            self.watchdog_kills,
            self.refused_missing,
            self.implicit_ledgers,
            refuses_missing_ledger()
        )?;
        if self.backend == Some(Backend::Postgres) {
            writeln!(
                f,
                "  deliveries recorded by webhook replica 1: {}, replica 2: {}",
                self.replica_deliveries[0], self.replica_deliveries[1]
            )?;
        }
        writeln!(f, "  leases lost by a live run: {:?}", self.leases_lost)?;
        writeln!(f, "  faults drawn: {:?}", self.faults)?;
        writeln!(f, "  scenarios drawn: {:?}", self.scenarios)?;
        writeln!(f, "  skipped: {:?}", self.skipped)?;
        writeln!(f, "  exits: {:?}", self.exits)?;
        write!(f, "  exit 1, why: {:#?}", self.exit1)
    }
}

/// The seeds of this run: `SIM_SEED`, else `SIM_RUNS` (default 2 on SQLite, 1 on PostgreSQL,
/// whose seeds take longer: two cron hosts, two replicas) from `SIM_BASE` (default 1).
fn seeds(backend: Backend) -> Vec<u64> {
    let default_runs = match backend {
        Backend::Sqlite => 2,
        Backend::Postgres => 1,
    };
    match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED is a number")],
        Err(_) => {
            let runs: u64 = std::env::var("SIM_RUNS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default_runs);
            let base: u64 = std::env::var("SIM_BASE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            (base..base + runs).collect()
        }
    }
}

/// The tests of this file run one after the other: each drives real processes against
/// leases of seconds, and two at once on a small machine would time each other out.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run_seeds(backend: Backend, label: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if backend == Backend::Postgres && testing::pg_test_server().is_none() {
        // Prints SKIP (and fails under CI=true).
        assert!(testing::pg_test_database(label).is_none());
        return;
    }
    let mut summary = Summary {
        backend: Some(backend),
        ..Summary::default()
    };
    for seed in seeds(backend) {
        let started = Instant::now();
        let o = simulate(seed, backend);
        let secs = started.elapsed().as_secs_f64();
        match (&o.failure, &o.audit) {
            (Some(e), _) => eprintln!("FAILED {e}"),
            (None, Some(a)) => eprintln!(
                "seed {seed}: {} batches, {} invoices, {} credited, {} transferred, {} failed attempts, {} waiting for the operator, {} foreign, scenarios {:?} ({secs:.1} s)",
                a.batches,
                a.invoices,
                a.credited,
                a.transferred,
                a.failed_attempts,
                a.waiting_for_operator,
                a.foreign_credited,
                o.scenarios
            ),
            (None, None) => unreachable!("an outcome without an audit has a failure"),
        }
        if !o.seen.leases_lost.is_empty() {
            eprintln!(
                "seed {seed}: leases lost by a live run: {:?}",
                o.seen.leases_lost
            );
        }
        summary.add(seed, &o, secs);
    }
    eprintln!("{summary}");
    assert!(
        summary.failed.is_empty(),
        "failing seeds (replay with SIM_SEED=N): {:?}",
        summary.failed
    );
}

/// On the backend under test (`STARK_TEST_BACKEND`, SQLite by default).
#[test]
fn randomized_campaigns_keep_the_promise() {
    run_seeds(
        testing::backend_under_test(),
        "simulation::randomized_campaigns_keep_the_promise",
    );
}

/// On PostgreSQL, whatever the backend under test: one database per seed, two webhook
/// replicas, two cron hosts. SKIP without a test server (`tests/run` starts one).
#[test]
fn simulation_on_postgres() {
    if testing::backend_under_test() == Backend::Postgres {
        eprintln!(
            "simulation_on_postgres: STARK_TEST_BACKEND=postgres, so randomized_campaigns_keep_the_promise runs these seeds on PostgreSQL"
        );
        return;
    }
    run_seeds(Backend::Postgres, "simulation::simulation_on_postgres");
}
