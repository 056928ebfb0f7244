//! Colour on stark's own output: whether to paint, and the few paints there are.
//!
//! `--color auto|always|never` (a global flag) decides; `auto`, the default, paints only on a
//! terminal, never when `NO_COLOR` is set, and also when piped if `CLICOLOR_FORCE` is set to
//! anything but `0` (the conventions of no-color.org and bixense.com/clicolors). The choice is
//! recorded once at start ([`set_choice`]) and read by every painter, so a command never has to
//! pass it around: `eprintln!("{}", style::error_label(Stream::Stderr))`.
//!
//! Red for failures (`FAIL`, `error:`), yellow for warnings (`warn`, `warning:`). Nothing else
//! is coloured: a colour is a signal, not decoration.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// `--color`: when stark's own output is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    // On a terminal, unless `NO_COLOR` is set (`CLICOLOR_FORCE` forces it when piped).
    #[default]
    Auto,
    // Always, even when piped.
    Always,
    Never,
}

/// The stream a painted text is written to (`auto` asks whether that one is a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Record the command line's choice (the first call wins; [`crate::cli::run`] makes it).
pub fn set_choice(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// The recorded choice (`auto` until one is recorded).
pub fn choice() -> ColorChoice {
    CHOICE.get().copied().unwrap_or_default()
}

/// The decision itself, with what it depends on given: `--color`, whether `NO_COLOR` is set,
/// whether `CLICOLOR_FORCE` is set (and not `0`), and whether the stream is a terminal.
pub fn decide(choice: ColorChoice, no_color: bool, clicolor_force: bool, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && (clicolor_force || terminal),
    }
}

/// Whether text written to `stream` is coloured now.
pub fn enabled(stream: Stream) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some();
    let force = std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0");
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    decide(choice(), no_color, force, terminal)
}

const RED: &str = "\x1b[31m";
const BOLD_RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

fn paint(text: &str, code: &str, on: bool) -> String {
    if on {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// `text` in red when `stream` is coloured (failures).
pub fn red(text: &str, stream: Stream) -> String {
    paint(text, RED, enabled(stream))
}

/// `text` in yellow when `stream` is coloured (warnings).
pub fn yellow(text: &str, stream: Stream) -> String {
    paint(text, YELLOW, enabled(stream))
}

/// `error:`, bold red when `stream` is coloured.
pub fn error_label(stream: Stream) -> String {
    paint("error:", BOLD_RED, enabled(stream))
}

/// `warning:`, yellow when `stream` is coloured.
pub fn warning_label(stream: Stream) -> String {
    yellow("warning:", stream)
}

/// The colour choice given on a raw command line (`--color X` or `--color=X`, the last one
/// wins), read before clap parses it so that clap's own help and errors follow it too.
pub fn choice_in_args<I, S>(args: I) -> Option<ColorChoice>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use clap::ValueEnum;
    let mut found = None;
    let mut take_next = false;
    for arg in args {
        let Some(arg) = arg.as_ref().to_str() else {
            take_next = false;
            continue;
        };
        if arg == "--" {
            break;
        }
        let value = if take_next {
            Some(arg)
        } else {
            arg.strip_prefix("--color=")
        };
        take_next = arg == "--color";
        if let Some(c) = value.and_then(|v| ColorChoice::from_str(v, false).ok()) {
            found = Some(c);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_and_never_beat_the_environment_and_auto_follows_it() {
        use ColorChoice::*;
        // (choice, NO_COLOR, CLICOLOR_FORCE, terminal) -> colour
        let table = [
            (Always, true, false, false, true),
            (Never, false, true, true, false),
            (Auto, false, false, true, true),
            (Auto, false, false, false, false),
            (Auto, true, false, true, false),
            (Auto, false, true, false, true),
            (Auto, true, true, true, false),
        ];
        for (choice, no_color, force, tty, want) in table {
            assert_eq!(
                decide(choice, no_color, force, tty),
                want,
                "{choice:?} NO_COLOR={no_color} CLICOLOR_FORCE={force} tty={tty}"
            );
        }
    }

    #[test]
    fn the_choice_is_read_from_raw_arguments() {
        let c = |v: &[&str]| choice_in_args(v.iter().copied());
        assert_eq!(c(&["stark", "doctor"]), None);
        assert_eq!(
            c(&["stark", "--color", "never", "doctor"]),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            c(&["stark", "doctor", "--color=always"]),
            Some(ColorChoice::Always)
        );
        assert_eq!(
            c(&["stark", "--color=never", "--color", "always"]),
            Some(ColorChoice::Always)
        );
        assert_eq!(c(&["stark", "--", "--color", "always"]), None);
        assert_eq!(c(&["stark", "--color", "purple"]), None);
    }

    #[test]
    fn paint_wraps_only_when_on() {
        assert_eq!(paint("FAIL", RED, false), "FAIL");
        assert_eq!(paint("FAIL", RED, true), "\x1b[31mFAIL\x1b[0m");
    }
}
