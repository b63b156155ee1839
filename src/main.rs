//! The zmreip command line. Parsing only: every command calls the library.

// The binary is where output is decided: it prints, the library does not.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use zmreip::directory::ldap::Overrides;
use zmreip::discover::{DirectoryArgs, SourceArgs, Sources};
use zmreip::spec::AddrArg;
use zmreip::surface::Extra;
use zmreip::{Error, Result};

/// Change the IP address of a Zimbra server safely.
///
/// zmreip finds every place the address lives (OS network config,
/// /etc/hosts, resolv.conf, dnsmasq, Zimbra's localconfig and directory),
/// plans the change as a reviewable diff with Zimbra's rules built in
/// (trust lists never widen, regenerated files are left to Zimbra, host
/// names stay names), and lists what must happen elsewhere (PTR, DNS,
/// partners).
///
/// Typical session (as root, on the Zimbra host):
///
///   zmreip check 10.40.7.131 --hostname mail.corp.example --domain corp.example
///   zmreip scan --ip 172.20.14.25
///   zmreip plan --from 172.20.14.25/24 --to 10.40.7.131/24 --out move.json
///   zmreip apply --plan move.json          # journaled; asks before writing
///   zmreip history                         # runs, with their state
///   zmreip rollback                        # undo the latest run
///
/// The directory is read live from the LDAP server localconfig.xml names;
/// --ldif FILE reads a zmslapcat export instead.
///
/// Exit status: 0 done, 1 failure, 2 bad usage (check: 3 = would hurt mail).
#[derive(Parser)]
#[command(name = "zmreip", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every place an address lives (read-only).
    ///
    /// Each finding names the surface, the place (file:line, localconfig
    /// key, or directory DN and attribute), the matched text and how the
    /// address occurs there: exact, network-contains, url-host, host-port,
    /// bracketed, reverse-name or regex-escaped.
    Scan(ScanArgs),
    /// Show what moving the server would change (writes nothing).
    ///
    /// Prints a diff per surface, the files Zimbra regenerates, the service
    /// actions in order, warnings and hand-offs. Without a prefix, --from
    /// and --to take theirs from the OS network configuration when found
    /// there; otherwise the address is treated as a host address.
    Plan(PlanArgs),
    /// Prove the server works on its new address (read-only probes).
    ///
    /// Checks that the new address is up and every service that should
    /// answer on it does (SMTP ports of master.cf, LDAP, IMAP/POP/HTTP where
    /// something listens), that nothing still listens on the old address,
    /// that the SMTP banner and EHLO name are the host name, that relaying
    /// is accepted from the new address and refused from outside
    /// mynetworks, that the host name resolves to the new address (hosts
    /// file and split DNS), that postfix mynetworks and the regenerated
    /// files hold the new address, and that a rescan finds no stale
    /// reference. Exit status 1 when a check fails.
    Verify(VerifyArgs),
    /// Apply a plan as one transaction, with backups and a journal.
    ///
    /// Plans now (same options as `plan`) or takes a saved plan (--plan),
    /// checks every change's precondition against the host (nothing is
    /// written if any target drifted), asks for confirmation, then writes
    /// each file atomically and runs the service actions (ldap first).
    /// A failing step rolls back what was done. The journal is kept in
    /// <root>/var/lib/zmreip/runs/<run-id>/.
    Apply(ApplyArgs),
    /// Undo a run: restore every file (bytes, owner, mode, symlink) and
    /// directory value, then re-run the service actions it ran.
    Rollback(RollbackArgs),
    /// Finish a run that stopped half-way (a crash, a power cut, a
    /// --no-rollback failure whose cause was fixed).
    Resume(ResumeArgs),
    /// List the runs recorded on this host.
    History(HistoryArgs),
    /// Check a new address before moving: would it hurt mail?
    ///
    /// Asks one resolver about DNS blocklists (RFC 5782, each list's own
    /// codes), the PTR of the address and whether it resolves back to it
    /// (FCrDNS), the mail domain's SPF for the address, and the TTLs of
    /// the records that will change.
    ///
    /// Exit status: 0 nothing would hurt mail, 3 something would (a
    /// listing, no FCrDNS, SPF fail), 1 the check could not be made.
    Check(CheckArgs),
}

/// Where the host's files and directory are.
#[derive(Args)]
struct HostArgs {
    /// Directory holding the host's files: `/` for this host, or a copied
    /// snapshot. Paths in output are always paths on the host.
    #[arg(long, default_value = "/", value_name = "DIR", env = "ZMREIP_ROOT")]
    root: PathBuf,

    /// Zimbra's home on the host [default: /opt/zimbra, or /opt/zextras
    /// when only that exists].
    #[arg(long, value_name = "PATH")]
    zimbra_home: Option<String>,

    /// Read the Zimbra directory from an LDIF export (as written by
    /// `zmslapcat`) instead of live LDAP. Without it, the live directory
    /// named by localconfig.xml (ldap_url) is read, if the host has one.
    #[arg(long, value_name = "FILE")]
    ldif: Option<PathBuf>,

    /// Live directory server instead of localconfig's ldap_url and
    /// ldap_master_url (repeatable, or space-separated; tried in order).
    #[arg(long, value_name = "URL", conflicts_with = "ldif")]
    ldap_url: Vec<String>,

    /// DN to bind to the live directory as [default: localconfig's
    /// zimbra_ldap_userdn, else uid=zimbra,cn=admins,cn=zimbra].
    #[arg(long, value_name = "DN", conflicts_with = "ldif")]
    bind_dn: Option<String>,

    /// File whose first line is the bind password [default: localconfig's
    /// zimbra_ldap_password].
    #[arg(long, value_name = "FILE", conflicts_with = "ldif")]
    bind_password_file: Option<PathBuf>,

    /// Search every attribute of every live directory entry. By default
    /// accounts, groups and resources are searched only in the known
    /// address attributes (config entries and domains always in full).
    #[arg(long)]
    deep: bool,

    /// Leave the Zimbra directory out (files only).
    #[arg(long, conflicts_with_all = ["ldif", "ldap_url", "bind_dn", "bind_password_file", "deep"])]
    no_directory: bool,

    /// Also look in these files (host path glob; repeatable). Every line is
    /// searched and occurrences are replaced literally.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
}

#[derive(Args)]
struct ScanArgs {
    /// Address to look for (repeatable; IPv4 and IPv6).
    #[arg(long = "ip", value_name = "ADDR", required = true)]
    ips: Vec<IpAddr>,

    #[command(flatten)]
    host: HostArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct PlanArgs {
    /// Old address, optionally with prefix (172.20.14.25/24). Repeatable,
    /// paired in order with --to.
    #[arg(long, value_name = "ADDR[/PREFIX]", required = true)]
    from: Vec<AddrArg>,

    /// New address, optionally with prefix (10.40.7.131/24).
    #[arg(long, value_name = "ADDR[/PREFIX]", required = true)]
    to: Vec<AddrArg>,

    /// New default gateway, written where the old gateway lies outside the
    /// new network. Without it zmreip never guesses and warns instead.
    #[arg(long, value_name = "ADDR")]
    gateway: Option<IpAddr>,

    /// `all`: plan one full `zmcontrol restart` instead of the least set of
    /// reloads and restarts.
    #[arg(long, value_enum, value_name = "WHAT")]
    restart: Option<RestartArg>,

    #[command(flatten)]
    host: HostArgs,

    /// Output format: a diff for people, the zmreip.plan/v1 JSON document,
    /// or a Markdown change report.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,

    /// Also save the plan as JSON to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Colour the diff.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Also edit this BIND zone file (host path; repeatable). Give the
    /// zone as ZONE=PATH when the file has no $ORIGIN. Zones declared in
    /// /etc/bind/named.conf or /etc/named.conf are found without this.
    #[arg(long, value_name = "[ZONE=]PATH")]
    zone_file: Vec<zmreip::dns::zone::ZoneFileArg>,

    /// Plan RFC 2136 updates (signed with TSIG) for zones served
    /// elsewhere, as configured in this TOML file: [[zone]] tables with
    /// name, server (IP:PORT) and key_file (a tsig-keygen key file), and
    /// optionally names = [..] to look at besides the apex and the host
    /// name.
    #[arg(long, value_name = "FILE")]
    dns_config: Option<PathBuf>,

    /// Plan only the first step of a migration window: lower the TTL of
    /// every DNS record that will move to at most SECONDS. Apply it, wait
    /// out the old TTLs, then plan the move.
    #[arg(long, value_name = "SECONDS")]
    lower_ttl: Option<u32>,
}

#[derive(Args)]
struct CheckArgs {
    /// The new address.
    #[arg(value_name = "NEW-ADDRESS")]
    address: IpAddr,

    /// The server's host name (its PTR should name it).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,

    /// The mail domain whose SPF must authorize the address.
    #[arg(long, value_name = "MAIL-DOMAIN")]
    domain: Option<String>,

    /// The address being left, to tell which records will change.
    #[arg(long, value_name = "ADDR")]
    from: Option<IpAddr>,

    /// The resolver to ask (IP or IP:PORT) [default: the first nameserver
    /// in /etc/resolv.conf]. Nothing else is asked.
    #[arg(long, value_name = "IP:PORT", value_parser = zmreip::dns::parse_server)]
    resolver: Option<std::net::SocketAddr>,

    /// A DNS blocklist zone to ask (repeatable; replaces the default list:
    /// zen.spamhaus.org, bl.spamcop.net, psbl.surriel.com,
    /// bl.mailspike.net, dnsbl-1.uceprotect.net).
    #[arg(long, value_name = "ZONE")]
    dnsbl: Vec<String>,

    /// Seconds to wait for each answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 3)]
    timeout: u64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct VerifyArgs {
    /// New address (repeatable), with its prefix when postfix mynetworks
    /// should hold its network (10.40.7.131/24).
    #[arg(long = "ip", value_name = "ADDR[/PREFIX]", required = true)]
    ips: Vec<AddrArg>,

    /// Old address (repeatable): nothing may still listen on it or refer
    /// to it. With its prefix, the old interface network must be gone from
    /// trust lists too.
    #[arg(long = "old", value_name = "ADDR[/PREFIX]")]
    old: Vec<AddrArg>,

    #[command(flatten)]
    host: HostArgs,

    #[command(flatten)]
    probe: ProbeArgs,

    /// Output format: a table for people or the zmreip.verify/v1 JSON
    /// document.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Show the evidence of passing checks too.
    #[arg(long, short)]
    verbose: bool,
}

/// How verify probes the server.
#[derive(Args)]
struct ProbeArgs {
    /// The server's host name [default: localconfig zimbra_server_hostname].
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,

    /// The split-DNS server to ask for the host name [default: the
    /// host's dnsmasq listen-address and port].
    #[arg(long, value_name = "IP[:PORT]", value_parser = zmreip::dns::parse_server)]
    dns_server: Option<std::net::SocketAddr>,

    /// An address of this host outside mynetworks: relaying from it must
    /// be refused. Without it that check is skipped.
    #[arg(long, value_name = "ADDR")]
    outside_source: Option<IpAddr>,

    /// Seconds to wait for each connection, reply and DNS answer.
    #[arg(long, value_name = "SECS", default_value_t = 3.0, value_parser = parse_timeout)]
    probe_timeout: f64,
}

fn parse_timeout(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 600.0 => Ok(t),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 600"
        )),
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum RestartArg {
    All,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    // Packaging asks the binary itself for its man pages and completions,
    // so they are written from this very definition (src/manual.rs).
    if let Some(dir) = std::env::var_os(zmreip::manual::ENV) {
        return report(write_manual(PathBuf::from(dir)));
    }
    let cli = Cli::parse();
    report(run(cli))
}

fn report(outcome: Result<ExitCode>) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zmreip: error: {e}");
            if let Some(help) = e.help() {
                eprintln!("help: {help}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn write_manual(dir: PathBuf) -> Result<ExitCode> {
    let written = zmreip::manual::write(Cli::command(), &dir)?;
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    emit(&lines(&names))?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(a) => scan(a).map(|()| ExitCode::SUCCESS),
        Command::Plan(a) => plan(a).map(|()| ExitCode::SUCCESS),
        Command::Check(a) => check(a),
        Command::Verify(a) => verify(a).map(|()| ExitCode::SUCCESS),
        Command::Apply(a) => apply(a).map(|()| ExitCode::SUCCESS),
        Command::Rollback(a) => rollback(a).map(|()| ExitCode::SUCCESS),
        Command::Resume(a) => resume(a).map(|()| ExitCode::SUCCESS),
        Command::History(a) => history(a).map(|()| ExitCode::SUCCESS),
    }
}

/// Where the host arguments say to look, with the zone files and DNS
/// configuration `plan` and `apply` name besides.
fn source_args(
    h: &HostArgs,
    zone_files: &[zmreip::dns::zone::ZoneFileArg],
    dns_config: Option<&PathBuf>,
) -> SourceArgs {
    SourceArgs {
        root: h.root.clone(),
        zimbra_home: h.zimbra_home.clone(),
        directory: directory_args(h),
        extra: Extra {
            include: h.include.clone(),
            zone_files: zone_files.to_vec(),
        },
        dns_config: dns_config.cloned(),
    }
}

/// Which directory the host arguments name.
fn directory_args(h: &HostArgs) -> DirectoryArgs {
    DirectoryArgs {
        ldif: h.ldif.clone(),
        ldap: Overrides {
            urls: h.ldap_url.clone(),
            bind_dn: h.bind_dn.clone(),
            password_file: h.bind_password_file.clone(),
            deep: h.deep,
        },
        none: h.no_directory,
    }
}

/// Progress on stderr, only on a terminal, overwriting one line.
fn progress() -> impl FnMut(&str) {
    let tty = std::io::stderr().is_terminal();
    move |what: &str| {
        if tty {
            let mut e = std::io::stderr();
            let _ = write!(e, "\r\x1b[2Kreading {what}");
            let _ = e.flush();
        }
    }
}

fn clear_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

fn scan(a: ScanArgs) -> Result<()> {
    let mut src = Sources::open(&source_args(&a.host, &[], None))?;
    let result = zmreip::scan::scan(&mut src, &a.ips, &mut progress());
    clear_progress();
    let result = result?;
    let out = match a.format {
        Format::Text => zmreip::scan::text(&result),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&result).expect("scan results serialize");
            s.push('\n');
            s
        }
    };
    emit(&out)
}

fn plan(a: PlanArgs) -> Result<()> {
    let mut src = Sources::open(&source_args(&a.host, &a.zone_file, a.dns_config.as_ref()))?;
    let req = zmreip::plan::build::Request {
        from: a.from,
        to: a.to,
        gateway: a.gateway,
        restart_all: a.restart.is_some(),
        lower_ttl: a.lower_ttl,
    };
    let plan = zmreip::plan::build::build(&mut src, &req, &mut progress());
    clear_progress();
    let plan = plan?;
    if let Some(path) = &a.out {
        std::fs::write(path, zmreip::plan::render::json(&plan))
            .map_err(|e| Error::io("write", path, e))?;
    }
    let color = match a.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let out = match a.format {
        PlanFormat::Text => zmreip::plan::render::text(&plan, color),
        PlanFormat::Json => zmreip::plan::render::json(&plan),
        PlanFormat::Markdown => zmreip::plan::render::markdown(&plan),
    };
    emit(&out)
}

/// The verify request for `ips` and `old` on the host, probing as asked.
fn verify_request(
    ips: Vec<AddrArg>,
    old: Vec<AddrArg>,
    h: &HostArgs,
    p: &ProbeArgs,
) -> zmreip::verify::VerifyRequest {
    let mut req = zmreip::verify::VerifyRequest::new(&h.root, ips);
    req.old = old;
    req.sources = source_args(h, &[], None);
    req.hostname = p.hostname.clone();
    req.dns_server = p.dns_server;
    req.outside_source = p.outside_source;
    req.timeout = std::time::Duration::from_secs_f64(p.probe_timeout);
    req
}

fn verify(a: VerifyArgs) -> Result<()> {
    let req = verify_request(a.ips, a.old, &a.host, &a.probe);
    let report = zmreip::verify::run(&req);
    emit(&match a.format {
        Format::Text => zmreip::verify::text(&report, a.verbose),
        Format::Json => zmreip::verify::json(&report),
    })?;
    if report.failed() {
        let failed: Vec<&str> = report.failures().map(|c| c.id.as_str()).collect();
        return Err(Error::other(
            format!("verify failed: {}", failed.join(", ")),
            "the evidence under each failed check says what answered instead",
        ));
    }
    Ok(())
}

fn check(a: CheckArgs) -> Result<ExitCode> {
    let resolver = match a.resolver {
        Some(r) => r,
        None => zmreip::check::system_resolver()?,
    };
    let req = zmreip::check::Request {
        address: a.address,
        hostname: a.hostname,
        domain: a.domain,
        from: a.from,
        resolver,
        dnsbl: a.dnsbl,
        timeout: std::time::Duration::from_secs(a.timeout.max(1)),
    };
    let report = zmreip::check::run(&req)?;
    let out = match a.format {
        Format::Text => zmreip::check::text(&report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report).expect("check reports serialize");
            s.push('\n');
            s
        }
    };
    emit(&out)?;
    Ok(ExitCode::from(report.exit_code()))
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("write", "standard output", e)),
    }
}

// ------------------------------------------------------------------ apply

#[derive(Args)]
struct ApplyArgs {
    /// Apply this saved plan (from `zmreip plan --out FILE`) instead of
    /// planning now. It is refused if its checksum does not match or any
    /// change's `before` no longer holds on the host.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to", "gateway", "restart", "include", "zone_file", "lower_ttl"])]
    plan: Option<PathBuf>,

    /// Old address, optionally with prefix, as for `plan`.
    #[arg(long, value_name = "ADDR[/PREFIX]", required_unless_present = "plan")]
    from: Vec<AddrArg>,

    /// New address, optionally with prefix, as for `plan`.
    #[arg(long, value_name = "ADDR[/PREFIX]", required_unless_present = "plan")]
    to: Vec<AddrArg>,

    /// New default gateway, as for `plan`.
    #[arg(long, value_name = "ADDR")]
    gateway: Option<IpAddr>,

    /// `all`: one full `zmcontrol restart` instead of the least set.
    #[arg(long, value_enum, value_name = "WHAT")]
    restart: Option<RestartArg>,

    #[command(flatten)]
    host: HostArgs,

    /// Also edit this BIND zone file, as for `plan`.
    #[arg(long, value_name = "[ZONE=]PATH")]
    zone_file: Vec<zmreip::dns::zone::ZoneFileArg>,

    /// Zones held elsewhere, updated with RFC 2136 and TSIG, as for
    /// `plan`; needed with --plan when the plan updates such zones.
    #[arg(long, value_name = "FILE")]
    dns_config: Option<PathBuf>,

    /// Only lower the TTLs of the DNS records that will move, as for
    /// `plan`.
    #[arg(long, value_name = "SECONDS")]
    lower_ttl: Option<u32>,

    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    yes: bool,

    /// Write the changes but run no service action; print the commands
    /// to run by hand.
    #[arg(long, conflicts_with = "restart_network")]
    no_restart: bool,

    /// Also bring the new address up (netplan apply, ifup, nmcli ...).
    /// This can cut your SSH session: prefer a console.
    #[arg(long)]
    restart_network: bool,

    /// If a step fails, leave what was done in place (then `resume` or
    /// `rollback`) instead of rolling back at once.
    #[arg(long)]
    no_rollback: bool,

    /// TOML file mapping SERVICE.ACTION to commands, for other layouts
    /// and test labs (`[mta]` then `reload = "..."`; `timeout = SECONDS`).
    #[arg(long, value_name = "FILE")]
    services: Option<PathBuf>,

    /// Do not verify the host after the last step (by default a failed
    /// check of `zmreip verify` rolls the run back, unless --no-rollback).
    #[arg(long)]
    no_verify: bool,

    #[command(flatten)]
    probe: ProbeArgs,

    /// Colour the plan shown before confirmation.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
}

/// The host whose runs are meant.
#[derive(Args)]
struct RootArg {
    /// The host's root directory, as given to `apply`.
    #[arg(long, default_value = "/", value_name = "DIR", env = "ZMREIP_ROOT")]
    root: PathBuf,
}

#[derive(Args)]
struct RollbackArgs {
    /// The run to undo [default: the latest].
    run_id: Option<String>,

    #[command(flatten)]
    root: RootArg,

    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    yes: bool,

    /// Restore files even if they changed after the run wrote them.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ResumeArgs {
    /// The run to finish [default: the latest].
    run_id: Option<String>,

    #[command(flatten)]
    root: RootArg,
}

#[derive(Args)]
struct HistoryArgs {
    #[command(flatten)]
    root: RootArg,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn use_color(c: ColorArg) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Asks on the terminal; without one, refuses and says to pass --yes.
fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "no terminal to ask for confirmation on, and --yes was not given; nothing was changed",
            "review what will happen (`zmreip plan`, `zmreip history`), then run again with --yes",
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::io("read", "standard input", e))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::other(
            "not confirmed; nothing was written",
            "answer y to go ahead",
        )),
    }
}

/// Step progress on stderr.
fn step_report() -> impl FnMut(&str) {
    |line: &str| eprintln!("{line}")
}

fn apply(a: ApplyArgs) -> Result<()> {
    let color = use_color(a.color);
    if !a.yes && !std::io::stdin().is_terminal() {
        // Refuse before planning: nothing to show to nobody.
        confirm("")?;
    }
    let plan = match &a.plan {
        Some(path) => zmreip::apply::load_plan(path)?,
        None => {
            let mut src =
                Sources::open(&source_args(&a.host, &a.zone_file, a.dns_config.as_ref()))?;
            let req = zmreip::plan::build::Request {
                from: a.from.clone(),
                to: a.to.clone(),
                gateway: a.gateway,
                restart_all: a.restart.is_some(),
                lower_ttl: a.lower_ttl,
            };
            let plan = zmreip::plan::build::build(&mut src, &req, &mut progress());
            clear_progress();
            plan?
        }
    };
    if plan.changes.is_empty() && plan.actions.is_empty() {
        return emit("nothing to change: the plan has no changes and no service actions\n");
    }
    let mut opts = zmreip::apply::Options {
        root: a.host.root.clone(),
        zimbra_home: a.host.zimbra_home.clone(),
        ldif: a.host.ldif.clone(),
        no_restart: a.no_restart,
        restart_network: a.restart_network,
        no_rollback: a.no_rollback,
        services: a.services.clone(),
        ldap: Overrides {
            urls: a.host.ldap_url.clone(),
            bind_dn: a.host.bind_dn.clone(),
            password_file: a.host.bind_password_file.clone(),
            deep: a.host.deep,
        },
        no_directory: a.host.no_directory,
        dns_config: a.dns_config.clone(),
        verify: None,
    };
    let prepared = zmreip::apply::prepare(plan, &opts)?;
    if !a.no_verify {
        let to = zmreip::verify::plan_addrs(&prepared.plan.to)?;
        let from = zmreip::verify::plan_addrs(&prepared.plan.from)?;
        let mut req = verify_request(to, from, &a.host, &a.probe);
        req.derived = prepared
            .plan
            .derived
            .iter()
            .map(|d| d.file.clone())
            .collect();
        opts.verify = Some(req);
    }
    if !a.yes {
        emit(&zmreip::plan::render::text(&prepared.plan, color))?;
        emit(&zmreip::apply::summary(&prepared))?;
        confirm("Apply these changes?")?;
    }
    let out = zmreip::apply::run::apply(&prepared, &opts, &mut step_report())?;
    emit(&lines(&out.lines))
}

fn rollback(a: RollbackArgs) -> Result<()> {
    let root = &a.root.root;
    if !a.yes && !std::io::stdin().is_terminal() {
        confirm("")?;
    }
    if !a.yes {
        let runs = zmreip::apply::history(root)?;
        let run = match &a.run_id {
            Some(id) => runs.iter().find(|r| &r.id == id),
            None => runs.last(),
        };
        if let Some(r) = run {
            emit(&zmreip::apply::history_text(std::slice::from_ref(r)))?;
        }
        confirm("Roll this run back?")?;
    }
    let out = zmreip::apply::run::rollback(root, a.run_id.as_deref(), a.force, &mut step_report())?;
    emit(&lines(&out.lines))
}

fn resume(a: ResumeArgs) -> Result<()> {
    let out = zmreip::apply::run::resume(&a.root.root, a.run_id.as_deref(), &mut step_report())?;
    emit(&lines(&out.lines))
}

fn history(a: HistoryArgs) -> Result<()> {
    let runs = zmreip::apply::history(&a.root.root)?;
    match a.format {
        Format::Text => emit(&zmreip::apply::history_text(&runs)),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&runs).expect("history serializes");
            s.push('\n');
            emit(&s)
        }
    }
}

fn lines(ls: &[String]) -> String {
    let mut s = ls.join("\n");
    s.push('\n');
    s
}
