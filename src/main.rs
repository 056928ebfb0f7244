//! The `stark` binary: parse the command line, run it, exit. Everything else, the exit code
//! included, is decided in [`stark::cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match stark::cli::Cli::try_parse() {
        Ok(cli) => stark::cli::run(cli),
        Err(e) => stark::cli::errors::clap_error(e),
    }
}
