//! Sets `STARK_VERSION`, what `stark --version` prints after the name: the crate version with
//! the commit and its date when built from a git checkout (`0.1.0 (abc1234 2026-12-01)`, as
//! `cargo -V` does), the crate version alone when git or the repository is not there (a
//! source tarball, `cargo install` from a registry).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=STARK_BUILD_NO_GIT");
    // Only this crate's own checkout: a tarball unpacked inside some other repository (or
    // `cargo package`'s copy under target/) must not take that repository's commit.
    let own_checkout = || {
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let manifest = std::env::var("CARGO_MANIFEST_DIR").ok()?;
        let same = std::fs::canonicalize(top).ok()? == std::fs::canonicalize(manifest).ok()?;
        same.then_some(())
    };
    let described = if std::env::var_os("STARK_BUILD_NO_GIT").is_some() || own_checkout().is_none()
    {
        None
    } else {
        git(&["rev-parse", "--short=7", "HEAD"]).zip(git(&["log", "-1", "--format=%cs", "HEAD"]))
    };
    match described {
        Some((commit, date)) => {
            // Rebuild when HEAD moves: HEAD itself, the branch it names, and packed refs.
            // (Only files that exist: a missing one would rerun this script on every build.)
            let branch = git(&["symbolic-ref", "-q", "HEAD"]);
            let watched = ["HEAD", "packed-refs"].into_iter().chain(branch.as_deref());
            for path in watched {
                if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                    if std::path::Path::new(&p).exists() {
                        println!("cargo:rerun-if-changed={p}");
                    }
                }
            }
            println!("cargo:rustc-env=STARK_VERSION={version} ({commit} {date})");
        }
        None => println!("cargo:rustc-env=STARK_VERSION={version}"),
    }
}
