use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    stark::cli::run(stark::cli::Cli::parse())
}
