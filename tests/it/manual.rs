//! Man pages and completions written by the real binary
//! (`ZMREIP_GENERATE_DOCS=DIR zmreip`, as `scripts/package` runs it),
//! checked against what `zmreip --help` and `zmreip COMMAND -h` say: every
//! command gets a page, every option of a command appears in its page and
//! in each shell's completions for that command. The help text is the
//! oracle, so a command or option added later is checked without editing
//! this file. `scripts/package-test` checks the installed package against
//! the same generator.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{Output, Zmreip};

/// What `zmreip ARGS` prints, asserting it succeeded.
fn stdout(args: &[&str]) -> String {
    Zmreip::new(args).ok().stdout
}

/// Runs the generator into `dir`.
fn generate(dir: &Path) -> Output {
    Zmreip::new::<_, &str>([])
        .env("ZMREIP_GENERATE_DOCS", dir)
        .run()
}

fn generated(dir: &Path) {
    generate(dir).status(0);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Names of a directory's files, sorted.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// The commands `zmreip --help` lists, without `help`.
fn commands() -> Vec<String> {
    let cmds = subcommands(&[]);
    assert!(cmds.len() >= 8, "too few commands parsed: {cmds:?}");
    cmds
}

/// The subcommands `zmreip ARGS --help` lists, without `help`; none when
/// it has no Commands section.
fn subcommands(args: &[&str]) -> Vec<String> {
    let mut args = args.to_vec();
    args.push("--help");
    let help = stdout(&args);
    let Some(section) = help.split("\nCommands:\n").nth(1) else {
        return Vec::new();
    };
    section
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// The long options `zmreip COMMAND -h` lists, without `help`.
fn long_options(cmd: &str) -> Vec<String> {
    let help = stdout(&[cmd, "-h"]);
    let section = help
        .split("\nOptions:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("`zmreip {cmd} -h` has no Options section"));
    let opts: Vec<String> = section
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let l = l.trim_start();
            // `-h, --help`: the long spelling follows the short one.
            let l = match l.as_bytes() {
                [b'-', c, b',', b' ', ..] if *c != b'-' => &l[4..],
                _ => l,
            };
            let name = l.strip_prefix("--")?;
            let end = name
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(name.len());
            Some(name[..end].to_string())
        })
        .collect();
    // Every command has --help, so an empty list means the parse failed.
    assert!(
        opts.iter().any(|o| o == "help"),
        "no options parsed from `zmreip {cmd} -h`"
    );
    opts.into_iter().filter(|o| o != "help").collect()
}

/// An option as roff spells it in a man page: `\fB\-\-zone\-file\fR`.
fn roff(opt: &str) -> String {
    format!("\\fB{}\\fR", format!("--{opt}").replace('-', "\\-"))
}

/// Whether a zsh `_arguments` spec for `--opt` is in `script`: it is
/// `'--opt=[...]` or `'--opt[...]`, after `*` when repeatable and after
/// `(...)` when it conflicts with others.
fn zsh_has(script: &str, opt: &str) -> bool {
    ["'", "*", ")"].iter().any(|before| {
        ["=", "["]
            .iter()
            .any(|after| script.contains(&format!("{before}--{opt}{after}")))
    })
}

/// The part of a completion script from the first line equal to `start`
/// (trimmed) to the next line that is `;;`.
fn block<'a>(script: &'a str, start: &str) -> &'a str {
    let from = script
        .lines()
        .position(|l| l.trim() == start)
        .unwrap_or_else(|| panic!("no `{start}` in completion script"));
    let begin: usize = script.lines().take(from).map(|l| l.len() + 1).sum();
    let rest = &script[begin..];
    let end = rest
        .find("\n;;")
        .or_else(|| rest.find(";;"))
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn one_page_per_command_and_three_completion_files() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path());
    let mut want: BTreeSet<String> = BTreeSet::new();
    for c in commands() {
        // A command with subcommands (`window`) has a page for each.
        for sub in subcommands(&[&c]) {
            want.insert(format!("zmreip-{c}-{sub}.1"));
        }
        want.insert(format!("zmreip-{c}.1"));
    }
    want.insert("zmreip.1".to_string());
    assert!(want.contains("zmreip-window-open.1"), "{want:?}");
    assert_eq!(names(&dir.path().join("man")), want);
    let completions: BTreeSet<String> = ["zmreip.bash", "_zmreip", "zmreip.fish"]
        .map(String::from)
        .into();
    assert_eq!(names(&dir.path().join("completions")), completions);
    assert_eq!(
        names(dir.path()),
        ["completions", "man"].map(String::from).into(),
        "nothing else is written"
    );
}

#[test]
fn the_generator_lists_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path()).status(0);
    let listed: BTreeSet<String> = out.stdout.lines().map(String::from).collect();
    let mut on_disk = BTreeSet::new();
    for sub in ["man", "completions"] {
        for n in names(&dir.path().join(sub)) {
            on_disk.insert(dir.path().join(sub).join(n).display().to_string());
        }
    }
    assert_eq!(listed, on_disk);
}

#[test]
fn every_page_names_the_version_and_every_option_of_its_command() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path());
    let version = stdout(&["--version"]).trim().to_string();
    assert!(version.starts_with("zmreip "), "{version}");
    let man = dir.path().join("man");
    let top = read(&man.join("zmreip.1"));
    for cmd in commands() {
        assert!(
            top.contains(&format!("zmreip\\-{cmd}(1)")),
            "zmreip(1) does not refer to zmreip-{cmd}(1)"
        );
        let page = read(&man.join(format!("zmreip-{cmd}.1")));
        let title = page.lines().find(|l| l.starts_with(".TH ")).unwrap_or("");
        assert!(
            title.starts_with(&format!(".TH zmreip-{cmd} 1 "))
                && title.contains(&format!("\"{version}\"")),
            "zmreip-{cmd}.1: title line does not name the page and `{version}`: {title}"
        );
        for opt in long_options(&cmd) {
            assert!(page.contains(&roff(&opt)), "zmreip-{cmd}.1 lacks --{opt}");
        }
    }
}

#[test]
fn every_shell_completes_every_command_and_its_options() {
    let dir = tempfile::tempdir().unwrap();
    generated(dir.path());
    let completions = dir.path().join("completions");
    let bash = read(&completions.join("zmreip.bash"));
    let zsh = read(&completions.join("_zmreip"));
    let fish = read(&completions.join("zmreip.fish"));
    for cmd in commands() {
        let bash_opts = block(&bash, &format!("zmreip__subcmd__{cmd})"));
        let zsh_args = block(&zsh, &format!("({cmd})"));
        // A command with subcommands of its own (window) offers its
        // options while none of them is typed yet.
        let fish_conds = [
            format!("__fish_zmreip_using_subcommand {cmd}\""),
            format!("__fish_zmreip_using_subcommand {cmd}; and not __fish_seen_subcommand_from "),
        ];
        assert!(
            fish.contains(&format!("-f -a \"{cmd}\"")),
            "fish does not offer `{cmd}`"
        );
        for opt in long_options(&cmd) {
            assert!(
                bash_opts.contains(&format!("--{opt} "))
                    || bash_opts.contains(&format!("--{opt}\"")),
                "bash: `zmreip {cmd}` lacks --{opt}"
            );
            assert!(zsh_has(zsh_args, &opt), "zsh: `zmreip {cmd}` lacks --{opt}");
            assert!(
                fish.lines()
                    .any(|l| fish_conds.iter().any(|c| l.contains(c.as_str()))
                        && (l.contains(&format!(" -l {opt} "))
                            || l.ends_with(&format!(" -l {opt}")))),
                "fish: `zmreip {cmd}` lacks --{opt}"
            );
        }
    }
}

#[test]
fn output_is_the_same_every_time() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generated(a.path());
    generated(b.path());
    for sub in ["man", "completions"] {
        let files = names(&a.path().join(sub));
        assert_eq!(files, names(&b.path().join(sub)));
        for f in files {
            assert_eq!(
                std::fs::read(a.path().join(sub).join(&f)).unwrap(),
                std::fs::read(b.path().join(sub).join(&f)).unwrap(),
                "{sub}/{f} differs between two runs"
            );
        }
    }
}

#[test]
fn a_directory_with_files_in_it_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("zmreip-gone.1"),
        "a page of a removed command\n",
    )
    .unwrap();
    let err = generate(dir.path()).status(2).stderr;
    assert!(err.contains("is not empty; nothing was written"), "{err}");
    assert!(err.contains("\nhelp: "), "{err}");
    assert_eq!(names(dir.path()), ["zmreip-gone.1".to_string()].into());
}
