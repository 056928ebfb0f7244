//! Help, colour, `--version` and the man pages: what an operator reads before anything runs.

use std::path::Path;

use super::harness::bare;

/// Every subcommand's name (clap's own `help` left out).
fn subcommands() -> Vec<String> {
    stark::cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect()
}

fn help_of(name: &str) -> String {
    let mut cmd = stark::cli::command();
    cmd.build();
    let sub = cmd.find_subcommand_mut(name).unwrap();
    sub.render_help().to_string()
}

/// Each command lists its own flags first, then the global ones under "Global options".
#[test]
fn help_lists_own_flags_then_global_options() {
    let top = stark::cli::command();
    for name in subcommands() {
        let help = help_of(&name);
        let global_at = help
            .find("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("no Global options heading in `{name} --help`:\n{help}"));
        let sub = top.find_subcommand(&name).unwrap();
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_positional() && !a.is_global_set())
        {
            let long = format!("--{}", arg.get_long().unwrap());
            let at = help
                .find(&format!(" {long}"))
                .unwrap_or_else(|| panic!("{long} missing from `{name} --help`:\n{help}"));
            assert!(
                at < global_at,
                "`{name} --help` lists its own {long} after Global options:\n{help}"
            );
        }
        // The global flags that apply are there, after the heading.
        let after = &help[global_at..];
        for flag in ["--json", "--color"] {
            if name != "completions" || flag == "--color" {
                assert!(
                    after.contains(flag),
                    "`{name} --help` lacks {flag}:\n{help}"
                );
            }
        }
    }
}

#[test]
fn options_that_mean_nothing_are_hidden_but_still_accepted() {
    let meaningless = [
        "--ledger",
        "--project-id",
        "--private-key",
        "--environment",
        "--api-url",
    ];
    for name in ["keygen", "completions", "sandbox"] {
        let help = help_of(name);
        for flag in meaningless {
            if name == "sandbox" && flag == "--project-id" {
                // The emulator's own: the projects it accepts.
                assert!(help.contains("--project-id <ID>"), "{help}");
                continue;
            }
            assert!(
                !help.contains(&format!("{flag} ")),
                "`{name} --help` shows {flag}:\n{help}"
            );
        }
    }
    for name in ["keygen", "completions"] {
        assert!(!help_of(name).contains("--config "), "{name}");
    }
    // The real binary's help too.
    let home = tempfile::tempdir().unwrap();
    let out = bare(home.path()).run(["keygen", "--help"]).success();
    assert!(!out.stdout().contains("--ledger"), "{}", out.stdout());
    assert!(out.stdout().contains("Global options:"), "{}", out.stdout());
    // Hidden is not refused: a script that passes them keeps working.
    for line in [
        "stark keygen --ledger x.sqlite3 --project-id 1 --dir keys",
        "stark completions --ledger x.sqlite3 bash",
        "stark sandbox --ledger x.sqlite3 --api-url http://x --project-id 1 --public-key k.pem",
    ] {
        let cli = stark::cli::try_parse_from(line.split_whitespace())
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            cli.global.ledger.as_deref(),
            Some(Path::new("x.sqlite3")),
            "{line}"
        );
    }
    // Commands that use them still show them.
    for name in ["issue-invoices", "doctor", "transfer-credited", "reconcile"] {
        let help = help_of(name);
        for flag in meaningless {
            assert!(help.contains(flag), "`{name} --help` lacks {flag}");
        }
    }
}

/// Every EXAMPLES line parses as the command it illustrates, and every command has some.
#[test]
fn every_command_has_examples_and_each_one_parses() {
    for name in subcommands() {
        let examples = stark::cli::EXAMPLES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no examples for {name}"));
        assert!(!examples.1.is_empty(), "{name}");
        let help = help_of(&name);
        assert!(help.contains("\nExamples:\n"), "{help}");
        for (line, _) in examples.1 {
            assert!(help.contains(&format!("$ {line}\n")), "{line} not in help");
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words[..2], ["stark", name.as_str()], "{line}");
            if let Err(e) = stark::cli::try_parse_from(&words) {
                panic!("example `{line}` does not parse:\n{e}");
            }
        }
    }
}

/// A missing ledger is an error for `status`; its `error:` label shows the colour decision.
fn error_label(vars: &[(&str, &str)], args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.sqlite3");
    let mut run = bare(home.path());
    for (k, v) in vars {
        run = run.env(k, v);
    }
    let out = run
        .args(args)
        .run(["status", "--ledger", missing.to_str().unwrap()])
        .exits(2);
    unstamped(&out.stderr())
}

/// A line of stderr without the time and command name it starts with when stderr is not a
/// terminal (`2026-03-02T03:00:00Z status error: …`).
fn unstamped(line: &str) -> String {
    let mut parts = line.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(t), Some(_), Some(rest)) if t.ends_with('Z') && t.contains('T') => rest.to_string(),
        _ => line.to_string(),
    }
}

const RED_ERROR: &str = "\x1b[1;31merror:\x1b[0m ";

#[test]
fn colour_follows_color_no_color_and_clicolor_force() {
    // Piped, by default: plain.
    let plain = error_label(&[], &[]);
    assert!(plain.starts_with("error: "), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    // --color always colours even when piped, and beats NO_COLOR.
    let always = error_label(&[("NO_COLOR", "1")], &["--color", "always"]);
    assert!(always.starts_with(RED_ERROR), "{always:?}");
    // CLICOLOR_FORCE colours a pipe in auto ...
    let forced = error_label(&[("CLICOLOR_FORCE", "1")], &[]);
    assert!(forced.starts_with(RED_ERROR), "{forced:?}");
    // ... but not with NO_COLOR, nor with --color never.
    for (vars, args) in [
        (&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")][..], &[][..]),
        (&[("CLICOLOR_FORCE", "1")][..], &["--color=never"][..]),
    ] {
        let text = error_label(vars, args);
        assert!(
            text.starts_with("error: ") && !text.contains('\x1b'),
            "{text:?}"
        );
    }
}

#[test]
fn doctor_paints_fail_red_and_warn_yellow_only_when_asked() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.sqlite3");
    let args = ["doctor", "--ledger", missing.to_str().unwrap()];
    let coloured = bare(home.path())
        .arg("--color=always")
        .run(args)
        .exits(2)
        .stdout();
    assert!(
        coloured.contains("\x1b[31mFAIL\x1b[0m  project id"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[33mwarn\x1b[0m  api"), "{coloured}");
    assert!(
        coloured.contains("\npass  "),
        "pass stays plain: {coloured}"
    );
    let plain = bare(home.path()).run(args).exits(2).stdout();
    assert!(plain.contains("FAIL  project id"), "{plain}");
    assert!(!plain.contains('\x1b'), "{plain}");
}

/// `stark --version`: the commit and its date in a git checkout (`cargo -V` style).
#[test]
fn version_names_the_commit_and_its_date() {
    let home = tempfile::tempdir().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    for (args, name) in [
        (&["--version"][..], "stark"),
        (&["status", "-V"][..], "stark-status"),
    ] {
        let out = bare(home.path()).run(args).success().stdout();
        let line = out.strip_suffix('\n').unwrap();
        let rest = line
            .strip_prefix(&format!("{name} {version}"))
            .unwrap_or_else(|| panic!("{line:?}"));
        let in_git = std::process::Command::new("git")
            .args(["rev-parse", "--short=7", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success());
        match in_git {
            Some(_) => {
                let inner = rest
                    .strip_prefix(" (")
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("no (commit date) in {line:?}"));
                let (commit, date) = inner.split_once(' ').unwrap();
                assert!(
                    commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit()),
                    "{line:?}"
                );
                assert!(
                    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
                    "{line:?}"
                );
            }
            // Built outside a checkout (a tarball): the version alone.
            None => assert_eq!(rest, "", "{line:?}"),
        }
    }
}

/// The man pages checked in under `man/` (`stark.1`, `stark-<command>.1`) match the command
/// line. Regenerate with `STARK_REGEN=1 cargo test --test it man_pages`.
#[test]
fn man_pages_match_the_current_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let fresh = tempfile::tempdir().unwrap();
    // The crate version alone: the commit would change the pages at every commit.
    let cmd = stark::cli::command().version(env!("CARGO_PKG_VERSION"));
    clap_mangen::generate_to(cmd, fresh.path()).unwrap();
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|r| {
                r.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".1"))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let expected = names(fresh.path());
    assert!(expected.contains(&"stark.1".to_string()), "{expected:?}");
    assert!(expected.contains(&"stark-issue-invoices.1".to_string()));
    if std::env::var_os("STARK_REGEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for old in names(&dir) {
            std::fs::remove_file(dir.join(old)).unwrap();
        }
        for name in &expected {
            std::fs::copy(fresh.path().join(name), dir.join(name)).unwrap();
        }
    }
    let mut stale = Vec::new();
    for name in &expected {
        let want = std::fs::read_to_string(fresh.path().join(name)).unwrap();
        let found = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        if want != found {
            stale.push(format!("man/{name} is out of date"));
        }
    }
    for name in names(&dir) {
        if !expected.contains(&name) {
            stale.push(format!("man/{name} is for a command that no longer exists"));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nregenerate them with `STARK_REGEN=1 cargo test --test it man_pages`",
        stale.join("\n")
    );
    let top = std::fs::read_to_string(dir.join("stark.1")).unwrap();
    assert!(
        top.contains("issue\\-invoices"),
        "the top page lists the commands"
    );
}

/// `stark ARGS` with stderr on a fresh pseudo-terminal (stdout piped): what it wrote there.
fn stderr_on_a_terminal(run: &super::harness::Run, args: &[&str]) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors into the pointers given; the others are null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened for us and are owned nowhere else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = run
        .command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(slave)
        .spawn()
        .unwrap();
    child.wait().unwrap();
    // The child is gone and our copy of the slave end was moved into it: reading the master
    // gives what it wrote, then EIO.
    let mut text = Vec::new();
    let mut master = std::fs::File::from(master);
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// `auto`, the default, colours a terminal, and not with NO_COLOR.
#[test]
fn auto_colours_a_terminal_unless_no_color() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.sqlite3");
    let args = ["status", "--ledger", missing.to_str().unwrap()];
    let tty = stderr_on_a_terminal(&bare(home.path()), &args);
    assert!(tty.starts_with(RED_ERROR), "{tty:?}");
    let no_color = stderr_on_a_terminal(&bare(home.path()).env("NO_COLOR", "1"), &args);
    assert!(
        no_color.starts_with("error: ") && !no_color.contains('\x1b'),
        "{no_color:?}"
    );
    let never = stderr_on_a_terminal(&bare(home.path()).arg("--color=never"), &args);
    assert!(
        never.starts_with("error: ") && !never.contains('\x1b'),
        "{never:?}"
    );
}
