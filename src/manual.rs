//! Man pages and shell completions, written from the command-line
//! definition itself so that they cannot drift from it.
//!
//! The binary hands its own `clap::Command` to [`write`] when the
//! environment variable [`ENV`] names a directory (`scripts/package` does
//! this with the very binary it packages). No other copy of the options
//! exists, so a subcommand or option added to the CLI appears in the pages
//! and completions without touching this module.

use std::path::{Path, PathBuf};

use clap_complete::Shell;

use crate::{Error, Result};

/// The environment variable that makes the binary write its man pages and
/// completions into the directory it names, instead of running a command.
pub const ENV: &str = "ZMREIP_GENERATE_DOCS";

/// The shells completions are written for. File names are each shell's
/// own convention: `zmreip.bash`, `_zmreip`, `zmreip.fish`.
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Writes `DIR/man/` (section 1: one page for the tool and one per visible
/// subcommand, `zmreip-scan.1`) and `DIR/completions/` for bash, zsh and
/// fish. `dir` must be new or empty, so that no page of a command that was
/// removed is left behind. Returns the files written, sorted.
pub fn write(cmd: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    refuse_non_empty(dir)?;
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
    }
    let name = cmd.get_name().to_string();
    // Every page's footer names the tool and its version (clap_mangen
    // would put the bare subcommand name there).
    let source = format!("{name} {}", cmd.get_version().unwrap_or_default());
    let mut root = cmd.clone().disable_help_subcommand(true);
    root.build();
    write_pages(root, &source, &man)?;
    let mut cmd = cmd;
    for shell in SHELLS {
        clap_complete::generate_to(shell, &mut cmd, &name, &completions)
            .map_err(|e| Error::io("write completions into", &completions, e))?;
    }
    let mut written = Vec::new();
    for d in [&man, &completions] {
        let entries = std::fs::read_dir(d).map_err(|e| Error::io("list", d, e))?;
        for entry in entries {
            written.push(entry.map_err(|e| Error::io("list", d, e))?.path());
        }
    }
    written.sort();
    Ok(written)
}

/// The page of `cmd` and, depth first, of each subcommand not hidden.
fn write_pages(cmd: clap::Command, source: &str, man: &Path) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), source, man)?;
    }
    clap_mangen::Man::new(cmd)
        .source(source)
        .generate_to(man)
        .map_err(|e| Error::io("write man pages into", man, e))?;
    Ok(())
}

fn refuse_non_empty(dir: &Path) -> Result<()> {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    if entries.next().is_some() {
        return Err(Error::usage(
            format!(
                "{ENV}: `{}` is not empty; nothing was written",
                dir.display()
            ),
            "name a new or empty directory, so that no page of a removed command is left behind",
        ));
    }
    Ok(())
}
