//! Every `stark …` command line shown in README.md, BENCHMARKS.md or docs/*.md (in a shell
//! block, or inline as a code span) parses with the current command line: a flag renamed or
//! removed breaks it.

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

/// The inline code spans of `text` that are whole `stark` command lines, outside HTML comments
/// (notes for maintainers) and without placeholders (`<invoice id>`, `…`) or table escapes.
fn inline_lines(text: &str) -> Vec<Vec<String>> {
    let mut visible = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        visible.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    visible.push_str(rest);
    visible
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("stark ") && !span.contains('\n'))
        .filter(|span| {
            !["<", "…", "...", "\\|", "$"]
                .iter()
                .any(|p| span.contains(p))
        })
        // `stark status --json | head -1`: the part before a pipe is stark's.
        .map(|span| span.split(" | ").next().unwrap_or(span))
        .map(|span| span.split_whitespace().map(str::to_string).collect())
        .collect()
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
        for argv in command_lines(&text).into_iter().chain(inline_lines(&text)) {
            checked += 1;
            if let Err(e) = stark::cli::try_parse_from(&argv) {
                use clap::error::ErrorKind::{
                    DisplayHelp, DisplayVersion, MissingRequiredArgument,
                };
                // `stark completions` names a command (in a heading or a table), not a run.
                let names_a_command = argv.len() == 2 && e.kind() == MissingRequiredArgument;
                if !matches!(e.kind(), DisplayHelp | DisplayVersion) && !names_a_command {
                    broken.push(format!("{name}: `{}`: {}", argv.join(" "), e.kind()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // The extraction found the README's commands (a change of fence or prompt would hide them).
    assert!(checked >= 80, "only {checked} command lines found");
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

#[test]
fn inline_spans_skip_comments_and_placeholders() {
    let text = "run `stark status --json` or `stark x <id>`; `cargo test`\n<!-- `stark log` -->`stark doctor`";
    assert_eq!(
        inline_lines(text),
        [vec!["stark", "status", "--json"], vec!["stark", "doctor"]]
    );
}
