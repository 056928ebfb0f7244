//! The `stark` binary: parse the command line, run it, exit. Everything else, the exit code
//! included, is decided in [`stark::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    match stark::cli::try_parse_from(std::env::args_os()) {
        Ok(cli) => stark::cli::run(cli),
        Err(e) => stark::cli::errors::clap_error(e),
    }
}
