//! What people read, pinned as snapshots (`tests/golden/`, refreshed with
//! `ZMREIP_BLESS=1`): the help of every command, the plan as text and
//! Markdown, the scan as text, apply's report and `history`, and the
//! errors of bad input. The JSON plan is pinned in `example`.

use crate::support::lab::Lab;
use crate::support::{Zmreip, repo};

/// Every command, as `zmreip help COMMAND` names it.
const COMMANDS: &[&str] = &[
    "scan", "plan", "verify", "apply", "rollback", "resume", "history", "check", "watch", "window",
    "bind",
];

/// The move of the example's golden plan.
const MOVE: &[&str] = &[
    "--from",
    "172.20.14.25/24",
    "--to",
    "10.40.7.131/24",
    "--from",
    "2001:db8:14::25/64",
    "--to",
    "2001:db8:7::131/64",
    "--gateway",
    "10.40.7.1",
];

/// `zmreip ARGS` on the single-server example.
fn on_example(args: &[&str]) -> Zmreip {
    Zmreip::new(args)
        .root(repo("examples/single-server/root"))
        .ldif(repo("examples/single-server/zimbra.ldif"))
}

#[test]
fn help_of_every_command() {
    Zmreip::new(["--help"])
        .ok()
        .stdout_matches("help/zmreip.txt");
    for c in COMMANDS {
        let help = Zmreip::new(["help", c]).ok();
        help.stdout_matches(&format!("help/{c}.txt"));
        // `--help` after the command says the same.
        assert_eq!(Zmreip::new([c, "--help"]).ok().stdout, help.stdout, "{c}");
    }
}

#[test]
fn plan_as_text_and_markdown() {
    let plan = |format: &str| {
        let mut args = vec!["plan"];
        args.extend_from_slice(MOVE);
        args.extend(["--format", format]);
        on_example(&args).ok()
    };
    plan("text").stdout_matches("single-server.plan.txt");
    let md = plan("markdown");
    // The one thing that changes from run to run: when it was made.
    let made = md
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("| Report made | "))
        .and_then(|l| l.strip_suffix(" |"))
        .expect("the report says when it was made")
        .to_string();
    assert!(zmreip::clock::is_stamp(&made), "{made}");
    md.redact(&made, "[DATE]")
        .stdout_matches("single-server.plan.md");
}

/// The change report as a change board sees it: rendered to HTML by a
/// CommonMark renderer (with GitHub's tables), every section a heading,
/// the summary and the impact real tables, the checks code blocks.
#[test]
fn change_report_renders_to_html_with_headings_and_tables() {
    use pulldown_cmark::{Options, Parser, html};
    let mut args = vec!["plan"];
    args.extend_from_slice(MOVE);
    args.extend(["--format", "markdown"]);
    let md = on_example(&args).ok().stdout;
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(&md, Options::ENABLE_TABLES));
    let h1 = out.matches("<h1>").count();
    assert_eq!(h1, 1, "{out}");
    for h in [
        "<h2>Summary</h2>",
        "<h2>Impact</h2>",
        "<h2>Before the change</h2>",
        "<h2>Order of steps</h2>",
        "<h2>Changes</h2>",
        "<h3>Zimbra directory attributes</h3>",
        "<h2>After the change</h2>",
        "<h2>Rollback</h2>",
        "<h2>To do outside this host</h2>",
        "<h2>Risks and warnings</h2>",
    ] {
        assert!(out.contains(h), "no {h} in\n{out}");
    }
    // Two tables: the summary (host, version, checksum, ...) and the
    // impact (one row per service action, four columns).
    assert_eq!(out.matches("<table>").count(), 2, "{out}");
    let summary = &out[out.find("<table>").unwrap()..out.find("</table>").unwrap()];
    for row in [
        "<td>Host</td><td>mail.corp.example</td>",
        "<td>Zimbra version</td><td>10.0.9_GA_4672</td>",
        "<td>Made with</td><td>zmreip ",
        "<td>Plan checksum</td><td><code>sha256:",
    ] {
        assert!(summary.contains(row), "no {row} in {summary}");
    }
    let impact = &out[out.rfind("<table>").unwrap()..out.rfind("</table>").unwrap()];
    assert!(
        impact.contains(
            "<th>Service</th><th>Action</th><th>What users notice</th><th>For how long</th>"
        ),
        "{impact}"
    );
    assert_eq!(impact.matches("<tr>").count(), 1 + 7, "{impact}");
    assert!(
        impact.contains("<td>mailbox</td><td>restart</td>"),
        "{impact}"
    );
    // The checks are shell blocks a person can paste.
    assert!(
        out.contains("<pre><code class=\"language-sh\">zmreip check 10.40.7.131 "),
        "{out}"
    );
    assert!(out.contains("zmreip verify --to 10.40.7.131/24 "), "{out}");
    // No internal jargon reaches the board.
    for jargon in ["surface", "Surface"] {
        assert!(!md.contains(jargon), "{jargon} in the report");
    }
}

#[test]
fn scan_as_text() {
    on_example(&["scan", "--ip", "172.20.14.25", "--ip", "2001:db8:14::25"])
        .ok()
        .stdout_matches("single-server.scan.txt");
}

#[test]
fn apply_rollback_and_history_reports() {
    let lab = Lab::new();
    let plan = lab.fixture_plan();
    let applied = lab.apply(&plan).ok();
    let id = lab.runs().pop().expect("a run");
    let shown = lab.path().display().to_string();
    let history = Zmreip::new(["history"]).root(lab.root()).ok();
    let rolled_back = lab.rollback().ok();
    for (out, name) in [
        (applied, "apply.txt"),
        (history, "history.txt"),
        (rolled_back, "rollback.txt"),
    ] {
        // What changes from run to run: the lab's directory, the run id
        // and the time it was made.
        let out = out.redact(&shown, "[LAB]").redact(&id, "[RUN]");
        let created = out
            .stdout
            .split_whitespace()
            .find(|w| w.ends_with('Z') && w.contains('T'))
            .map(str::to_string);
        let out = match created {
            Some(t) => out.redact(&t, "[TIME]"),
            None => out,
        };
        out.stdout_matches(&format!("lab/{name}"));
    }
}

#[test]
fn errors_say_what_and_where_then_what_to_do() {
    // Each: arguments, exit status, snapshot of stderr.
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["plan", "--from", "172.20.14.25", "--to", "172.20.14.25"],
            2,
            "same-address",
        ),
        (
            &["plan", "--from", "172.20.14.256", "--to", "10.40.7.131"],
            2,
            "bad-address",
        ),
        (
            &["plan", "--from", "172.20.14.25", "--to", "2001:db8::1"],
            2,
            "family-mismatch",
        ),
        (
            &[
                "scan",
                "--ip",
                "172.20.14.25",
                "--include",
                "/etc/nothing/*.conf",
            ],
            2,
            "include-matches-nothing",
        ),
    ];
    for (args, code, name) in cases {
        let out = on_example(args).fails(*code);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
        out.redact(&repo("").display().to_string(), "[REPO]/")
            .stderr_matches(&format!("errors/{name}.txt"));
    }
}

/// A host whose hosts file names the old address, with two files that do
/// not parse (a bad netmask, a netplan address without its prefix) and a
/// stray hosts line.
fn host_with_bad_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |p: &str, s: &str| {
        let real = dir.path().join(p.trim_start_matches('/'));
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(real, s).unwrap();
    };
    write(
        "/etc/hosts",
        "127.0.0.1 localhost\n172.20.14.25 mail.corp.example mail\nmail.corp.example\n",
    );
    write(
        "/etc/network/interfaces",
        "iface eth0 inet static\n    address 172.20.14.25\n    netmask 255.0.255.0\n",
    );
    write(
        "/etc/netplan/01-mail.yaml",
        "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 172.20.14.25\n",
    );
    write("/etc/resolv.conf", "nameserver 172.20.14.25\n");
    // A Zimbra host (plan refuses a root without one).
    write(
        "/opt/zimbra/conf/localconfig.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<localconfig>\n</localconfig>\n",
    );
    dir
}

#[test]
fn a_file_that_does_not_parse_hides_nothing_else() {
    let dir = host_with_bad_files();
    let on_host = |args: &[&str]| Zmreip::new(args).root(dir.path()).arg("--no-directory");
    // scan reads every other file, reports what it found there, names
    // every unreadable file, and exits 1.
    let out = on_host(&["scan", "--ip", "172.20.14.25"]).fails(1);
    out.stdout_matches("errors/scan-unreadable.txt");
    out.stderr_matches("errors/scan-unreadable.stderr.txt");
    let json = on_host(&["scan", "--ip", "172.20.14.25", "--format", "json"]).fails(1);
    let v = json.json();
    let errors: Vec<&str> = v["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["error"].as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("/etc/network/interfaces:3: "),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("/etc/netplan/01-mail.yaml:5: "),
        "{errors:?}"
    );
    assert!(v["unreadable"][0]["help"].as_str().is_some());
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);
    assert_eq!(v["warnings"][0]["code"], "hosts-line-ignored");
    // plan proposes nothing, and names every unreadable file, not only
    // the first.
    let out = on_host(&[
        "plan",
        "--from",
        "172.20.14.25/24",
        "--to",
        "10.40.7.131/24",
    ])
    .fails(1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    out.stderr_matches("errors/plan-unreadable.txt");
}

/// Colour on standard output: `--color` first, else NO_COLOR (set and not
/// empty) turns it off, else CLICOLOR_FORCE turns it on even for a pipe,
/// else only a terminal gets it (the tests' stdout is a pipe).
#[test]
fn colour_follows_color_no_color_and_clicolor_force() {
    let plan = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["plan"];
        args.extend_from_slice(MOVE);
        args.extend_from_slice(extra);
        let mut z = on_example(&args);
        for (k, v) in env {
            z = z.env(k, v);
        }
        z.ok().stdout.contains("\x1b[")
    };
    let no_no_color = ("NO_COLOR", "");
    let force = ("CLICOLOR_FORCE", "1");
    for (env, extra, coloured) in [
        (&[][..], &[][..], false),
        (&[no_no_color][..], &[][..], false),
        (&[no_no_color, force][..], &[][..], true),
        // NO_COLOR wins over CLICOLOR_FORCE.
        (&[force][..], &[][..], false),
        (&[][..], &["--color", "always"][..], true),
        (&[no_no_color, force][..], &["--color", "never"][..], false),
    ] {
        assert_eq!(plan(env, extra), coloured, "{env:?} {extra:?}");
    }
}

/// `--quiet` leaves standard error to errors, `--verbose` adds each
/// service step's command; standard output is the same either way.
#[test]
fn quiet_and_verbose_change_standard_error_only() {
    let run = |flag: Option<&str>| {
        let lab = Lab::new();
        let plan = lab.fixture_plan();
        let mut z = lab.apply(&plan);
        if let Some(f) = flag {
            z = z.arg(f);
        }
        let out = z.ok();
        let id = lab.runs().pop().expect("a run");
        (
            out.stdout.replace(&id, "[RUN]"),
            out.stderr,
            lab.path().display().to_string(),
        )
    };
    let (quiet, quiet_err, ql) = run(Some("--quiet"));
    let (normal, normal_err, nl) = run(None);
    let (verbose, verbose_err, vl) = run(Some("--verbose"));
    assert_eq!(quiet_err, "", "--quiet printed on stderr");
    assert!(normal_err.contains("[1/12] "), "{normal_err}");
    assert!(!normal_err.contains("    $ "), "{normal_err}");
    // Every service step names the command it ran.
    assert!(
        verbose_err.contains("    $ echo \"$ZMREIP_PHASE mta.reload\""),
        "{verbose_err}"
    );
    assert_eq!(
        verbose_err
            .lines()
            .filter(|l| !l.starts_with("    $ "))
            .count(),
        normal_err.lines().count(),
        "{verbose_err}"
    );
    assert_eq!(quiet.replace(&ql, "[LAB]"), normal.replace(&nl, "[LAB]"));
    assert_eq!(verbose.replace(&vl, "[LAB]"), normal.replace(&nl, "[LAB]"));
}
