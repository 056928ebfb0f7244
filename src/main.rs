//! The `stark` binary: parse the command line, run it, exit. Everything else, the exit code
//! included, is decided in [`stark::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    stark::cli::run(stark::cli::Cli::parse())
}
