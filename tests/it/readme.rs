//! Every `stark …` command line shown in a shell block of README.md, BENCHMARKS.md or
//! docs/*.md parses with the current command line (flags renamed or removed break it).

use std::path::Path;

/// The `stark` command lines of the ```sh blocks of `text`: the words of each, up to a shell
/// comment, redirection or pipe. `cargo run [...] -- ARGS` counts as `stark ARGS` (not with
/// `--example`). Lines with shell variables are left out: their words are not known here.
fn command_lines(text: &str) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(fence) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && matches!(fence, "sh" | "bash" | "console");
            continue;
        }
        if !in_sh || trimmed.contains('$') {
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let args: Vec<&str> = if words.first() == Some(&"stark") {
            words[1..].to_vec()
        } else if words.starts_with(&["cargo", "run"]) && !words.contains(&"--example") {
            match words.iter().position(|w| *w == "--") {
                Some(i) => words[i + 1..].to_vec(),
                None => continue,
            }
        } else {
            continue;
        };
        let mut argv = vec!["stark".to_string()];
        for w in args {
            if w.starts_with('#') || matches!(w, ">" | ">>" | "|" | "&&" | ";" | "2>&1") {
                break;
            }
            // Quotes are the shell's: `'{"a": 1}'` is one word to stark.
            argv.push(w.trim_matches(|c| c == '\'' || c == '"').to_string());
        }
        lines.push(argv);
    }
    lines
}

#[test]
fn every_documented_command_line_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut checked = 0;
    let mut broken = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let name = file.strip_prefix(root).unwrap().display().to_string();
        for argv in command_lines(&text) {
            checked += 1;
            if let Err(e) = stark::cli::try_parse_from(&argv) {
                use clap::error::ErrorKind::{DisplayHelp, DisplayVersion};
                if !matches!(e.kind(), DisplayHelp | DisplayVersion) {
                    broken.push(format!("{name}: `{}`: {}", argv.join(" "), e.kind()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // The extraction found the README's commands (a change of fence or prompt would hide them).
    assert!(checked >= 30, "only {checked} command lines found");
}

#[test]
fn the_extractor_reads_shell_blocks_only() {
    let text = "stark nope\n```sh\nstark status --json   # data\ncargo run --release -- demo\n\
        cargo run --example verify_event -- --body x\nstark x $HOME\n```\n```text\nstark bad\n```\n";
    assert_eq!(
        command_lines(text),
        [vec!["stark", "status", "--json"], vec!["stark", "demo"]]
    );
}
