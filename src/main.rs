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
use zmreip::outcome::Report;
use zmreip::spec::AddrArg;
use zmreip::surface::Extra;
use zmreip::{Error, Result, Verbosity};

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
/// To move without refusing mail, in three phases (zmreip help window):
///
///   zmreip window open --from 172.20.14.25/24 --to 10.40.7.131/24
///   zmreip window switch                   # once caches dropped the old records
///   zmreip window close                    # once nobody uses the old address
///
/// On a multi-server deployment, on the node whose address moves (every
/// other node is reached with OpenSSH and plans its own files):
///
///   zmreip plan --cluster --from 172.20.14.25/24 --to 10.40.7.131/24 --out move.json
///   zmreip apply --plan move.json          # every node, one transaction
///   zmreip rollback --cluster              # undo it on every node
///
/// The directory is read live from the LDAP server localconfig.xml names;
/// --ldif FILE reads a zmslapcat export instead.
///
/// Exit status, the same meaning for every command: 0 done, 1 failure,
/// 2 bad usage, 3 (check) the new address would hurt mail, 4 (plan
/// --detailed-exitcode) changes are pending.
#[derive(Parser)]
#[command(name = "zmreip", version, verbatim_doc_comment)]
struct Cli {
    #[command(flatten)]
    ui: UiArgs,

    #[command(subcommand)]
    command: Command,
}

/// How much every command says, and in which colours.
#[derive(Args)]
struct UiArgs {
    /// Say less: nothing on standard error but errors (no progress, no
    /// step lines); verify lists failed checks only, watch logs warnings
    /// and errors only. What the command prints on standard output (a
    /// plan, a report, JSON) is unchanged.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Say more: scan and plan name each file and directory they read,
    /// apply, rollback and resume the command of each service step,
    /// verify the evidence of passing checks, watch every netlink event
    /// and passing check.
    #[arg(long, short, global = true)]
    verbose: bool,

    /// Colour output for people: `auto` colours a terminal unless NO_COLOR
    /// is set (CLICOLOR_FORCE colours anything), `always`, `never`.
    #[arg(long, value_enum, value_name = "WHEN", global = true, default_value_t = ColorArg::Auto)]
    color: ColorArg,
}

impl UiArgs {
    fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

/// What every command is told besides its own arguments.
#[derive(Clone, Copy)]
struct Ui {
    verbosity: Verbosity,
    color: bool,
}

impl Ui {
    fn of(a: &UiArgs) -> Ui {
        Ui {
            verbosity: a.verbosity(),
            color: use_color(a.color),
        }
    }

    /// Progress on stderr, only on a terminal, overwriting one line; with
    /// --verbose every file and directory read is a line of its own.
    fn progress(self) -> impl FnMut(&str) {
        let tty = std::io::stderr().is_terminal();
        move |what: &str| match self.verbosity {
            Verbosity::Quiet => {}
            Verbosity::Verbose => eprintln!("reading {}", zmreip::shown::escape(what)),
            Verbosity::Normal if tty => {
                let mut e = std::io::stderr();
                let _ = write!(e, "\r\x1b[2Kreading {}", zmreip::shown::escape(what));
                let _ = e.flush();
            }
            Verbosity::Normal => {}
        }
    }

    fn clear_progress(self) {
        if self.verbosity == Verbosity::Normal && std::io::stderr().is_terminal() {
            eprint!("\r\x1b[2K");
        }
    }

    /// Step lines of apply, rollback and resume on stderr (none with
    /// --quiet).
    fn steps(self) -> impl FnMut(&str) {
        move |line: &str| {
            if self.verbosity != Verbosity::Quiet {
                eprintln!("{}", zmreip::shown::escape(line));
            }
        }
    }
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
    /// directory value, then re-run the service actions it ran. With
    /// --cluster, a multi-server run on every node, in reverse order.
    Rollback(RollbackArgs),
    /// Finish a run that stopped half-way (a crash, a power cut, a
    /// --no-rollback failure whose cause was fixed).
    Resume(ResumeArgs),
    /// List the runs recorded on this host (with --cluster, the
    /// multi-server runs it coordinated and each node's run).
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
    /// Follow a dynamic address: update DNS (RFC 2136, dyndns2) and
    /// re-address Zimbra when it moves.
    #[command(long_about = WATCH_HELP)]
    Watch(WatchArgs),
    /// Move without refusing mail: serve on both addresses, switch the
    /// names, then retire the old address (three journaled phases).
    #[command(long_about = WINDOW_HELP)]
    Window(WindowArgs),

    /// Bind Zimbra to one address of a multi-address host.
    ///
    /// Makes mail leave from ADDR (--outbound) and/or services listen on
    /// ADDR only (--listen), or undoes that (--unbind: all interfaces,
    /// Zimbra's default). The result is a zmreip.plan/v1 plan, shown like
    /// `plan` and applied, rolled back and listed like any other:
    ///
    ///   zmreip bind --address 10.40.7.132 --outbound --out bind.json
    ///   zmreip apply --plan bind.json
    ///   zmreip bind --address 10.40.7.132 --listen imap,imaps --out l.json
    ///   zmreip bind --unbind --outbound --listen all --out unbind.json
    ///
    /// Where each service's address is kept:
    ///
    ///   outbound  -o smtp_bind_address= (IPv6: smtp_bind_address6=) on the
    ///             smtp and relay transports of master.cf.in (MTA reload)
    ///   imap imaps pop3 pop3s lmtp http https admin milter
    ///             zimbra<Service>BindAddress of this server's entry
    ///             (mailbox restart; milter_bind_address wins when set)
    ///   ldap      localconfig ldap_bind_url (ldap restart)
    ///   smtp      inet_interfaces of main.cf, loopback kept (MTA restart)
    ///
    /// ADDR must be configured on the host (the kernel's interface list
    /// or the OS network configuration); otherwise nothing is planned.
    /// With --outbound, the PTR of ADDR must resolve back to the MTA's
    /// myhostname and the mail domains' SPF must pass it: when not, the
    /// plan warns with the exact records to ask for.
    #[command(verbatim_doc_comment)]
    Bind(BindArgs),
}

#[derive(Args)]
struct BindArgs {
    /// The address to bind to (one of this host's).
    #[arg(
        long,
        value_name = "ADDR",
        required_unless_present = "unbind",
        conflicts_with = "unbind"
    )]
    address: Option<IpAddr>,

    /// Remove the bindings instead: the services use every interface.
    #[arg(long)]
    unbind: bool,

    /// Outgoing mail leaves from the address (Postfix's SMTP client).
    #[arg(long)]
    outbound: bool,

    /// Services that listen on the address only: comma-separated names of
    /// imap, imaps, pop3, pop3s, lmtp, http, https, admin, milter, ldap,
    /// smtp, or `all` (repeatable).
    #[arg(long, value_name = "SERVICE,...|all")]
    listen: Vec<String>,

    /// A mail domain whose SPF must pass the outbound address (repeatable)
    /// [default: the domain of the MTA's host name].
    #[arg(long, value_name = "MAIL-DOMAIN")]
    domain: Vec<String>,

    /// The resolver to ask about PTR and SPF (IP or IP:PORT) [default: the
    /// first nameserver in /etc/resolv.conf].
    #[arg(long, value_name = "IP:PORT", value_parser = zmreip::dns::parse_server)]
    resolver: Option<std::net::SocketAddr>,

    /// Seconds to wait for each DNS answer.
    #[arg(long, value_name = "SECONDS", default_value_t = 3)]
    timeout: u64,

    #[command(flatten)]
    host: HostArgs,

    /// Output format, as for `plan`.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,

    /// Also save the plan as JSON to this file (for `apply --plan`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `zmreip help window`: the phases and what each changes.
const WINDOW_HELP: &str = "\
Move without refusing mail: a make-before-break window in three phases,
each an ordinary journaled run (plan, preconditions, backups, service
actions, verify, automatic rollback; `zmreip rollback RUN` undoes one).

  zmreip window open --from OLD --to NEW [plan options]   # serve on both
  zmreip window switch                                    # names point to NEW
  zmreip window close                                     # retire OLD
  zmreip window status

open: the new address is added beside the old one (at runtime with `ip
addr`, with --restart-network, and in the OS network files where the
format holds two addresses), trust lists gain the new entries beside the
old ones (never wider than each alone), listeners that take several
addresses (ldap_bind_url, memcached, dnsmasq listen-address) listen on
both, and the TTLs of the published records that will move are lowered
(--lower-ttl). Names, DNS records and listeners that take one address
stay: the plan says which. slapd restarts with new connections held (nft)
so LDAP clients wait instead of being refused.

switch: host names, DNS records (zone files, RFC 2136, dnsmasq),
/etc/hosts, localconfig URLs and single-valued listeners move to the new
address, and the TTLs come back. Refused until the longest TTL before open
has passed since open (it says when), unless --force.

close: the old address is retired everywhere: trust lists, listeners,
OS network files, and last the interface. Refused until the records' TTL
has passed since the switch, then waits until no connection has arrived
on the old address's service ports for --quiet seconds (read from the
kernel's TCP tables), unless --force.

The three phases together leave the host as `zmreip apply` would (zone
serials aside: each phase that changes a zone raises its serial). The
window's state is in <root>/var/lib/zmreip/window.json.";

/// `zmreip help watch`: the daemon and every key of its configuration.
const WATCH_HELP: &str = "\
Follow a dynamic address: update DNS (RFC 2136, dyndns2) and re-address
Zimbra when it moves.

The address of each watched family comes from an interface (followed
through rtnetlink events: a change is seen within the settle time, and
nothing is polled) or, behind NAT, from public-address methods polled every
`interval`. When it changes, every target is brought in step, each on its
own and retried with backoff: RFC 2136 zones, dyndns2 providers, Zimbra
(the same plan `zmreip plan` builds, applied as a journaled transaction
with verify and automatic rollback), and hook commands. What each target
last achieved is kept in the state file, written atomically only after a
success, so a restart resumes without a redundant update. Every
`verify_interval` the published records are read from their authoritative
server and repaired if they no longer hold the address.

Logs go to stderr, one line per event with its level (journald priorities
under systemd). SIGHUP reloads the configuration (a broken one is refused
and the running one stays); SIGTERM stops after the jobs in flight. Under
systemd (Type=notify) readiness is signalled once every family was
detected. contrib/zmreip-watch.service is a unit for it.

Exit status: 0 stopped cleanly (--once: every update succeeded), 1 a
failure (--once: an update failed), 2 the configuration is wrong (the error
names the file, line and key).

CONFIGURATION (TOML; relative paths are taken from the file's directory)

  state = \"/var/lib/zmreip/watch.json\"   the state file (a lock file beside it)
  interval = 300             seconds between polls of public-address methods
                             (up to a tenth more at random)
  verify_interval = 600      seconds between checks of the published DNS; 0: never
  repair = true              rewrite a published record that no longer holds the
                             address (logged with what was there); false: only log
  settle = 0.2               seconds of quiet after interface events before acting

  [ipv4] / [ipv6]            a family to watch (at least one); an empty table
                             follows the interface of the default route
    interface = \"eth0\"       follow this interface's global address instead
    public = [ ... ]           or the public address behind NAT: methods tried in
                               order until one answers an address:
      { url = \"https://api.ipify.org\" }       the body holds the address
      { dns = \"myip.opendns.com\", server = \"208.67.222.222\", type = \"A\" }
                                                an A/AAAA or TXT answer (type
                                                defaults to A or AAAA)
      { command = [\"/usr/local/bin/wan-ip\"] }   what it prints (a string runs
                                                with sh -c)
      each may set timeout = 10 (seconds)

  [[dns.rfc2136]]            a zone updated with RFC 2136, signed with TSIG
    zone = \"example.com\"
    server = \"192.0.2.53:53\"   its primary server (IP[:PORT])
    key_file = \"example.key\"   a key as tsig-keygen writes it
    key = \"name\"               which key, if the file holds several
    names = [\"mail\", \"@\"]      names (relative to the zone, or absolute in it)
                               whose A (ipv4) and AAAA (ipv6) RRsets become the
                               address; an update requires the RRset zmreip wrote
                               last, so a change made by someone else is never
                               overwritten silently
    ttl = 60                   TTL of the records written
    timeout = 5                seconds per query or update

  [[dns.dyndns2]]            a dyndns2 provider (Dyn, ChangeIP, No-IP, ...)
    server = \"members.dyndns.org\"   update host (https://HOST/nic/update), or a
                               whole URL; http:// only when written so (logged)
    hostname = \"mail.example.com\"
    username = \"me\"
    password_file = \"dyn.password\"  its first line is the password
    verify_server = \"IP[:PORT]\"     a server authoritative for the host name,
                               to check the published records (else unchecked)
    timeout = 20               seconds per request
                             good/nochg: done; 911/dnserr: not asked again for 30
                             minutes; badauth, nohost, abuse and every other
                             answer: not asked again until the entry or the
                             password file changes (then reload)

  [zimbra]                   re-address Zimbra when the host's own (interface)
                             address moves
    mode = \"off\"               \"apply\": plan and apply, verified, rolled back on
                               failure; \"plan\": write the plan for review only
    apply_with_warnings = false   apply a plan that has warnings (else it is
                               written for review and not applied)
    root = \"/\"                 the host's files, as --root
    zimbra_home = \"/opt/zimbra\"
    ldap_url = [\"ldapi://...\"]  the directory (default: Zimbra's slapd socket
                               <zimbra_home>/data/ldap/state/run/ldapi when it
                               exists, else localconfig's ldap_url)
    bind_dn = \"...\", bind_password_file = \"...\"   as --bind-dn, --bind-password-file
    services = \"services.toml\"  as apply --services
    include = [\"/etc/myapp/*.conf\"], zone_files = [\"[ZONE=]PATH\"]   as plan
    outside_source = \"ADDR\"     as verify --outside-source
    plan_dir = \"/var/lib/zmreip/watch-plans\"   where plans are written

  [hooks]
    after_change = [\"cmd\", [\"/path\", \"arg\"]]   run when the address changes,
                               with ZMREIP_OLD_IPV4, ZMREIP_NEW_IPV4,
                               ZMREIP_OLD_IPV6, ZMREIP_NEW_IPV6, ZMREIP_CHANGED in
                               the environment; output in watch-hooks.log beside
                               the state file
    timeout = 60";

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
    /// new network. Once per address family: give it twice on a dual-stack
    /// host (the IPv4 router and the IPv6 router). Without it zmreip never
    /// guesses and warns instead.
    #[arg(long, value_name = "ADDR")]
    gateway: Vec<IpAddr>,

    /// `all`: plan one full `zmcontrol restart` instead of the least set of
    /// Zimbra's reloads and restarts (the network, dnsmasq, named,
    /// firewalls and keepalived keep their own actions).
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

    /// Exit 4 when the plan has changes or service actions (something to
    /// apply), 0 when it has none, 1 on failure, 2 on bad usage, as
    /// `terraform plan -detailed-exitcode` does: for scripts and
    /// configuration management that ask "is this host done?".
    #[arg(long)]
    detailed_exitcode: bool,

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

    /// Whose address moves: `own` (this host's) or `peer` (another node
    /// of the deployment: references to it swap, trusted networks stay
    /// and gain the new address, this host's network configuration never
    /// changes). `--cluster` chooses for every node itself.
    #[arg(long, value_enum, value_name = "ROLE", conflicts_with = "cluster")]
    role: Option<RoleArg>,

    /// Plan --from as this host's address even when nothing on the host
    /// says it is (not its OS network configuration, interfaces,
    /// localconfig's own-address keys, its server entry's bind addresses
    /// or /etc/hosts for its name): for a snapshot copied without its OS
    /// network configuration. Without it such a --from is refused.
    #[arg(long)]
    assume_own: bool,

    #[command(flatten)]
    cluster: ClusterArgs,
}

/// A multi-server plan and how the other nodes are reached.
#[derive(Args)]
struct ClusterArgs {
    /// Plan (or apply) every node of the deployment: the nodes are the
    /// directory's servers; this host plans the directory once and each
    /// other node plans its own files with its own zmreip, reached with
    /// OpenSSH. Run it on the node whose address moves.
    #[arg(long)]
    cluster: bool,

    /// Only these nodes (repeatable; names as the directory's
    /// zimbraServiceHostname). This host and the moving node are always in.
    #[arg(long, value_name = "NAME", requires = "cluster")]
    node: Vec<String>,

    /// The node whose address moves, when zmreip runs on another node.
    #[arg(long, value_name = "NAME", requires = "cluster")]
    node_moving: Option<String>,

    /// Leave this node out (repeatable): it is listed as a hand-off with
    /// the command to run on it later.
    #[arg(long, value_name = "NAME", requires = "cluster")]
    skip_node: Vec<String>,

    /// An ssh option for every node (repeatable; ssh's `-o OPT`, e.g.
    /// `User=root` or `Port=2222`).
    #[arg(long, value_name = "OPT")]
    ssh_option: Vec<String>,

    /// An ssh client configuration file instead of ~/.ssh/config (ssh's
    /// `-F FILE`).
    #[arg(long, value_name = "FILE")]
    ssh_config: Option<PathBuf>,

    /// Copy this zmreip binary to each remote node for the run (over the
    /// same ssh connection, into a private temporary directory, removed
    /// afterwards) instead of using the one installed there.
    #[arg(long)]
    push_binary: bool,
}

impl ClusterArgs {
    fn ssh(&self) -> zmreip::cluster::transport::SshOptions {
        zmreip::cluster::transport::SshOptions {
            config: self.ssh_config.clone(),
            options: self.ssh_option.clone(),
        }
    }

    /// The ssh options make sense only with a multi-server plan.
    fn check_used(&self, cluster: bool) -> Result<()> {
        if !cluster
            && (!self.ssh_option.is_empty() || self.ssh_config.is_some() || self.push_binary)
        {
            return Err(Error::usage(
                "--ssh-option, --ssh-config and --push-binary reach other nodes, and this is a single-server run",
                "add --cluster (or give --plan a cluster plan) to plan or apply every node",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Own,
    Peer,
}

impl From<RoleArg> for zmreip::policy::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Own => zmreip::policy::Role::Own,
            RoleArg::Peer => zmreip::policy::Role::Peer,
        }
    }
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

    /// The DNS server to ask (IP or IP:PORT) [default: the first
    /// nameserver in /etc/resolv.conf]. Nothing else is asked.
    #[arg(long, alias = "resolver", value_name = "IP[:PORT]", value_parser = zmreip::dns::parse_server)]
    dns_server: Option<std::net::SocketAddr>,

    /// A DNS blocklist zone to ask (repeatable; replaces the default list:
    /// zen.spamhaus.org, bl.spamcop.net, psbl.surriel.com,
    /// bl.mailspike.net, dnsbl-1.uceprotect.net).
    #[arg(long, value_name = "ZONE")]
    dnsbl: Vec<String>,

    /// Seconds to wait for each answer.
    #[arg(long, alias = "timeout", value_name = "SECONDS", default_value_t = 3.0, value_parser = parse_timeout)]
    probe_timeout: f64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct WatchArgs {
    /// The configuration file (TOML; its keys are described above).
    #[arg(long, value_name = "FILE", default_value = zmreip::watch::config::DEFAULT_CONFIG)]
    config: PathBuf,

    /// Detect once, update what is out of step, check what is published,
    /// then exit (for cron).
    #[arg(long)]
    once: bool,

    /// Say what would be sent; send nothing, write no state or plan.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct WindowArgs {
    #[command(subcommand)]
    phase: WindowCommand,
}

#[derive(Subcommand)]
enum WindowCommand {
    /// Phase 1: serve on both addresses; lower the TTLs of the records
    /// that will move.
    Open(Box<WindowOpenArgs>),
    /// Phase 2: names, DNS records and single-valued listeners point to
    /// the new address (after the old TTLs expired).
    Switch(WindowPhaseArgs),
    /// Phase 3: retire the old address (after the switched records' TTL
    /// expired and the old address fell quiet).
    Close(WindowCloseArgs),
    /// Show the window's phase, when the next phase is safe, and the
    /// connections still arriving on the old address.
    Status(WindowStatusArgs),
}

#[derive(Args)]
struct WindowOpenArgs {
    /// Old address, optionally with prefix, as for `plan`.
    #[arg(long, value_name = "ADDR[/PREFIX]", required = true)]
    from: Vec<AddrArg>,

    /// New address, optionally with prefix, as for `plan`.
    #[arg(long, value_name = "ADDR[/PREFIX]", required = true)]
    to: Vec<AddrArg>,

    /// New default gateway (once per address family), as for `plan`
    /// (written at close).
    #[arg(long, value_name = "ADDR")]
    gateway: Vec<IpAddr>,

    #[command(flatten)]
    host: HostArgs,

    /// Also edit this BIND zone file, as for `plan`.
    #[arg(long, value_name = "[ZONE=]PATH")]
    zone_file: Vec<zmreip::dns::zone::ZoneFileArg>,

    /// Zones held elsewhere, updated with RFC 2136 and TSIG, as for
    /// `plan`.
    #[arg(long, value_name = "FILE")]
    dns_config: Option<PathBuf>,

    /// The TTL, in seconds, the published records that will move get
    /// while the window is open: how long caches may hold the old address
    /// after the switch.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    lower_ttl: u32,

    /// Do not ask for confirmation (required without a terminal); the
    /// later phases ask again.
    #[arg(long)]
    yes: bool,

    /// Write the changes but run no service action, in every phase;
    /// print the commands to run by hand.
    #[arg(long, conflicts_with = "restart_network")]
    no_restart: bool,

    /// Also add the new address to the interface at runtime (and remove
    /// the old one at close) with `ip addr`. Without it the commands are
    /// printed.
    #[arg(long)]
    restart_network: bool,

    /// TOML file mapping SERVICE.ACTION to commands, as for `apply`,
    /// used by every phase.
    #[arg(long, value_name = "FILE")]
    services: Option<PathBuf>,

    /// Do not verify the host after each phase.
    #[arg(long)]
    no_verify: bool,

    #[command(flatten)]
    probe: ProbeArgs,

    /// Output: lines for people, or the zmreip.outcome/v1 JSON document
    /// (`run`, `state`, `changed`, `lines`) for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct WindowPhaseArgs {
    #[command(flatten)]
    root: RootArg,

    /// Run even though caches may still hold the old records.
    #[arg(long)]
    force: bool,

    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    yes: bool,

    /// Output: lines for people, or the zmreip.outcome/v1 JSON document
    /// (`run`, `state`, `changed`, `lines`) for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct WindowCloseArgs {
    #[command(flatten)]
    phase: WindowPhaseArgs,

    /// Seconds without a connection to the old address's service ports
    /// before it is retired (read from the kernel's TCP tables every
    /// 200 ms; --force skips the wait). Not `--quiet`, which says less
    /// on every command.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    quiet_for: u64,

    /// Give up (and change nothing) when the old address has not been
    /// quiet for that long within this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    quiet_timeout: u64,
}

#[derive(Args)]
struct WindowStatusArgs {
    #[command(flatten)]
    root: RootArg,

    /// Output: lines for people, or the zmreip.window-status/v1 JSON
    /// document.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct VerifyArgs {
    /// New address (repeatable), with its prefix when postfix mynetworks
    /// should hold its network (10.40.7.131/24), as `plan --to`.
    #[arg(
        long = "to",
        alias = "ip",
        value_name = "ADDR[/PREFIX]",
        required = true
    )]
    ips: Vec<AddrArg>,

    /// Old address (repeatable), as `plan --from`: nothing may still
    /// listen on it or refer to it. With its prefix, the old interface
    /// network must be gone from trust lists too.
    #[arg(long = "from", alias = "old", value_name = "ADDR[/PREFIX]")]
    old: Vec<AddrArg>,

    #[command(flatten)]
    host: HostArgs,

    #[command(flatten)]
    probe: ProbeArgs,

    /// Verify this host as another node of a multi-server deployment whose
    /// node NAME moved to --ip: NAME resolves to the new address here, the
    /// services of NAME answer there (--reach), this host's own services
    /// answer, and nothing here refers to the old address but the trust
    /// networks that stay.
    #[arg(long, value_name = "NAME")]
    peer: Option<String>,

    /// A port of the moved node's services that must answer at its new
    /// address (repeatable; with --peer).
    #[arg(long, value_name = "PORT", requires = "peer")]
    reach: Vec<u16>,

    /// An address of another node of the deployment, which stays
    /// (repeatable): trust networks it lives in are expected to stay.
    #[arg(long, value_name = "ADDR")]
    staying: Vec<IpAddr>,

    /// Output format: a table for people or the zmreip.verify/v1 JSON
    /// document.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How verify probes the server.
#[derive(Args)]
struct ProbeArgs {
    /// The server's host name [default: localconfig zimbra_server_hostname].
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,

    /// The split-DNS server to ask for the host name [default: the
    /// host's dnsmasq listen-address and port].
    #[arg(long, alias = "resolver", value_name = "IP[:PORT]", value_parser = zmreip::dns::parse_server)]
    dns_server: Option<std::net::SocketAddr>,

    /// An address of this host outside mynetworks: relaying from it must
    /// be refused. Without it that check is skipped.
    #[arg(long, value_name = "ADDR")]
    outside_source: Option<IpAddr>,

    /// Seconds to wait for each connection, reply and DNS answer.
    #[arg(long, alias = "timeout", value_name = "SECONDS", default_value_t = 3.0, value_parser = parse_timeout)]
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
            for e in e.all() {
                print_error(&e.to_string(), e.help());
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// An error as zmreip prints every one: what and where, then what to do.
fn print_error(error: &str, help: Option<&str>) {
    eprintln!("zmreip: error: {}", zmreip::shown::escape(error));
    if let Some(help) = help {
        eprintln!("help: {}", zmreip::shown::escape(help));
    }
}

fn write_manual(dir: PathBuf) -> Result<ExitCode> {
    let written = zmreip::manual::write(Cli::command(), &dir)?;
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    emit(&lines(&names))?;
    Ok(ExitCode::SUCCESS)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let ui = Ui::of(&cli.ui);
    match cli.command {
        Command::Scan(a) => scan(a, ui),
        Command::Plan(a) => plan(a, ui),
        Command::Bind(a) => bind(a, ui).map(|()| ExitCode::SUCCESS),
        Command::Check(a) => check(a),
        Command::Watch(a) => watch(a, ui),
        Command::Verify(a) => verify(a, ui).map(|()| ExitCode::SUCCESS),
        Command::Apply(a) => {
            let j = Journaled::new("apply", &a.host.root, a.cluster.cluster, None, a.format);
            j.run(|| apply(a, ui))
        }
        Command::Rollback(a) => {
            let j = Journaled::new(
                "rollback",
                &a.root.root,
                a.cluster,
                a.run_id.as_deref(),
                a.format,
            );
            j.run(|| rollback(a, ui))
        }
        Command::Resume(a) => {
            let j = Journaled::new("resume", &a.root.root, false, a.run_id.as_deref(), a.format);
            j.run(|| resume(a, ui))
        }
        Command::History(a) => history(a).map(|()| ExitCode::SUCCESS),
        Command::Window(a) => window(a, ui).map(|()| ExitCode::SUCCESS),
    }
}

/// An apply, rollback or resume: its outcome printed as lines or as
/// zmreip.outcome/v1 (also when it fails: the error and the run it left),
/// and its run's line written to the system log.
struct Journaled {
    command: &'static str,
    root: PathBuf,
    cluster: bool,
    /// The run named on the command line (rollback, resume).
    named: Option<String>,
    format: Format,
    /// The run concerned and its state before the command: the named one,
    /// or the latest (an apply's new run is the one after it).
    before: Option<(String, String)>,
}

impl Journaled {
    fn new(
        command: &'static str,
        root: &std::path::Path,
        cluster: bool,
        named: Option<&str>,
        format: Format,
    ) -> Journaled {
        let mut j = Journaled {
            command,
            root: root.to_path_buf(),
            cluster,
            named: named.map(str::to_string),
            format,
            before: None,
        };
        j.before = j.run_state();
        j
    }

    fn runs(&self) -> &'static zmreip::apply::journal::Runs {
        if self.cluster {
            &zmreip::apply::journal::CLUSTER_RUNS
        } else {
            &zmreip::apply::journal::RUNS
        }
    }

    /// The named run (or the latest) and its state now.
    fn run_state(&self) -> Option<(String, String)> {
        let j =
            zmreip::apply::journal::Journal::open(&self.root, self.runs(), self.named.as_deref())
                .ok()?;
        let state = j.state().ok()?;
        Some((j.id, state.as_str().to_string()))
    }

    fn run(self, f: impl FnOnce() -> Result<Report>) -> Result<ExitCode> {
        match f() {
            Ok(report) => {
                if let Some(id) = &report.run {
                    self.audit(id, false);
                }
                match self.format {
                    Format::Text => emit(&lines(&report.lines))?,
                    Format::Json => emit(&report.json())?,
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                // Which run the command left, if any: the one it was
                // told, or one an apply made.
                let after = self.run_state();
                let (run, state, changed) = match (&self.before, after) {
                    (Some((id, was)), Some((now_id, now))) if *id == now_id => {
                        let changed = *was != now;
                        let touched = self.named.is_some() || self.command != "apply";
                        if touched {
                            (Some(now_id), Some(now), changed)
                        } else {
                            (None, None, false)
                        }
                    }
                    // A new run: the host changed unless it was rolled
                    // back.
                    (_, Some((id, now))) if self.command == "apply" => {
                        let changed = now != "rolled-back";
                        (Some(id), Some(now), changed)
                    }
                    _ => (None, None, false),
                };
                if let Some(id) = &run
                    && (changed || self.command == "apply")
                {
                    self.audit(id, true);
                }
                if let Format::Json = self.format {
                    let mut r =
                        zmreip::outcome::Report::failed(self.command, run, state, changed, &e);
                    r.cluster = self.cluster;
                    emit(&r.json())?;
                }
                Err(e)
            }
        }
    }

    fn audit(&self, id: &str, failed: bool) {
        if self.cluster {
            zmreip::cluster::run::audit(self.command, &self.root, id, failed);
        } else {
            zmreip::apply::run::audit(self.command, &self.root, id, failed);
        }
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

fn scan(a: ScanArgs, ui: Ui) -> Result<ExitCode> {
    let mut src = Sources::open(&source_args(&a.host, &[], None))?;
    let result = zmreip::scan::scan(&mut src, &a.ips, &mut ui.progress());
    ui.clear_progress();
    let result = result?;
    let out = match a.format {
        Format::Text => zmreip::scan::text(&result),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&result).expect("scan results serialize");
            s.push('\n');
            s
        }
    };
    emit(&out)?;
    for u in &result.unreadable {
        print_error(&u.error, u.help.as_deref());
    }
    Ok(if result.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn plan(a: PlanArgs, ui: Ui) -> Result<ExitCode> {
    a.cluster.check_used(a.cluster.cluster)?;
    let detailed = a.detailed_exitcode;
    let pending = if a.cluster.cluster {
        cluster_plan(a, ui)?
    } else {
        single_plan(a, ui)?
    };
    Ok(match (detailed, pending) {
        (true, true) => ExitCode::from(zmreip::error::exit::CHANGES_PENDING),
        _ => ExitCode::SUCCESS,
    })
}

/// `plan` of this host. Returns whether something is to apply.
fn single_plan(a: PlanArgs, ui: Ui) -> Result<bool> {
    let mut src = Sources::open(&source_args(&a.host, &a.zone_file, a.dns_config.as_ref()))?;
    let req = zmreip::plan::build::Request {
        from: a.from,
        to: a.to,
        gateways: a.gateway,
        restart_all: a.restart.is_some(),
        lower_ttl: a.lower_ttl,
        role: a.role.map(Into::into).unwrap_or_default(),
        assume_own: a.assume_own,
        ..Default::default()
    };
    let plan = zmreip::plan::build::build(&mut src, &req, &mut ui.progress());
    ui.clear_progress();
    let plan = plan?;
    if let Some(path) = &a.out {
        std::fs::write(path, zmreip::plan::render::json(&plan))
            .map_err(|e| Error::io("write", path, e))?;
    }
    let out = match a.format {
        PlanFormat::Text => {
            // The renderer escaped the host's text itself (its colours
            // are zmreip's own).
            emit_rendered(&zmreip::plan::render::text(&plan, ui.color))?;
            return Ok(plan.is_pending());
        }
        PlanFormat::Json => zmreip::plan::render::json(&plan),
        PlanFormat::Markdown => {
            let facts = zmreip::plan::report::Facts::gather(&mut src, &plan, a.out.as_deref());
            zmreip::plan::report::markdown(&plan, &facts)
        }
    };
    emit(&out)?;
    Ok(plan.is_pending())
}

fn bind(a: BindArgs, ui: Ui) -> Result<()> {
    let mut listen = Vec::new();
    for l in &a.listen {
        for s in zmreip::plan::bind::parse_listen(l)? {
            if !listen
                .iter()
                .any(|o: &&zmreip::zimbra::Listener| o.name == s.name)
            {
                listen.push(s);
            }
        }
    }
    let outbound = a.outbound && a.address.is_some();
    // Asking DNS about an address being unbound tells nothing.
    let resolver = match (a.resolver, outbound) {
        (Some(r), _) => Some(r),
        (None, true) => zmreip::check::system_resolver().ok(),
        (None, false) => None,
    };
    let req = zmreip::plan::bind::Request {
        address: a.address,
        outbound: a.outbound,
        listen,
        resolver,
        domains: a.domain.clone(),
        timeout: std::time::Duration::from_secs(a.timeout.max(1)),
    };
    let mut src = Sources::open(&source_args(&a.host, &[], None))?;
    let plan = zmreip::plan::bind::build(&mut src, &req)?;
    if let Some(path) = &a.out {
        std::fs::write(path, zmreip::plan::render::json(&plan))
            .map_err(|e| Error::io("write", path, e))?;
    }
    let out = match a.format {
        PlanFormat::Text => zmreip::plan::render::text(&plan, ui.color),
        PlanFormat::Json => zmreip::plan::render::json(&plan),
        PlanFormat::Markdown => {
            let facts = zmreip::plan::report::Facts::gather(&mut src, &plan, a.out.as_deref());
            zmreip::plan::report::markdown(&plan, &facts)
        }
    };
    emit(&out)
}

/// The cluster request of `plan --cluster` / `apply --cluster`.
fn cluster_request(
    from: Vec<AddrArg>,
    to: Vec<AddrArg>,
    plan: zmreip::plan::build::Request,
    c: &ClusterArgs,
    h: &HostArgs,
) -> zmreip::cluster::build::Request {
    zmreip::cluster::build::Request {
        plan: zmreip::plan::build::Request { from, to, ..plan },
        nodes: c.node.clone(),
        moving: c.node_moving.clone(),
        skip: c.skip_node.clone(),
        ssh: c.ssh(),
        push_binary: c.push_binary,
        ldap: directory_args(h).ldap,
        ldif: h.ldif.is_some(),
    }
}

fn cluster_plan(a: PlanArgs, ui: Ui) -> Result<bool> {
    let mut src = Sources::open(&source_args(&a.host, &a.zone_file, a.dns_config.as_ref()))?;
    let single = zmreip::plan::build::Request {
        gateways: a.gateway,
        restart_all: a.restart.is_some(),
        lower_ttl: a.lower_ttl,
        assume_own: a.assume_own,
        ..Default::default()
    };
    let req = cluster_request(a.from.clone(), a.to.clone(), single, &a.cluster, &a.host);
    let planned = zmreip::cluster::build::build(&mut src, &req, &mut ui.progress());
    ui.clear_progress();
    let planned = planned?;
    let plan = &planned.plan;
    if let Some(path) = &a.out {
        std::fs::write(path, zmreip::cluster::plan::json(plan))
            .map_err(|e| Error::io("write", path, e))?;
    }
    match a.format {
        PlanFormat::Text => emit_rendered(&zmreip::cluster::plan::text(plan, ui.color))?,
        PlanFormat::Json => emit(&zmreip::cluster::plan::json(plan))?,
        PlanFormat::Markdown => emit(&zmreip::cluster::plan::markdown(plan))?,
    }
    Ok(plan.nodes.iter().any(|n| n.plan.is_pending()))
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

fn verify(a: VerifyArgs, ui: Ui) -> Result<()> {
    let mut req = verify_request(a.ips, a.old, &a.host, &a.probe);
    req.peer = a.peer;
    req.reach = a.reach;
    req.staying = a.staying;
    let report = zmreip::verify::run(&req);
    emit(&match a.format {
        Format::Text => zmreip::verify::text(&report, ui.verbosity),
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

fn watch(a: WatchArgs, ui: Ui) -> Result<ExitCode> {
    let opts = zmreip::watch::Options {
        config: a.config,
        once: a.once,
        dry_run: a.dry_run,
        verbosity: ui.verbosity,
    };
    Ok(if zmreip::watch::run(&opts)? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn check(a: CheckArgs) -> Result<ExitCode> {
    let resolver = match a.dns_server {
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
        timeout: std::time::Duration::from_secs_f64(a.probe_timeout),
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

/// Writes text for people to stdout, every terminal control from the
/// host's files shown escaped ([`zmreip::shown`]).
fn emit(s: &str) -> Result<()> {
    emit_rendered(&zmreip::shown::escape(s))
}

/// Writes output whose renderer escaped the host's text itself (a plan,
/// coloured with escape sequences of zmreip's own); a closed pipe
/// (`| head`) is not an error.
fn emit_rendered(s: &str) -> Result<()> {
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
    /// Apply this saved plan (from `zmreip plan --out FILE`; `-` reads it
    /// from standard input) instead of planning now. It is refused if its
    /// checksum does not match or any change's `before` no longer holds on
    /// the host. A cluster plan (`plan --cluster --out FILE`) is applied on
    /// every node.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to", "gateway", "restart", "include", "zone_file", "lower_ttl", "role", "cluster"])]
    plan: Option<PathBuf>,

    /// Old address, optionally with prefix, as for `plan`.
    #[arg(long, value_name = "ADDR[/PREFIX]", required_unless_present = "plan")]
    from: Vec<AddrArg>,

    /// New address, optionally with prefix, as for `plan`.
    #[arg(long, value_name = "ADDR[/PREFIX]", required_unless_present = "plan")]
    to: Vec<AddrArg>,

    /// New default gateway (once per address family), as for `plan`.
    #[arg(long, value_name = "ADDR")]
    gateway: Vec<IpAddr>,

    /// `all`: one full `zmcontrol restart` instead of the least set of
    /// Zimbra's actions, as for `plan`.
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

    /// Also bring the new address up (netplan apply, ifup, nmcli ...) and
    /// load the firewall rules and keepalived addresses written for it
    /// (netfilter-persistent, nft, ufw, firewall-cmd, keepalived reload).
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

    /// Whose address moves, as for `plan`.
    #[arg(long, value_enum, value_name = "ROLE", conflicts_with = "cluster")]
    role: Option<RoleArg>,

    /// Plan --from as this host's address without evidence, as for `plan`.
    #[arg(long, conflicts_with = "plan")]
    assume_own: bool,

    /// Run only these parts of the steps (repeatable: `files`,
    /// `directory`, or a service such as `ldap`, `mta`) and leave the run
    /// waiting for `zmreip resume RUN`. A cluster apply drives each node's
    /// run part by part this way.
    #[arg(long, value_name = "PART", conflicts_with = "cluster")]
    only: Vec<zmreip::apply::Part>,

    /// Check every change's precondition against the host and say what
    /// would be done; write nothing.
    #[arg(long, conflicts_with = "cluster")]
    check: bool,

    /// Output: lines for people, or the zmreip.outcome/v1 JSON document
    /// (`run`, `state`, `changed`, `lines`) for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    #[command(flatten)]
    cluster: ClusterArgs,
}

/// The host whose runs are meant.
#[derive(Args)]
struct RootArg {
    /// The host's root directory, as given to `apply`.
    #[arg(long, default_value = "/", value_name = "DIR", env = "ZMREIP_ROOT")]
    root: PathBuf,
}

/// What rollback and resume need besides the run, for a host whose
/// journal is not trusted (a root other than `/`) or whose directory
/// moved.
#[derive(Args)]
struct AgainArgs {
    /// TOML file mapping service actions to commands, as for `apply`. With
    /// a --root other than `/` the commands recorded in the run's journal
    /// are never run (a snapshot's journal is data); only these are.
    #[arg(long, value_name = "FILE")]
    services: Option<PathBuf>,

    /// The LDIF export the run changed. With a --root other than `/` a
    /// file outside the root is restored only when named here.
    #[arg(long, value_name = "FILE")]
    ldif: Option<PathBuf>,

    /// The directory server to write to instead of the one the run
    /// recorded (repeatable; for when that address is gone).
    #[arg(long, value_name = "URL")]
    ldap_url: Vec<String>,

    /// DN to bind to the directory as, instead of the run's.
    #[arg(long, value_name = "DN")]
    bind_dn: Option<String>,

    /// File whose first line is the bind password [default: the run's
    /// password file (only with --root /), else localconfig's
    /// zimbra_ldap_password].
    #[arg(long, value_name = "FILE")]
    bind_password_file: Option<PathBuf>,

    /// The servers and keys of the DNS zones the run updated, instead of
    /// the file it recorded (needed with a --root other than `/`).
    #[arg(long, value_name = "FILE")]
    dns_config: Option<PathBuf>,
}

impl AgainArgs {
    fn again(
        &self,
        root: &std::path::Path,
        id: Option<&str>,
        only: &[zmreip::apply::Part],
    ) -> zmreip::apply::run::Again {
        zmreip::apply::run::Again {
            root: root.to_path_buf(),
            id: id.map(str::to_string),
            services: self.services.clone(),
            ldap: Overrides {
                urls: self.ldap_url.clone(),
                bind_dn: self.bind_dn.clone(),
                password_file: self.bind_password_file.clone(),
                deep: false,
            },
            ldif: self.ldif.clone(),
            dns_config: self.dns_config.clone(),
            only: only.to_vec(),
            force: false,
        }
    }
}

#[derive(Args)]
struct RollbackArgs {
    /// The run to undo [default: the latest].
    run_id: Option<String>,

    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    again: AgainArgs,

    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    yes: bool,

    /// Restore files even if they changed after the run wrote them.
    #[arg(long)]
    force: bool,

    /// Undo only these parts (repeatable: `files`, `directory`, or a
    /// service whose actions are run again) and leave the run rolling
    /// back; a plain rollback finishes it.
    #[arg(long, value_name = "PART", conflicts_with = "cluster")]
    only: Vec<zmreip::apply::Part>,

    /// Roll back a cluster run (`apply --cluster`) on every node, in
    /// reverse order; RUN-ID is then a cluster run's id (`history
    /// --cluster`).
    #[arg(long)]
    cluster: bool,

    /// An ssh option for every node, as for `plan --cluster`.
    #[arg(long, value_name = "OPT", requires = "cluster")]
    ssh_option: Vec<String>,

    /// An ssh client configuration file, as for `plan --cluster`.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    ssh_config: Option<PathBuf>,

    /// Copy this zmreip to each remote node for the rollback, as for
    /// `plan --cluster`.
    #[arg(long, requires = "cluster")]
    push_binary: bool,

    /// Output: lines for people, or the zmreip.outcome/v1 JSON document
    /// (`run`, `state`, `changed`, `lines`) for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct ResumeArgs {
    /// The run to finish [default: the latest].
    run_id: Option<String>,

    #[command(flatten)]
    root: RootArg,

    #[command(flatten)]
    again: AgainArgs,

    /// Run only these parts of the remaining steps (repeatable: `files`,
    /// `directory`, or a service) and leave the run waiting for the rest.
    #[arg(long, value_name = "PART")]
    only: Vec<zmreip::apply::Part>,

    /// Output: lines for people, or the zmreip.outcome/v1 JSON document
    /// (`run`, `state`, `changed`, `lines`) for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Args)]
struct HistoryArgs {
    #[command(flatten)]
    root: RootArg,

    /// List the cluster runs this host coordinated, with each node's run.
    #[arg(long)]
    cluster: bool,

    /// Output: a list for people, or the zmreip.history/v1 JSON document
    /// (zmreip.cluster-history/v1 with --cluster) for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Whether to colour standard output: `auto` asks anstream, which
/// honours NO_COLOR, CLICOLOR_FORCE, CLICOLOR and a dumb TERM besides
/// whether stdout is a terminal.
fn use_color(c: ColorArg) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => !matches!(
            anstream::AutoStream::choice(&std::io::stdout()),
            anstream::ColorChoice::Never
        ),
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

fn apply(a: ApplyArgs, ui: Ui) -> Result<Report> {
    let saved = match &a.plan {
        Some(path) => Some(read_plan(path)?),
        None => None,
    };
    let cluster_saved = saved
        .as_ref()
        .is_some_and(|(_, v)| zmreip::cluster::plan::is_cluster_plan(v));
    a.cluster.check_used(a.cluster.cluster || cluster_saved)?;
    if !a.yes && !a.check && !std::io::stdin().is_terminal() {
        // Refuse before planning: nothing to show to nobody.
        confirm("")?;
    }
    if a.cluster.cluster || cluster_saved {
        return cluster_apply(a, saved.map(|(_, v)| v), ui);
    }
    let plan = match saved {
        Some((shown, value)) => zmreip::apply::plan_of(&shown, value)?,
        None => {
            let mut src =
                Sources::open(&source_args(&a.host, &a.zone_file, a.dns_config.as_ref()))?;
            let req = zmreip::plan::build::Request {
                from: a.from.clone(),
                to: a.to.clone(),
                gateways: a.gateway,
                restart_all: a.restart.is_some(),
                lower_ttl: a.lower_ttl,
                role: a.role.map(Into::into).unwrap_or_default(),
                assume_own: a.assume_own,
                ..Default::default()
            };
            let plan = zmreip::plan::build::build(&mut src, &req, &mut ui.progress());
            ui.clear_progress();
            plan?
        }
    };
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
        only: a.only.clone(),
        network: None,
        held: Vec::new(),
    };
    let prepared = match zmreip::apply::prepare(plan.clone(), &opts) {
        Ok(p) => p,
        // A plan applied already (the host holds its `after`, a run of it
        // is recorded) is done, not an error.
        Err(e) => match zmreip::apply::applied_as(&plan, &opts) {
            Some(out) => return Ok(Report::of("apply", &out)),
            None => return Err(e),
        },
    };
    if let Some(lines) = zmreip::apply::nothing_to_run(&prepared) {
        // Recording a run with no step would only give `rollback` a run
        // to pick that undoes nothing.
        return Ok(Report::unchanged("apply", lines));
    }
    if a.check {
        let mut s = String::from("every change's precondition holds; nothing was written");
        s.push_str(&zmreip::apply::summary(&prepared));
        return Ok(Report::unchanged(
            "apply",
            s.lines().map(str::to_string).collect(),
        ));
    }
    if !a.no_verify && prepared.plan.bind.is_none() {
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
        emit_rendered(&zmreip::plan::render::text(&prepared.plan, ui.color))?;
        emit(&zmreip::apply::summary(&prepared))?;
        confirm("Apply these changes?")?;
    }
    let verbose = ui.verbosity == Verbosity::Verbose;
    let mut steps = ui.steps();
    let mut report = |line: &str| {
        steps(line);
        if verbose && let Some(cmd) = zmreip::apply::command_of(&prepared, line) {
            steps(&format!("    $ {cmd}"));
        }
    };
    let mut out = zmreip::apply::run::apply(&prepared, &opts, &mut report)?;
    let run_dir = zmreip::apply::journal::Journal::open(
        &opts.root,
        &zmreip::apply::journal::RUNS,
        Some(&out.run_id),
    )?
    .dir;
    out.lines
        .extend(zmreip::apply::ldif_note(&prepared, &opts.root, &run_dir));
    Ok(Report::of("apply", &out))
}

/// A saved plan's JSON, from a file or (`-`) standard input.
fn read_plan(path: &std::path::Path) -> Result<(String, serde_json::Value)> {
    let (shown, text) = if path == std::path::Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Error::io("read", "standard input", e))?;
        ("standard input".to_string(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        (path.display().to_string(), text)
    };
    let value = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: shown.clone(),
        line: e.line(),
        message: format!("not JSON: {e}"),
        help: Some("give a plan written by `zmreip plan --out FILE`".into()),
    })?;
    Ok((shown, value))
}

/// The cluster apply options of `apply --cluster` / `rollback --cluster`.
fn cluster_options(root: &std::path::Path, h: Option<&HostArgs>) -> zmreip::cluster::run::Options {
    zmreip::cluster::run::Options {
        root: root.to_path_buf(),
        ldif: h.and_then(|h| h.ldif.clone()),
        bind_dn: h.and_then(|h| h.bind_dn.clone()),
        password_file: h.and_then(|h| h.bind_password_file.clone()),
        ..Default::default()
    }
}

fn cluster_apply(a: ApplyArgs, saved: Option<serde_json::Value>, ui: Ui) -> Result<Report> {
    let mut src = Sources::open(&source_args(&a.host, &a.zone_file, a.dns_config.as_ref()))?;
    let (plan, session) = match saved {
        Some(value) => {
            let path = a.plan.clone().unwrap_or_default();
            let plan = zmreip::cluster::plan::load(&path, value)?;
            zmreip::cluster::build::check_this_node(&src.host, &plan)?;
            let session = zmreip::cluster::Session::open(zmreip::cluster::Connect {
                local: &plan.directory.node,
                root: src.host.root().to_path_buf(),
                zimbra_home: Some(src.host.zimbra_home().to_string()),
                remote: plan
                    .nodes
                    .iter()
                    .filter(|n| n.via != "local")
                    .map(|n| n.name.clone())
                    .collect(),
                ssh: &a.cluster.ssh(),
                push_binary: a.cluster.push_binary,
            })?;
            (plan, session)
        }
        None => {
            let single = zmreip::plan::build::Request {
                gateways: a.gateway,
                restart_all: a.restart.is_some(),
                lower_ttl: a.lower_ttl,
                assume_own: a.assume_own,
                ..Default::default()
            };
            let req = cluster_request(a.from.clone(), a.to.clone(), single, &a.cluster, &a.host);
            let planned = zmreip::cluster::build::build(&mut src, &req, &mut ui.progress());
            ui.clear_progress();
            let planned = planned?;
            (planned.plan, planned.session)
        }
    };
    if !a.yes {
        emit_rendered(&zmreip::cluster::plan::text(&plan, ui.color))?;
        confirm("Apply this plan on every node?")?;
    }
    let mut opts = cluster_options(&a.host.root, Some(&a.host));
    opts.services = a.services.clone();
    opts.no_restart = a.no_restart;
    opts.no_verify = a.no_verify;
    opts.no_rollback = a.no_rollback;
    opts.probe_timeout = Some(a.probe.probe_timeout);
    let out = zmreip::cluster::run::apply(&plan, &session, &opts, &mut ui.steps())?;
    Ok(cluster_report("apply", out))
}

/// A cluster run's outcome as zmreip.outcome/v1.
fn cluster_report(command: &'static str, out: zmreip::cluster::run::Outcome) -> Report {
    Report {
        cluster: true,
        run: Some(out.id),
        state: Some(out.state.as_str().to_string()),
        changed: out.changed,
        ..Report::unchanged(command, out.lines)
    }
}

fn rollback(a: RollbackArgs, ui: Ui) -> Result<Report> {
    let root = &a.root.root;
    if !a.yes && !std::io::stdin().is_terminal() {
        confirm("")?;
    }
    if a.cluster {
        return cluster_rollback(a, ui);
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
    let mut again = a.again.again(root, a.run_id.as_deref(), &a.only);
    again.force = a.force;
    let out = zmreip::apply::run::rollback(&again, &mut ui.steps())?;
    Ok(Report::of("rollback", &out))
}

fn cluster_rollback(a: RollbackArgs, ui: Ui) -> Result<Report> {
    let root = &a.root.root;
    let rec = zmreip::cluster::run::open(root, a.run_id.as_deref())?;
    if !a.yes {
        let runs = zmreip::cluster::run::history(root)?;
        if let Some(r) = runs.iter().find(|r| r.id == rec.run.id) {
            emit(&zmreip::cluster::run::history_text(std::slice::from_ref(r)))?;
        }
        confirm("Roll this cluster run back on every node?")?;
    }
    let ssh = zmreip::cluster::transport::SshOptions {
        config: a.ssh_config.clone(),
        options: a.ssh_option.clone(),
    };
    let local = rec.plan.directory.node.clone();
    let host = zmreip::host::Host::open(root, None)?;
    zmreip::cluster::build::check_this_node(&host, &rec.plan)?;
    let session = zmreip::cluster::Session::open(zmreip::cluster::Connect {
        local: &local,
        root: root.clone(),
        zimbra_home: Some(host.zimbra_home().to_string()),
        remote: rec
            .nodes_with_runs()
            .into_iter()
            .filter(|n| *n != local)
            .collect(),
        ssh: &ssh,
        push_binary: a.push_binary,
    })?;
    let mut opts = cluster_options(root, None);
    opts.services = a.again.services.clone();
    opts.ldif = a.again.ldif.clone();
    let out = zmreip::cluster::run::rollback(&rec, &session, &opts, &mut ui.steps())?;
    Ok(cluster_report("rollback", out))
}

fn resume(a: ResumeArgs, ui: Ui) -> Result<Report> {
    let again = a.again.again(&a.root.root, a.run_id.as_deref(), &a.only);
    let out = zmreip::apply::run::resume(&again, &mut ui.steps())?;
    Ok(Report::of("resume", &out))
}

fn history(a: HistoryArgs) -> Result<()> {
    if a.cluster {
        let runs = zmreip::cluster::run::history(&a.root.root)?;
        return emit(&match a.format {
            Format::Text => zmreip::cluster::run::history_text(&runs),
            Format::Json => zmreip::outcome::cluster_history(&runs),
        });
    }
    let runs = zmreip::apply::history(&a.root.root)?;
    emit(&match a.format {
        Format::Text => zmreip::apply::history_text(&runs),
        Format::Json => zmreip::outcome::history(&runs),
    })
}

fn lines(ls: &[String]) -> String {
    let mut s = ls.join("\n");
    s.push('\n');
    s
}

// ------------------------------------------------------------------ window

fn window(a: WindowArgs, ui: Ui) -> Result<()> {
    match a.phase {
        WindowCommand::Open(o) => window_open(*o, ui),
        WindowCommand::Switch(p) => {
            let pending = window_plan(&p, ui, |root| {
                zmreip::window::switch(root, p.force, &mut ui.progress())
            })?;
            window_run(pending, &p, ui)
        }
        WindowCommand::Close(c) => {
            let quiet = zmreip::window::Quiet {
                period: std::time::Duration::from_secs(c.quiet_for),
                limit: std::time::Duration::from_secs(c.quiet_timeout.max(c.quiet_for)),
            };
            let p = &c.phase;
            let pending = window_plan(p, ui, |root| {
                zmreip::window::close(root, p.force, quiet, &mut ui.steps(), &mut ui.progress())
            })?;
            window_run(pending, p, ui)
        }
        WindowCommand::Status(s) => {
            let status = zmreip::window::status(&s.root.root)?;
            match s.format {
                Format::Text => emit(&zmreip::window::status_text(status.as_ref())),
                Format::Json => {
                    let mut out = serde_json::to_string_pretty(&status).expect("status serializes");
                    out.push('\n');
                    emit(&out)
                }
            }
        }
    }
}

fn window_open(o: WindowOpenArgs, ui: Ui) -> Result<()> {
    if !o.yes && !std::io::stdin().is_terminal() {
        confirm("")?;
    }
    let settings = zmreip::window::Settings {
        zimbra_home: o.host.zimbra_home.clone(),
        include: o.host.include.clone(),
        zone_files: o.zone_file.iter().map(ToString::to_string).collect(),
        dns_config: o.dns_config.clone(),
        ldif: o.host.ldif.clone(),
        ldap_urls: o.host.ldap_url.clone(),
        bind_dn: o.host.bind_dn.clone(),
        bind_password_file: o.host.bind_password_file.clone(),
        no_directory: o.host.no_directory,
        gateways: o.gateway.clone(),
        services: o.services.clone(),
        restart_network: o.restart_network,
        no_restart: o.no_restart,
        no_verify: o.no_verify,
        hostname: o.probe.hostname.clone(),
        outside_source: o.probe.outside_source,
        dns_server: o.probe.dns_server,
        probe_timeout: Some(o.probe.probe_timeout),
    };
    let req = zmreip::window::OpenRequest {
        from: o.from.clone(),
        to: o.to.clone(),
        lower_ttl: o.lower_ttl,
        settings,
    };
    let pending = zmreip::window::open(&o.host.root, req, &mut ui.progress());
    ui.clear_progress();
    let p = WindowPhaseArgs {
        root: RootArg {
            root: o.host.root.clone(),
        },
        force: false,
        yes: o.yes,
        format: o.format,
    };
    window_run(pending?, &p, ui)
}

/// Plans a later phase: refused at once without a terminal and --yes.
fn window_plan(
    p: &WindowPhaseArgs,
    ui: Ui,
    plan: impl FnOnce(&std::path::Path) -> Result<zmreip::window::Pending>,
) -> Result<zmreip::window::Pending> {
    if !p.yes && !std::io::stdin().is_terminal() {
        confirm("")?;
    }
    let pending = plan(&p.root.root);
    ui.clear_progress();
    pending
}

/// Shows the phase and asks (unless --yes), then runs it.
fn window_run(pending: zmreip::window::Pending, p: &WindowPhaseArgs, ui: Ui) -> Result<()> {
    if !p.yes {
        emit(&zmreip::plan::render::text(pending.plan(), ui.color))?;
        emit(&zmreip::apply::summary(&pending.prepared))?;
        if !pending.notes.is_empty() {
            emit(&lines(&pending.notes))?;
        }
        confirm(&format!(
            "Run the window's {} phase?",
            pending.phase.as_str()
        ))?;
    }
    let out = zmreip::window::run(pending, &mut ui.steps())?;
    emit(&match p.format {
        Format::Text => lines(&out.lines),
        Format::Json => Report::of("window", &out).json(),
    })
}
