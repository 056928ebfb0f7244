//! The `stark` binary: parse the command line, run it, exit. Everything else, the exit code
//! included, is decided in [`stark::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    stark::cli::run(stark::cli::parse())
}
