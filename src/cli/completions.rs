//! `stark completions <shell>`: print a completion script generated from the current command
//! line definition. The checked-in copies in `completions/` are regenerated with
//! `cargo run -- completions <shell> > completions/<file>` (see README; a test fails when they
//! drift).

use std::process::ExitCode;

use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Every supported shell with the file name its script is checked in as under `completions/`.
pub const FILES: &[(Shell, &str)] = &[
    (Shell::Bash, "stark.bash"),
    (Shell::Zsh, "_stark"),
    (Shell::Fish, "stark.fish"),
    (Shell::PowerShell, "_stark.ps1"),
    (Shell::Elvish, "stark.elv"),
];

/// The completion script for `shell`, for the command line as it is now ([`super::command`]:
/// the options hidden from a command's help are not offered there either).
pub fn generate(shell: Shell) -> String {
    let mut cmd = super::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "stark", &mut out);
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    out!("{}", generate(args.shell))?;
    Ok(ExitCode::SUCCESS)
}
