//! The completion scripts checked in under `completions/` match the current command line.
//! Another subcommand or flag changes them: regenerate as the failure message says.

use stark::cli::completions::{FILES, generate};

#[test]
fn checked_in_completions_match_the_current_cli() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let mut stale = Vec::new();
    for (shell, file) in FILES {
        let expected = generate(*shell);
        assert!(expected.contains("issue-invoices") && expected.contains("status"));
        let path = dir.join(file);
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        if found != expected {
            stale.push(format!(
                "completions/{file} is out of date; regenerate it with `cargo run -- completions {shell} > completions/{file}`"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n(or all at once: see \"stark completions\" in docs/commands.md)",
        stale.join("\n")
    );
}

#[test]
fn the_binary_prints_the_same_script() {
    let out = assert_cmd::Command::cargo_bin("stark")
        .unwrap()
        .args(["completions", "fish"])
        .assert()
        .success();
    assert_eq!(
        String::from_utf8(out.get_output().stdout.clone()).unwrap(),
        generate(clap_complete::Shell::Fish)
    );
}
