//! How a value changes when the host moves: DESIGN.md principles 3 and 4.
//!
//! A surface says what kind of value it holds ([`ValueKind`]); the
//! [`Rewriter`] decides what becomes of every match of an old address in it.
//! Trust lists follow principle 4 exactly: an entry equal to the old address
//! becomes the new one in the same spelling; the old interface network
//! becomes the new one (never wider than the old entry, else the new host
//! alone); any other network that holds the old address but not the new one
//! stays and gets the new host beside it, with a warning; networks holding
//! both stay; `127.0.0.0/8` is kept (and added to mynetworks where missing);
//! `0.0.0.0/0` and `::/0` are never written.
//!
//! # Roles (DESIGN.md principles 11 and 12)
//!
//! Whose address moves decides what becomes of a value, and that decision
//! lives here, not in the surfaces: a surface says what a value *is*
//! ([`ValueKind`], and the [`Scope`] of its file); the [`Role`] of the
//! rewriter maps each kind to a [`Treatment`] and says which scopes
//! change at all.
//!
//! | kind | [`Role::Own`] (this host moves) | [`Role::Peer`] (another node moves) |
//! |---|---|---|
//! | own address, listener | moves, prefix follows | swaps exactly (it names the other node) |
//! | interface address | moves (an old one whose new one is already configured beside it goes) | never changes (its scope does not) |
//! | trust list | principle 4 | exact entries swap; networks stay and gain the new host |
//! | exact list, URL, host:port, regex, other host, text | swap | swap |
//! | OS network configuration ([`Scope::HostNetwork`]) | changes | never changes (reported) |
//!
//! In a multi-server plan the rewriter of the own role also knows the
//! addresses of the nodes that stay ([`Rewriter::with_staying`]): a trust
//! network that holds one of them is not the moving host's alone, so it
//! stays and gains the new host instead of following the move.
//!
//! A make-before-break move (`zmreip window`) is the own move cut into
//! three [`Phase`]s, each the role [`Role::Window`]:
//!
//! | kind | open: serve on both | switch: names point to the new | close: retire the old |
//! |---|---|---|---|
//! | interface address, listener Zimbra takes several of, exact list | the old stays, the new is added beside it ([`Treatment::Add`]) | kept | as own: the old goes, its new one is already there |
//! | trust list | principle 4 with every old entry kept ([`Treatment::TrustAdd`]) | kept | as own: principle 4 drops what the new entries cover |
//! | own address (names), single listener, URL, host:port, regex, other host, text | kept ([`Treatment::Keep`]) | as own | as own (nothing is left) |
//! | published DNS records ([`Scope::Dns`]) | not changed (their TTLs are lowered) | as own | as own |
//!
//! Lists never hold an entry twice: where a move turns an entry into one
//! the list already holds, the old entry is dropped instead. That is what
//! makes close, in the own role's terms, "retire the old", and the three
//! phases together write exactly what the own move writes.
//!
//! [`Role::Bound`] (`zmreip bind`: which of this host's addresses a
//! service uses) moves no address at all: the settings a service listens
//! or sends with take the bound address ([`Treatment::Bind`], through
//! [`bind_values`]), everything else stays ([`Treatment::Keep`]), and the
//! OS network configuration never changes (the address must already be
//! configured):
//!
//! | kind | [`Role::Bound`] |
//! |---|---|
//! | listener | becomes the bound address, or goes when unbound |
//! | own address, interface, trust list, trust rule, range, exact list, URL, host:port, regex, other host, text | kept |
//! | OS network configuration ([`Scope::HostNetwork`]), DNS ([`Scope::Dns`]) | never changes |

use std::net::IpAddr;

use crate::addr::{Match, MatchKind, Matcher};
use crate::notice::{Code, Notice};
use crate::spec::{Pair, PrefixSource};

/// What a value means, which decides how it may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An address of this host as others find it: a hosts-file address, a
    /// DNS or split-DNS record, a route's source. Every literal occurrence
    /// moves; a `/prefix` written with it becomes the new prefix when
    /// known.
    OwnAddress,
    /// An address configured on one of this host's interfaces (OS network
    /// configuration): it moves like [`ValueKind::OwnAddress`], and an
    /// interface may hold the old and the new address at once.
    Interface,
    /// An address (or URL) a service of this host listens on. `several`:
    /// the service takes several values and listens on every one (slapd's
    /// `ldap_bind_url`, memcached, dnsmasq's `listen-address`), so it can
    /// listen on the old and the new address at once; otherwise it uses
    /// one.
    Listen { several: bool },
    /// A list of networks and addresses that are trusted (relay, throttle
    /// exemptions, allow lists). Principle 4. `loopback` marks lists that
    /// must hold `127.0.0.0/8` (postfix mynetworks).
    TrustList { loopback: bool },
    /// A list matched by exact string equality (`zimbraMailTrustedIP`):
    /// equal entries are swapped, networks are left alone.
    ExactList,
    /// One or more URLs: the host part moves when it is the old address.
    Url,
    /// `host:port` or postfix `[ip]:port`.
    HostPort,
    /// A regular expression: escaped and literal spellings move.
    Regex,
    /// The address of another host (a DNS forwarder, a gateway, a relay, an
    /// external LDAP server): changed only where it *is* the old address,
    /// never because it sits in the same network.
    OtherHost,
    /// Not in any table: literal occurrences are replaced and the change is
    /// marked as a literal replacement.
    Text,
    /// One trusted source in a place that holds a single address or
    /// network (a firewall rule's source, a ufw rule's `from`, a firewalld
    /// `<source>`): principle 4, except that a network which stays cannot
    /// gain the new host beside it; a warning says to add a rule for it.
    TrustRule,
    /// An address range (`192.168.2.1-192.168.2.9`, keepalived's
    /// `192.168.2.3-10`): never changed, since moving one end would change
    /// every address it covers; a range holding an old address is
    /// reported.
    Range,
}

/// Whose address moves, from the point of view of the host whose values
/// are rewritten.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// This host moves: its interfaces, listeners and trust network
    /// follow (the single-server move).
    #[default]
    Own,
    /// Another node of the deployment moves: exact references to its
    /// address swap, trusted networks that held it stay and gain the new
    /// address as an entry of its own, nothing of this host's own network
    /// configuration changes.
    Peer,
    /// This host moves in a make-before-break window, one phase at a time
    /// (the tables in the module documentation).
    Window(Phase),
    /// `zmreip bind`: no address moves; the chosen services of this host
    /// listen on (or send from) one of its addresses, or, unbound, all.
    Bound,
}

/// The phases of a make-before-break move (`zmreip window`, DESIGN.md
/// principle 12), in the order they run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The host serves on the old and the new address; nothing that
    /// clients find the server by changes yet (DNS TTLs are lowered).
    Open,
    /// Names, DNS records and single-valued listeners point to the new
    /// address; the old one is still served.
    Switch,
    /// The old address is retired everywhere.
    Close,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Open => "open",
            Phase::Switch => "switch",
            Phase::Close => "close",
        }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Own => "own",
            Role::Peer => "peer",
            Role::Window(Phase::Open) => "window-open",
            Role::Window(Phase::Switch) => "window-switch",
            Role::Window(Phase::Close) => "window-close",
            Role::Bound => "bound",
        }
    }

    /// What this role does with a value of `kind`.
    pub fn treatment(self, kind: ValueKind) -> Treatment {
        match self {
            Role::Own => own_treatment(kind),
            Role::Peer => peer_treatment(kind),
            Role::Window(phase) => window_treatment(phase, kind),
            Role::Bound => bound_treatment(kind),
        }
    }

    /// Whether values of files in `scope` change under this role (files
    /// of a scope that does not change are still searched and reported).
    pub fn changes(self, scope: Scope) -> bool {
        match (self, scope) {
            (Role::Peer, Scope::HostNetwork) => false,
            // Opening a window changes nothing clients find the server
            // by: published records only get their TTLs lowered.
            (Role::Window(Phase::Open), Scope::Dns) => false,
            // A bound address must already be configured on the host, and
            // a bind publishes nothing.
            (Role::Bound, Scope::HostNetwork | Scope::Dns) => false,
            (Role::Own | Role::Peer | Role::Window(_) | Role::Bound, _) => true,
        }
    }
}

fn own_treatment(kind: ValueKind) -> Treatment {
    match kind {
        ValueKind::OwnAddress | ValueKind::Interface | ValueKind::Listen { .. } => Treatment::Move,
        ValueKind::TrustList { .. } | ValueKind::TrustRule => Treatment::TrustFollow,
        ValueKind::Range => Treatment::Keep,
        ValueKind::ExactList => Treatment::SwapExact,
        ValueKind::Text => Treatment::Literal,
        ValueKind::Url | ValueKind::HostPort | ValueKind::Regex | ValueKind::OtherHost => {
            Treatment::Swap
        }
    }
}

fn peer_treatment(kind: ValueKind) -> Treatment {
    match kind {
        ValueKind::TrustList { .. } | ValueKind::TrustRule => Treatment::TrustKeep,
        ValueKind::Range => Treatment::Keep,
        ValueKind::ExactList => Treatment::SwapExact,
        ValueKind::Text => Treatment::Literal,
        ValueKind::OwnAddress
        | ValueKind::Interface
        | ValueKind::Listen { .. }
        | ValueKind::Url
        | ValueKind::HostPort
        | ValueKind::Regex
        | ValueKind::OtherHost => Treatment::Swap,
    }
}

/// Whether a value of `kind` can hold the old and the new address at once
/// (what a window serves on both between open and close).
fn holds_both(kind: ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::Interface
            | ValueKind::Listen { several: true }
            | ValueKind::ExactList
            | ValueKind::TrustList { .. }
            | ValueKind::TrustRule
    )
}

fn window_treatment(phase: Phase, kind: ValueKind) -> Treatment {
    match (phase, kind) {
        (Phase::Open, ValueKind::TrustList { .. } | ValueKind::TrustRule) => Treatment::TrustAdd,
        (Phase::Open, k) if holds_both(k) => Treatment::Add,
        (Phase::Open, _) => Treatment::Keep,
        (Phase::Switch, k) if holds_both(k) => Treatment::Keep,
        (Phase::Switch | Phase::Close, k) => own_treatment(k),
    }
}

/// A listen setting is what a bind sets; binding a service trusts no one
/// new, and names, URLs and the addresses of other hosts are not this
/// host's listeners.
fn bound_treatment(kind: ValueKind) -> Treatment {
    match kind {
        ValueKind::Listen { .. } => Treatment::Bind,
        ValueKind::OwnAddress
        | ValueKind::Interface
        | ValueKind::TrustList { .. }
        | ValueKind::TrustRule
        | ValueKind::Range
        | ValueKind::ExactList
        | ValueKind::Url
        | ValueKind::HostPort
        | ValueKind::Regex
        | ValueKind::OtherHost
        | ValueKind::Text => Treatment::Keep,
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "own" => Ok(Role::Own),
            "peer" => Ok(Role::Peer),
            _ => Err(format!("`{s}` is not a role (own or peer)")),
        }
    }
}

/// What becomes of an occurrence of an old address, by role and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Every occurrence moves; a `/prefix` written with it becomes the new
    /// prefix when that is known.
    Move,
    /// Where the value *is* the old address (also inside a URL, `host:port`,
    /// a regular expression), it becomes the new one in the same
    /// spelling; a network that merely holds it is left alone.
    Swap,
    /// Like [`Treatment::Swap`], but only whole entries equal to the old
    /// address (string-equality lists).
    SwapExact,
    /// Principle 4: the old address becomes the new one, the old interface
    /// network becomes the new one (never wider), other networks holding
    /// the old address stay and gain the new host.
    TrustFollow,
    /// The old address becomes the new one; every network holding the old
    /// address stays and gains the new host as an entry of its own.
    TrustKeep,
    /// Every literal occurrence is replaced, marked as a literal
    /// replacement (a value zmreip does not know).
    Literal,
    /// The value stays as it is: a range holding an old address (it is
    /// reported), or a window phase that leaves the value to another one.
    Keep,
    /// Serve on both: every entry holding an old address stays, and the
    /// entry as the own move writes it is added beside it (inside the
    /// value, or as a value of its own where the value holds one entry).
    Add,
    /// Principle 4's decisions with every old entry kept: an entry the
    /// own move would replace gains its replacement beside it.
    TrustAdd,
    /// The setting holds exactly the bound address, in the spelling the
    /// setting needs, and nothing else (Zimbra's listeners use one value
    /// of a multi-valued bind attribute); unbound, it holds nothing.
    Bind,
}

/// Which part of a host a file belongs to, for [`Role::changes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The host's OS network configuration (interfaces, addresses,
    /// gateways, routes).
    HostNetwork,
    /// DNS records this host publishes: zones it serves, RRsets it
    /// updates elsewhere.
    Dns,
    /// Everything else: names, services, Zimbra's settings.
    Host,
}

/// What became of a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The values after the change (same count as before unless a list
    /// attribute gained or lost values).
    pub after: Vec<String>,
    /// Whether anything differs from the input.
    pub changed: bool,
    /// Why, one short phrase per decision (joined into the change's reason).
    pub reasons: Vec<String>,
    /// Warnings raised; the caller appends where they apply.
    pub notes: Vec<Notice>,
}

/// Applies the moves of a plan to values. One per plan.
#[derive(Debug, Clone)]
pub struct Rewriter {
    pairs: Vec<Pair>,
    matcher: Matcher,
    gateways: Vec<IpAddr>,
    role: Role,
    staying: Staying,
}

/// What a plan knows of the other nodes of the deployment, the ones that
/// stay where they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Staying {
    /// A single server: no other node.
    #[default]
    Alone,
    /// The addresses of the nodes that stay.
    Known(Vec<IpAddr>),
    /// Some node's address is not known: any network may hold it.
    Unknown,
}

impl Rewriter {
    /// A rewriter for these moves, in the [`Role::Own`] role of a single
    /// server. `gateways` are `--gateway`: at most one per address family.
    pub fn new(pairs: Vec<Pair>, gateways: Vec<IpAddr>) -> Rewriter {
        let olds: Vec<IpAddr> = pairs.iter().map(|p| p.old).collect();
        Rewriter {
            matcher: Matcher::new(&olds),
            pairs,
            gateways,
            role: Role::Own,
            staying: Staying::Alone,
        }
    }

    /// The same moves seen in another role.
    pub fn with_role(mut self, role: Role) -> Rewriter {
        self.role = role;
        self
    }

    /// The deployment's other nodes, which stay where they are. A trust
    /// network holding one of them (or, when some address is unknown, any
    /// trust network) stays and gains the new host instead of following
    /// the move.
    pub fn with_staying(mut self, staying: Staying) -> Rewriter {
        self.staying = staying;
        self
    }

    /// The role the values are rewritten in.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The rewriter of the deployment's directory, whichever node plans
    /// it: the directory holds the moving node's own entry (its bind
    /// addresses move with it), so its values are rewritten in the own
    /// role, and the nodes that stay keep every trust network they live
    /// in. A peer that plans it without knowing the other nodes assumes
    /// any network may hold one.
    pub fn for_directory(&self) -> Rewriter {
        let mut rw = self.clone();
        if rw.role == Role::Peer {
            rw.role = Role::Own;
            if rw.staying == Staying::Alone {
                rw.staying = Staying::Unknown;
            }
        }
        rw
    }

    /// The rewriter of files of `scope`: the published DNS records of a
    /// window's switch move as in the own role (their A, SPF and PTR
    /// records all point to the new address at once); every other scope
    /// is rewritten in this role.
    pub fn for_scope(&self, scope: Scope) -> Rewriter {
        let mut rw = self.clone();
        if rw.role == Role::Window(Phase::Switch) && scope == Scope::Dns {
            rw.role = Role::Own;
        }
        rw
    }

    /// The moves.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The move of `old`, if it is one of the old addresses.
    pub fn pair_for(&self, old: IpAddr) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.old == old)
    }

    /// The gateway given with `--gateway` for the family of `of`, if any.
    pub fn gateway_for(&self, of: IpAddr) -> Option<IpAddr> {
        self.gateways
            .iter()
            .copied()
            .find(|g| g.is_ipv4() == of.is_ipv4())
    }

    /// Rewrites the values of one field (a line's value, a localconfig
    /// value, or all values of one directory attribute).
    pub fn rewrite(&self, values: &[&str], kind: ValueKind) -> Outcome {
        let treatment = self.role.treatment(kind);
        match (kind, treatment) {
            // No address moves in the bound role: a bind sets its
            // settings through [`bind_values`], and a search for old
            // addresses finds nothing to move.
            (_, Treatment::Bind) => Outcome {
                after: values.iter().map(ToString::to_string).collect(),
                ..Outcome::default()
            },
            (_, Treatment::Keep) => {
                let mut out = if kind == ValueKind::Range {
                    self.keep(values)
                } else {
                    Outcome {
                        after: values.iter().map(ToString::to_string).collect(),
                        ..Outcome::default()
                    }
                };
                out.notes.extend(self.waits_for_switch(values, kind));
                out
            }
            (
                ValueKind::TrustList { .. } | ValueKind::TrustRule,
                Treatment::TrustFollow | Treatment::TrustKeep | Treatment::TrustAdd,
            ) => {
                let (loopback, room) = match kind {
                    ValueKind::TrustList { loopback } => (loopback, true),
                    _ => (false, false),
                };
                let how = Trust {
                    loopback,
                    follow: treatment != Treatment::TrustKeep,
                    room,
                    keep_old: treatment == Treatment::TrustAdd,
                };
                self.rewrite_trust(values, how)
            }
            (_, Treatment::Add) => self.rewrite_add(values, kind),
            _ => {
                let mut out = Outcome::default();
                for v in values {
                    let (after, reasons, notes) = self.rewrite_literal(v, kind, treatment);
                    out.changed |= after != *v;
                    out.after.push(after);
                    push_unique(&mut out.reasons, reasons);
                    out.notes.extend(notes);
                }
                if is_list(kind) {
                    drop_doubles(values, &mut out);
                }
                out
            }
        }
    }

    /// A window's open says which listeners that take one address hold an
    /// old one: they move only at the switch.
    fn waits_for_switch(&self, values: &[&str], kind: ValueKind) -> Vec<Notice> {
        if self.role != Role::Window(Phase::Open) || kind != (ValueKind::Listen { several: false })
        {
            return Vec::new();
        }
        let mut notes = Vec::new();
        for v in values {
            for m in self.matcher.find(v) {
                let Some(p) = self
                    .pair_for(m.target)
                    .filter(|_| m.kind != MatchKind::NetworkContains)
                else {
                    continue;
                };
                notes.push(Notice::new(
                    Code::WindowSingleListener,
                    format!(
                        "`{v}` is the one address a service listens on; it moves to {} at the switch, and clients still using {} lose that service then",
                        p.new, p.old
                    ),
                ));
            }
        }
        notes
    }

    /// [`Treatment::Add`]: every entry holding an old address stays and
    /// gains, right after it, the entry as the own role writes it, unless
    /// the list already holds that one.
    fn rewrite_add(&self, values: &[&str], kind: ValueKind) -> Outcome {
        let moved_by = own_treatment(kind);
        let mut out = Outcome::default();
        let present: Vec<&str> = values
            .iter()
            .flat_map(|v| split_entries(v).into_iter().map(|t| t.text))
            .collect();
        let mut added: Vec<String> = Vec::new();
        for v in values {
            let toks = split_entries(v);
            // As for trust lists: a value holding one entry, or one of
            // several values, gains a value of its own.
            let own_value = values.len() > 1 || toks.len() == 1;
            let mut rebuilt = String::with_capacity(v.len() * 2);
            let mut extra = Vec::new();
            for (i, tok) in toks.iter().enumerate() {
                rebuilt.push_str(tok.sep);
                rebuilt.push_str(tok.text);
                if tok.text.is_empty() || !self.matcher.may_match(tok.text) {
                    continue;
                }
                let (moved, _, notes) = self.rewrite_literal(tok.text, kind, moved_by);
                out.notes.extend(notes);
                if moved == tok.text || present.contains(&moved.as_str()) || added.contains(&moved)
                {
                    continue;
                }
                push_unique(
                    &mut out.reasons,
                    vec![format!("serve on both: {moved} added beside {}", tok.text)],
                );
                added.push(moved.clone());
                if own_value {
                    extra.push(moved);
                } else {
                    let sep = if i > 0 {
                        tok.sep
                    } else {
                        toks.get(1).map(|t| t.sep).unwrap_or(" ")
                    };
                    rebuilt.push_str(if sep.is_empty() { " " } else { sep });
                    rebuilt.push_str(&moved);
                }
            }
            out.changed |= rebuilt != *v || !extra.is_empty();
            out.after.push(rebuilt);
            out.after.extend(extra);
        }
        out
    }

    /// Decides entry by entry for a list whose entries the caller writes
    /// itself (a named.conf address match list: `{ a; b; }`), so that
    /// every other byte of the list stays. Each entry is one address or
    /// network as written. A trust list follows principle 4 over all
    /// entries at once (an added host is not added twice, an entry that
    /// would duplicate another goes); other kinds change entry by entry.
    /// Postfix's loopback rule ([`ValueKind::TrustList`] `loopback`) is
    /// [`Rewriter::rewrite`]'s alone.
    pub fn rewrite_entries(&self, entries: &[&str], kind: ValueKind) -> Entries {
        let treatment = self.role.treatment(kind);
        let mut out = Outcome::default();
        let mut changes = Vec::with_capacity(entries.len());
        if treatment == Treatment::Keep {
            changes.resize(entries.len(), EntryChange::Keep);
        } else if let (
            ValueKind::TrustList { .. },
            Treatment::TrustFollow | Treatment::TrustKeep | Treatment::TrustAdd,
        ) = (kind, treatment)
        {
            // The caller writes the list, so a new entry always has room.
            let how = Trust {
                loopback: false,
                follow: treatment != Treatment::TrustKeep,
                room: true,
                keep_old: treatment == Treatment::TrustAdd,
            };
            let parsed: Vec<Option<Entry>> = entries.iter().map(|t| parse_entry(t)).collect();
            let mut seen: Vec<ipnet::IpNet> = parsed.iter().flatten().map(|e| e.net).collect();
            let named: Vec<IpAddr> = parsed
                .iter()
                .flatten()
                .flat_map(|e| {
                    self.pairs
                        .iter()
                        .filter(|p| is_host_entry(e, p))
                        .map(|p| p.old)
                })
                .collect();
            for (t, e) in entries.iter().zip(&parsed) {
                changes.push(match e {
                    Some(e) => self.trust_entry(t, e, how, &named, &mut seen, &mut out),
                    None => EntryChange::Keep,
                });
            }
        } else if treatment == Treatment::Add {
            // Each entry holding an old address stays and gains the one
            // the own move writes, unless the list holds that already.
            let mut added: Vec<String> = Vec::new();
            for t in entries {
                let (moved, reasons, notes) = self.rewrite_literal(t, kind, own_treatment(kind));
                out.notes.extend(notes);
                if moved == *t || entries.contains(&moved.as_str()) || added.contains(&moved) {
                    changes.push(EntryChange::Keep);
                    continue;
                }
                push_unique(&mut out.reasons, reasons);
                added.push(moved.clone());
                changes.push(EntryChange::KeepAndAdd(moved));
            }
        } else {
            for t in entries {
                let (after, reasons, notes) = self.rewrite_literal(t, kind, treatment);
                push_unique(&mut out.reasons, reasons);
                out.notes.extend(notes);
                changes.push(if after == *t {
                    EntryChange::Keep
                } else {
                    EntryChange::Replace(after)
                });
            }
        }
        Entries {
            changes,
            reasons: out.reasons,
            notes: out.notes,
        }
    }

    /// Replaces the occurrences of an old address in `value` that
    /// `treatment` moves.
    fn rewrite_literal(
        &self,
        value: &str,
        kind: ValueKind,
        treatment: Treatment,
    ) -> (String, Vec<String>, Vec<Notice>) {
        let mut out = String::with_capacity(value.len() + 8);
        let mut reasons = Vec::new();
        let mut notes = Vec::new();
        let mut last = 0;
        for m in self.matcher.find(value) {
            let Some(pair) = self.pair_for(m.target) else {
                continue;
            };
            if m.kind == MatchKind::NetworkContains {
                let net = &value[m.span.clone()];
                // A network holding every address (`0.0.0.0/0`, a
                // firewall's "anywhere") says nothing about this one.
                let everything = m.network.is_some_and(|n| n.prefix_len() == 0);
                // An own address written with its prefix (a VIP
                // `192.168.2.100/24`) is another address of the host's
                // network, not a network.
                let interface = kind == ValueKind::OwnAddress
                    && m.network.is_some_and(|n| n.addr() != n.network());
                let why = match kind {
                    ValueKind::OtherHost => None,
                    _ if everything || interface => None,
                    // Zimbra compares these lists' entries with the
                    // client's address as strings.
                    ValueKind::ExactList => Some(format!(
                        "`{net}` is a network in a list whose entries are compared as exact addresses, so it matches no client (not even {}); left unchanged",
                        pair.old
                    )),
                    _ => Some(format!(
                        "`{net}` contains the old address {} but is not a trust list zmreip knows; left unchanged",
                        pair.old
                    )),
                };
                notes.extend(why.map(|w| Notice::new(Code::NetworkUnchanged, w)));
                continue;
            }
            if treatment == Treatment::SwapExact && m.kind != MatchKind::Exact {
                continue;
            }
            let new_prefix = match (treatment, m.prefix) {
                (Treatment::Move, Some(_)) if pair.new_prefix_source != PrefixSource::Host => {
                    Some(pair.new_prefix)
                }
                _ => None,
            };
            out.push_str(&value[last..m.span.start]);
            out.push_str(&m.replace(value, pair.new, new_prefix));
            last = m.span.end;
            reasons.push(literal_reason(kind, self.role, &m, pair));
        }
        out.push_str(&value[last..]);
        (out, reasons, notes)
    }

    /// Principle 4 over every entry of every value, as `how` says.
    fn rewrite_trust(&self, values: &[&str], how: Trust) -> Outcome {
        let mut out = Outcome::default();
        let mut seen: Vec<ipnet::IpNet> = Vec::new();
        // Old addresses the list names as hosts: that entry carries the
        // new address in its own spelling, so a network holding the old
        // address needs nothing beside it.
        let mut named: Vec<IpAddr> = Vec::new();
        for v in values {
            for tok in split_entries(v) {
                if let Some(e) = parse_entry(tok.text) {
                    seen.push(e.net);
                    named.extend(
                        self.pairs
                            .iter()
                            .filter(|p| is_host_entry(&e, p))
                            .map(|p| p.old),
                    );
                }
            }
        }
        for v in values {
            let mut rebuilt = String::with_capacity(v.len() + 16);
            let toks = split_entries(v);
            // Where a value holds one entry, or the attribute has several
            // values, an added entry becomes a value of its own: Zimbra
            // splits some lists on commas only, so appending with a space
            // inside a value could make it unreadable.
            let own_value = values.len() > 1 || toks.len() == 1;
            let mut added = Vec::new();
            // Nothing written yet: a dropped entry then hands its
            // separator (the value's leading blanks) to the next one.
            let mut first = true;
            let mut lead = None;
            for (i, tok) in toks.iter().enumerate() {
                let before = lead.take().unwrap_or(tok.sep);
                let written = match parse_entry(tok.text) {
                    None => tok.text.to_string(),
                    Some(entry) => {
                        match self.trust_entry(tok.text, &entry, how, &named, &mut seen, &mut out) {
                            EntryChange::Keep => tok.text.to_string(),
                            EntryChange::Replace(s) => s,
                            EntryChange::Drop => {
                                if first {
                                    lead = Some(before);
                                }
                                continue;
                            }
                            EntryChange::KeepAndAdd(s) if own_value => {
                                added.push(s);
                                tok.text.to_string()
                            }
                            // Inside the value, with the separator the
                            // list uses there: the one before this entry,
                            // or after it for the first (a list of one
                            // entry is `own_value`, so there is one).
                            EntryChange::KeepAndAdd(s) => {
                                let sep = if i > 0 { tok.sep } else { toks[1].sep };
                                format!("{}{sep}{s}", tok.text)
                            }
                        }
                    }
                };
                rebuilt.push_str(before);
                rebuilt.push_str(&written);
                first = false;
            }
            let rebuilt = if rebuilt.trim().is_empty() {
                String::new()
            } else {
                rebuilt
            };
            out.changed |= rebuilt != *v || !added.is_empty();
            out.after.push(rebuilt);
            out.after.extend(added);
        }
        out.after
            .retain(|a| !a.is_empty() || values.iter().any(|v| v.is_empty()));
        if how.loopback && out.changed && self.pairs.iter().any(|p| p.old.is_ipv4()) {
            let lo: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
            if !seen.iter().any(|n| n.contains(&lo)) {
                let single = out.after.len() == 1;
                match out.after.first_mut() {
                    Some(first) if single && split_entries(first).len() > 1 => {
                        let sep = if first.contains(',') && !first.contains(' ') {
                            ","
                        } else {
                            " "
                        };
                        *first = format!("127.0.0.0/8{sep}{first}");
                    }
                    _ => out.after.insert(0, "127.0.0.0/8".into()),
                }
                out.reasons
                    .push("127.0.0.0/8 added: postfix must trust loopback".into());
                out.notes.push(Notice::new(
                    Code::MynetworksLoopbackAdded,
                    "mynetworks lacked 127.0.0.0/8; zmreip adds it, as Zimbra's own services relay through loopback",
                ));
            }
        }
        out
    }

    fn trust_entry(
        &self,
        text: &str,
        e: &Entry,
        how: Trust,
        named: &[IpAddr],
        seen: &mut Vec<ipnet::IpNet>,
        out: &mut Outcome,
    ) -> EntryChange {
        let decided = self.trust_decision(text, e, how, named, seen, out);
        if !how.keep_old {
            return decided;
        }
        // Serving on both keeps the old entry and adds what replaces it.
        match decided {
            EntryChange::Replace(s) => EntryChange::KeepAndAdd(s),
            EntryChange::Drop => EntryChange::Keep,
            d => d,
        }
    }

    /// What principle 4 makes of one entry, as the own move or a peer.
    fn trust_decision(
        &self,
        text: &str,
        e: &Entry,
        how: Trust,
        named: &[IpAddr],
        seen: &mut Vec<ipnet::IpNet>,
        out: &mut Outcome,
    ) -> EntryChange {
        for p in &self.pairs {
            if p.old.is_ipv4() != e.net.addr().is_ipv4() {
                continue;
            }
            if is_host_entry(e, p) {
                return trust_host(p, text, seen, out);
            }
            if !e.net.contains(&p.old) {
                continue;
            }
            // A single firewall rule open to every source is a public
            // service, not a list that trusts too much.
            if e.net.prefix_len() == 0 && !how.room {
                return EntryChange::Keep;
            }
            if e.net.prefix_len() == 0 {
                out.notes.push(Notice::new(
                    Code::TrustEverything,
                    format!("`{text}` trusts every address (an open relay if this is mynetworks); zmreip leaves it but never writes one"),
                ));
                return EntryChange::Keep;
            }
            if e.net.contains(&p.new) {
                push_unique(
                    &mut out.reasons,
                    vec![format!("{text} already holds {}", p.new)],
                );
                return EntryChange::Keep;
            }
            // It holds the old address, so with the old prefix it is the
            // old interface network.
            let is_interface_net = how.follow
                && p.old_prefix_source != PrefixSource::Host
                && e.net.prefix_len() == p.old_prefix;
            // A network another node of the deployment lives in is not
            // the moving host's alone: it stays for that node.
            let shared = match &self.staying {
                Staying::Alone => None,
                Staying::Known(addrs) => addrs
                    .iter()
                    .find(|a| e.net.contains(*a))
                    .map(ToString::to_string),
                Staying::Unknown => Some("a node whose address is not known".to_string()),
            };
            if is_interface_net && shared.is_none() {
                return trust_interface_net(p, text, e, seen, out);
            }
            let why = match (&shared, self.role) {
                (Some(node), _) => format!("but also holds {node}, which stays"),
                (None, Role::Peer) => "of another node".to_string(),
                // The bound role keeps trust lists: it never gets here.
                (None, Role::Own | Role::Window(_) | Role::Bound) => {
                    "but is not its interface network".to_string()
                }
            };
            let named = named.contains(&p.old);
            if !how.room {
                return trust_rule_needed(p, text, &why, named, seen, out);
            }
            return trust_beside(p, text, &why, named, seen, out);
        }
        EntryChange::Keep
    }

    /// Values that never change: each one holding an old address (an end
    /// of a range or inside it) is reported.
    fn keep(&self, values: &[&str]) -> Outcome {
        let mut out = Outcome {
            after: values.iter().map(ToString::to_string).collect(),
            ..Outcome::default()
        };
        for v in values {
            for p in &self.pairs {
                if range_holds(v, p.old) {
                    out.notes.push(Notice::new(
                        Code::RangeUnchanged,
                        format!(
                            "the range `{v}` holds the old address {}; it stays as it is (moving an end would change every address it covers): edit it by hand if {} belongs in it",
                            p.old, p.new
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// How a trust list is rewritten.
#[derive(Debug, Clone, Copy)]
struct Trust {
    /// The list must hold `127.0.0.0/8` (postfix mynetworks).
    loopback: bool,
    /// The old interface network may follow the move (else every network
    /// holding the old address stays).
    follow: bool,
    /// A new entry can be written beside a network that stays.
    room: bool,
    /// Every old entry stays beside what replaces it (a window serving on
    /// both).
    keep_old: bool,
}

/// Whether `text`, an address range ([`crate::addr::parse_range`]), holds
/// `addr`.
fn range_holds(text: &str, addr: IpAddr) -> bool {
    crate::addr::parse_range(text).is_some_and(|(a, b)| a <= addr && addr <= b)
}

/// What `zmreip bind` makes of the values of one setting of `kind`
/// ([`Role::Bound`]): where the role binds that kind, the setting holds
/// exactly `bound` (the bound address spelled as the setting needs it:
/// `10.40.7.132`, `ldap://10.40.7.132:389`), or nothing when `bound` is
/// `None` (unbound: all interfaces, Zimbra's default); every other kind
/// keeps its values.
pub fn bind_values(values: &[&str], kind: ValueKind, bound: Option<&str>) -> Outcome {
    let kept = || Outcome {
        after: values.iter().map(ToString::to_string).collect(),
        ..Outcome::default()
    };
    if Role::Bound.treatment(kind) != Treatment::Bind {
        return kept();
    }
    let after: Vec<String> = bound.map(|b| vec![b.to_string()]).unwrap_or_default();
    if after.iter().map(String::as_str).eq(values.iter().copied()) {
        return kept();
    }
    let reason = match (bound, values.is_empty()) {
        (Some(b), true) => format!("bound to {b} (was all interfaces)"),
        (Some(b), false) => format!("bound to {b} (was {})", values.join(", ")),
        (None, _) => format!("unbound: all interfaces (was {})", values.join(", ")),
    };
    Outcome {
        after,
        changed: true,
        reasons: vec![reason],
        notes: Vec::new(),
    }
}

/// Whether `e` names the old address of `p` as a host (`A`, or `A/32`,
/// `A/128`).
fn is_host_entry(e: &Entry, p: &Pair) -> bool {
    e.net.addr() == p.old && (e.prefix.is_none() || e.net.prefix_len() == p.host_prefix())
}

/// The old address itself: it becomes the new one, in the same spelling.
fn trust_host(
    p: &Pair,
    text: &str,
    seen: &mut Vec<ipnet::IpNet>,
    out: &mut Outcome,
) -> EntryChange {
    let new_net = ipnet::IpNet::new(p.new, p.host_prefix()).expect("host prefix");
    if seen.contains(&new_net) {
        push_unique(
            &mut out.reasons,
            vec![format!("{} dropped: {} is already trusted", p.old, p.new)],
        );
        return EntryChange::Drop;
    }
    seen.push(new_net);
    push_unique(
        &mut out.reasons,
        vec![format!("trusted host {} becomes {}", p.old, p.new)],
    );
    EntryChange::Replace(swap_spelling(text, p.old, p.new))
}

/// The old interface network: it becomes the new interface network, or
/// the new host alone where that network is unknown or wider than the
/// old entry.
fn trust_interface_net(
    p: &Pair,
    text: &str,
    e: &Entry,
    seen: &mut Vec<ipnet::IpNet>,
    out: &mut Outcome,
) -> EntryChange {
    let widen = p.new_prefix < e.net.prefix_len() || p.new_prefix == 0;
    if p.new_prefix_source == PrefixSource::Host || widen {
        if widen {
            out.notes.push(Notice::new(
                Code::TrustNotWidened,
                format!(
                    "the new network {} is wider than the trusted {text}; only the host {} is trusted instead",
                    p.new_net(),
                    p.new
                ),
            ));
        }
        let new_host = ipnet::IpNet::new(p.new, p.host_prefix()).expect("host prefix");
        if seen.contains(&new_host) {
            return EntryChange::Drop;
        }
        seen.push(new_host);
        push_unique(
            &mut out.reasons,
            vec![format!(
                "old interface network {text} becomes host {}",
                p.new
            )],
        );
        return EntryChange::Replace(spell_host(text, p.new));
    }
    let new_net = p.new_net();
    if seen.contains(&new_net) {
        push_unique(
            &mut out.reasons,
            vec![format!("{text} dropped: {new_net} is already trusted")],
        );
        return EntryChange::Drop;
    }
    seen.push(new_net);
    // Keep host bits if the entry was written with them (`192.168.2.1/24`).
    let shown = if e.net.addr() == p.old {
        ipnet::IpNet::new(p.new, p.new_prefix).expect("prefix")
    } else {
        new_net
    };
    push_unique(
        &mut out.reasons,
        vec![format!("old interface network {text} becomes {new_net}")],
    );
    EntryChange::Replace(spell_net(text, shown))
}

/// A network that stays (as for [`trust_beside`]) in a place that holds
/// one entry: the new host needs a rule of its own, which the admin adds.
fn trust_rule_needed(
    p: &Pair,
    text: &str,
    why: &str,
    named: bool,
    seen: &[ipnet::IpNet],
    out: &mut Outcome,
) -> EntryChange {
    let covered = seen.iter().any(|n| n.contains(&p.new));
    out.notes.push(Notice::new(
        Code::TrustRuleNeeded,
        if named {
            format!("{text} holds the old address {} {why}; it stays (the entry naming {} becomes {})", p.old, p.old, p.new)
        } else if covered {
            format!("{text} holds the old address {} {why}; it stays ({} is already trusted by another entry)", p.old, p.new)
        } else {
            format!("{text} holds the old address {} {why}; it stays, and this rule holds one source, so {} is not trusted by it: add a rule for {} by hand", p.old, p.new, p.new)
        },
    ));
    EntryChange::Keep
}

/// Another network that happens to hold the old address (`why` says how):
/// it names other hosts, so it stays; the new host is added beside it
/// unless something in the list already trusts it, or an entry naming the
/// old host (`named`) becomes the new one.
fn trust_beside(
    p: &Pair,
    text: &str,
    why: &str,
    named: bool,
    seen: &mut Vec<ipnet::IpNet>,
    out: &mut Outcome,
) -> EntryChange {
    let covered = seen.iter().any(|n| n.contains(&p.new));
    out.notes.push(Notice::new(
        Code::TrustNetworkKept,
        if named {
            format!("{text} holds the old address {} {why}; it stays (the entry naming {} becomes {})", p.old, p.old, p.new)
        } else if covered {
            format!("{text} holds the old address {} {why}; it stays ({} is already trusted by another entry)", p.old, p.new)
        } else {
            format!("{text} holds the old address {} {why}; it stays and {} is trusted beside it", p.old, p.new)
        },
    ));
    if covered || named {
        return EntryChange::Keep;
    }
    seen.push(ipnet::IpNet::new(p.new, p.host_prefix()).expect("host prefix"));
    push_unique(
        &mut out.reasons,
        vec![format!("{} trusted beside {text}", p.new)],
    );
    EntryChange::KeepAndAdd(spell_host(text, p.new))
}

/// What becomes of one entry of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryChange {
    /// It stays as written.
    Keep,
    /// It becomes this text.
    Replace(String),
    /// It goes: what it would become is already in the list.
    Drop,
    /// It stays, and this entry is added right after it.
    KeepAndAdd(String),
}

/// What became of each entry of a list whose entries are written apart
/// ([`Rewriter::rewrite_entries`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries {
    /// One per entry, in the order given.
    pub changes: Vec<EntryChange>,
    /// Why, one short phrase per decision.
    pub reasons: Vec<String>,
    /// Warnings raised.
    pub notes: Vec<Notice>,
}

/// One entry of a list with the separator before it.
struct Tok<'a> {
    sep: &'a str,
    text: &'a str,
}

/// Splits a list on whitespace and commas, keeping separators: each entry
/// with the separators before it; separators at the end make a last entry
/// with empty text.
fn split_entries(v: &str) -> Vec<Tok<'_>> {
    let is_sep = |b: &&u8| **b == b',' || b.is_ascii_whitespace();
    let bytes = v.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let s = i;
        i += bytes[i..].iter().take_while(is_sep).count();
        let t = i;
        i += bytes[i..].iter().take_while(|b| !is_sep(b)).count();
        toks.push(Tok {
            sep: &v[s..t],
            text: &v[t..i],
        });
    }
    toks
}

/// A trust-list entry parsed as a network.
struct Entry {
    net: ipnet::IpNet,
    prefix: Option<u8>,
}

/// Parses `1.2.3.4`, `1.2.3.0/24`, `[2001:db8::]/64`, `[::1]/128`, `2001:db8::1`.
fn parse_entry(t: &str) -> Option<Entry> {
    let (ip, p) = crate::addr::parse_with_prefix(t)?;
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let net = ipnet::IpNet::new(ip, p.unwrap_or(full)).ok()?;
    Some(Entry { net, prefix: p })
}

/// `text` (an entry spelling `old`) with `new` in the same spelling.
fn swap_spelling(text: &str, old: IpAddr, new: IpAddr) -> String {
    let m = Matcher::new(&[old]);
    match m
        .find(text)
        .into_iter()
        .find(|m| m.kind != MatchKind::NetworkContains)
    {
        Some(found) => {
            let mut s = String::new();
            s.push_str(&text[..found.span.start]);
            s.push_str(&found.replace(text, new, None));
            s.push_str(&text[found.span.end..]);
            s
        }
        None => new.to_string(),
    }
}

/// A host entry for `new`, bracketed like `like` (postfix `[v6]` style).
fn spell_host(like: &str, new: IpAddr) -> String {
    if like.starts_with('[') {
        format!("[{new}]")
    } else {
        new.to_string()
    }
}

/// A network entry, bracketed like `like`.
fn spell_net(like: &str, net: ipnet::IpNet) -> String {
    if like.starts_with('[') {
        format!("[{}]/{}", net.addr(), net.prefix_len())
    } else {
        net.to_string()
    }
}

fn literal_reason(kind: ValueKind, role: Role, m: &Match, p: &Pair) -> String {
    let what = match kind {
        ValueKind::OwnAddress | ValueKind::Interface | ValueKind::Listen { .. }
            if role == Role::Peer =>
        {
            "address of the moved node"
        }
        ValueKind::OwnAddress => "own address",
        ValueKind::Interface => "interface address",
        ValueKind::Listen { .. } => "listen address",
        ValueKind::ExactList => "exact-match entry",
        ValueKind::Url => "URL host",
        ValueKind::HostPort => "host and port",
        ValueKind::Regex => "regular expression",
        ValueKind::OtherHost => "address",
        ValueKind::Text => "literal replacement (not a known setting)",
        ValueKind::TrustList { .. } | ValueKind::TrustRule => "trusted address",
        ValueKind::Range => "address range",
    };
    format!("{what}: {} → {} ({})", p.old, p.new, m.kind.as_str())
}

/// Whether values of `kind` are lists of entries (free text and regular
/// expressions are not).
fn is_list(kind: ValueKind) -> bool {
    !matches!(kind, ValueKind::Text | ValueKind::Regex)
}

/// A list never holds an entry twice: an entry the move turned into one
/// the list already holds is dropped (with the separator before it, or
/// after it for a first entry), and so is a value left with no entry.
/// This is "retire the old" where a window served on both.
fn drop_doubles(values: &[&str], out: &mut Outcome) {
    let before: Vec<Vec<Tok>> = values.iter().map(|v| split_entries(v)).collect();
    let after: Vec<Vec<Tok>> = out.after.iter().map(|v| split_entries(v)).collect();
    if before.len() != after.len() || before.iter().zip(&after).any(|(b, a)| b.len() != a.len()) {
        return;
    }
    let mut entries: Vec<((usize, usize), &str, bool)> = Vec::new();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        for (j, (bt, at)) in b.iter().zip(a).enumerate() {
            if !at.text.is_empty() {
                entries.push(((i, j), at.text, bt.text != at.text));
            }
        }
    }
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for &(pos, text, changed) in &entries {
        if !changed {
            continue;
        }
        // Another entry that stays: one that did not change, or an
        // earlier changed one not dropped.
        let kept_elsewhere = entries.iter().any(|&(other, t, c)| {
            other != pos && t == text && !dropped.contains(&other) && (!c || other < pos)
        });
        if kept_elsewhere {
            dropped.push(pos);
        }
    }
    if dropped.is_empty() {
        return;
    }
    let mut rebuilt = Vec::with_capacity(after.len());
    for (i, toks) in after.iter().enumerate() {
        let keep: Vec<&Tok> = toks
            .iter()
            .enumerate()
            .filter(|(j, _)| !dropped.contains(&(i, *j)))
            .map(|(_, t)| t)
            .collect();
        if keep.len() == toks.len() {
            rebuilt.push(Some(out.after[i].clone()));
            continue;
        }
        if keep.iter().all(|t| t.text.is_empty()) {
            rebuilt.push(None);
            continue;
        }
        let mut v = String::new();
        for (k, t) in keep.iter().enumerate() {
            // The value's own leading separator stays where it was.
            v.push_str(if k == 0 { toks[0].sep } else { t.sep });
            v.push_str(t.text);
        }
        rebuilt.push(Some(v));
    }
    let single = rebuilt.len() == 1;
    out.after = rebuilt
        .into_iter()
        .map(Option::unwrap_or_default)
        .filter(|v| single || !v.is_empty())
        .collect();
    push_unique(
        &mut out.reasons,
        vec!["an old entry whose new one is already listed goes".to_string()],
    );
}

fn push_unique(into: &mut Vec<String>, items: Vec<String>) {
    for i in items {
        if !into.contains(&i) {
            into.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(old: &str, new: &str) -> Pair {
        let (o, op) = old
            .split_once('/')
            .map(|(a, p)| (a, Some(p)))
            .unwrap_or((old, None));
        let (n, np) = new
            .split_once('/')
            .map(|(a, p)| (a, Some(p)))
            .unwrap_or((new, None));
        let o: IpAddr = o.parse().unwrap();
        let n: IpAddr = n.parse().unwrap();
        let host = if o.is_ipv4() { 32 } else { 128 };
        let src = |p: Option<&str>| {
            if p.is_some() {
                PrefixSource::Given
            } else {
                PrefixSource::Host
            }
        };
        Pair {
            old: o,
            new: n,
            old_prefix: op.map(|p| p.parse().unwrap()).unwrap_or(host),
            new_prefix: np.map(|p| p.parse().unwrap()).unwrap_or(host),
            old_prefix_source: src(op),
            new_prefix_source: src(np),
        }
    }

    fn rw(pairs: &[(&str, &str)]) -> Rewriter {
        Rewriter::new(pairs.iter().map(|(o, n)| pair(o, n)).collect(), Vec::new())
    }

    const V4: &[(&str, &str)] = &[("172.20.14.25/24", "10.40.7.131/24")];

    #[test]
    fn trust_lists_follow_principle_4() {
        // (pairs, values before, values after, warning codes expected)
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            // The interface network becomes the new one; loopback kept.
            (
                V4,
                &["127.0.0.0/8 172.20.14.0/24"],
                &["127.0.0.0/8 10.40.7.0/24"],
                &[],
            ),
            // The old address itself, same spelling.
            (
                V4,
                &["127.0.0.0/8 172.20.14.25"],
                &["127.0.0.0/8 10.40.7.131"],
                &[],
            ),
            (
                V4,
                &["127.0.0.0/8 172.20.14.25/32"],
                &["127.0.0.0/8 10.40.7.131/32"],
                &[],
            ),
            // Comma separated, kept.
            (
                V4,
                &["127.0.0.0/8,172.20.14.0/24"],
                &["127.0.0.0/8,10.40.7.0/24"],
                &[],
            ),
            // A neighbour is another host: untouched (value unchanged).
            (
                V4,
                &["127.0.0.0/8 172.20.14.250"],
                &["127.0.0.0/8 172.20.14.250"],
                &[],
            ),
            // A wider site network holding the old address stays, new host beside it.
            (
                V4,
                &["127.0.0.0/8 172.20.0.0/16"],
                &["127.0.0.0/8 172.20.0.0/16 10.40.7.131"],
                &["trust-network-kept"],
            ),
            // One entry per value (multi-valued attributes): a value of its own.
            (
                V4,
                &["127.0.0.0/8", "172.20.0.0/16"],
                &["127.0.0.0/8", "172.20.0.0/16", "10.40.7.131"],
                &["trust-network-kept"],
            ),
            (
                V4,
                &["172.20.0.0/16"],
                &["127.0.0.0/8", "172.20.0.0/16", "10.40.7.131"],
                &["trust-network-kept", "mynetworks-loopback-added"],
            ),
            // A network holding both stays as it is.
            (
                &[("10.40.1.5/24", "10.40.7.131/24")],
                &["127.0.0.0/8 10.0.0.0/8"],
                &["127.0.0.0/8 10.0.0.0/8"],
                &[],
            ),
            // Everything-networks are never written and never widened into.
            (V4, &["0.0.0.0/0"], &["0.0.0.0/0"], &["trust-everything"]),
            // New network wider than the old entry: host entry alone.
            (
                &[("172.20.14.25/24", "10.40.7.131/16")],
                &["127.0.0.0/8 172.20.14.0/24"],
                &["127.0.0.0/8 10.40.7.131"],
                &["trust-not-widened"],
            ),
            // Unknown new prefix: host entry only.
            (
                &[("172.20.14.25/24", "10.40.7.131")],
                &["127.0.0.0/8 172.20.14.0/24"],
                &["127.0.0.0/8 10.40.7.131"],
                &[],
            ),
            // Unknown old prefix: the /24 is not known to be the interface
            // network, so it stays and the host is added.
            (
                &[("172.20.14.25", "10.40.7.131/24")],
                &["127.0.0.0/8 172.20.14.0/24"],
                &["127.0.0.0/8 172.20.14.0/24 10.40.7.131"],
                &["trust-network-kept"],
            ),
            // Loopback added to mynetworks where missing.
            (
                V4,
                &["172.20.14.0/24"],
                &["127.0.0.0/8", "10.40.7.0/24"],
                &["mynetworks-loopback-added"],
            ),
            (
                V4,
                &["172.20.14.0/24 10.9.0.0/16"],
                &["127.0.0.0/8 10.40.7.0/24 10.9.0.0/16"],
                &["mynetworks-loopback-added"],
            ),
            // Multi-valued attribute: loopback in another value counts.
            (
                V4,
                &["127.0.0.0/8", "172.20.14.0/24"],
                &["127.0.0.0/8", "10.40.7.0/24"],
                &[],
            ),
            // A host entry of the old address keeps its spelling and its
            // place, before or after a network that holds it: nothing is
            // added beside the network.
            (
                &[("172.20.14.25", "10.40.7.131")],
                &["127.0.0.0/8 [::1]/128 172.20.14.0/24 192.168.50.0/24 172.20.14.25/32"],
                &["127.0.0.0/8 [::1]/128 172.20.14.0/24 192.168.50.0/24 10.40.7.131/32"],
                &["trust-network-kept"],
            ),
            (
                V4,
                &["172.20.14.25/32, 172.20.0.0/16, 127.0.0.0/8"],
                &["10.40.7.131/32, 172.20.0.0/16, 127.0.0.0/8"],
                &["trust-network-kept"],
            ),
            (
                V4,
                &["127.0.0.0/8", "172.20.0.0/16", "172.20.14.25"],
                &["127.0.0.0/8", "172.20.0.0/16", "10.40.7.131"],
                &["trust-network-kept"],
            ),
            // 172.20.14.2/32 names another host: the network gains the new
            // one beside it.
            (
                V4,
                &["127.0.0.0/8 172.20.0.0/16 172.20.14.2/32"],
                &["127.0.0.0/8 172.20.0.0/16 10.40.7.131 172.20.14.2/32"],
                &["trust-network-kept"],
            ),
            // New already trusted: the old entry goes, no duplicate.
            (
                V4,
                &["127.0.0.0/8 172.20.14.25 10.40.7.131"],
                &["127.0.0.0/8 10.40.7.131"],
                &[],
            ),
            // The new host goes in with the list's own separator, after
            // the network it is trusted beside.
            (
                V4,
                &["172.20.0.0/16 127.0.0.0/8"],
                &["172.20.0.0/16 10.40.7.131 127.0.0.0/8"],
                &["trust-network-kept"],
            ),
            (
                V4,
                &["127.0.0.0/8,172.20.0.0/16"],
                &["127.0.0.0/8,172.20.0.0/16,10.40.7.131"],
                &["trust-network-kept"],
            ),
            (
                V4,
                &["127.0.0.0/8 10.9.0.0/16,172.20.0.0/16"],
                &["127.0.0.0/8 10.9.0.0/16,172.20.0.0/16,10.40.7.131"],
                &["trust-network-kept"],
            ),
            (
                V4,
                &["172.20.0.0/16,  127.0.0.0/8"],
                &["172.20.0.0/16,  10.40.7.131,  127.0.0.0/8"],
                &["trust-network-kept"],
            ),
            // Several values: a value of its own, even beside a list.
            (
                V4,
                &["127.0.0.0/8", "172.20.0.0/16 10.9.0.0/16"],
                &["127.0.0.0/8", "172.20.0.0/16 10.9.0.0/16", "10.40.7.131"],
                &["trust-network-kept"],
            ),
            // Loopback added where missing, with the list's separator:
            // commas where only commas separate, else a space.
            (
                V4,
                &["172.20.14.0/24,10.9.0.0/16"],
                &["127.0.0.0/8,10.40.7.0/24,10.9.0.0/16"],
                &["mynetworks-loopback-added"],
            ),
            (
                V4,
                &["172.20.14.0/24, 10.9.0.0/16"],
                &["127.0.0.0/8 10.40.7.0/24, 10.9.0.0/16"],
                &["mynetworks-loopback-added"],
            ),
            // Dropped first: the next entry takes its place and its
            // leading blanks, the list keeps its separator.
            (
                V4,
                &["172.20.14.25, 10.40.7.131,127.0.0.0/8"],
                &["10.40.7.131,127.0.0.0/8"],
                &[],
            ),
            (
                V4,
                &["  172.20.14.25 10.40.7.131 127.0.0.0/8"],
                &["  10.40.7.131 127.0.0.0/8"],
                &[],
            ),
            // Another value's leading blank does not stay in this one.
            (
                V4,
                &[" 127.0.0.0/8", "172.20.14.25 10.40.7.131"],
                &[" 127.0.0.0/8", "10.40.7.131"],
                &[],
            ),
            // Dropped last, before trailing separators.
            (
                V4,
                &["127.0.0.0/8 10.40.7.131 172.20.14.25 ,"],
                &["127.0.0.0/8 10.40.7.131 ,"],
                &[],
            ),
            // Dropped alone among blanks: the value goes.
            (
                V4,
                &["127.0.0.0/8 10.40.7.131", " 172.20.14.25 "],
                &["127.0.0.0/8 10.40.7.131"],
                &[],
            ),
            // Host bits written with the interface network keep that style.
            (
                V4,
                &["127.0.0.0/8 172.20.14.25/24"],
                &["127.0.0.0/8 10.40.7.131/24"],
                &[],
            ),
            // IPv6, postfix bracket style.
            (
                &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                &["127.0.0.0/8 [::1]/128 [2001:db8:14::]/64"],
                &["127.0.0.0/8 [::1]/128 [2001:db8:7::]/64"],
                &[],
            ),
            (
                &[("2001:db8:14::25/64", "2001:db8:7::131/64")],
                &["[::1]/128 2001:DB8:14::25"],
                &["[::1]/128 2001:DB8:7::131"],
                &[],
            ),
        ];
        for (pairs, before, after, codes) in cases {
            let out = rw(pairs).rewrite(before, ValueKind::TrustList { loopback: true });
            assert_eq!(out.after, *after, "values {before:?} with {pairs:?}");
            let got: Vec<&str> = out.notes.iter().map(|n| n.code.as_str()).collect();
            assert_eq!(got, *codes, "warnings for {before:?}");
            assert_eq!(out.changed, before != after, "changed flag for {before:?}");
            assert!(out.after.iter().all(
                |a| !a.contains("0.0.0.0/0") || before.iter().any(|b| b.contains("0.0.0.0/0"))
            ));
        }
    }

    #[test]
    fn literal_kinds() {
        // (kind, value, expected after)
        let cases: &[(ValueKind, &str, &str)] = &[
            (ValueKind::OwnAddress, "172.20.14.25", "10.40.7.131"),
            (ValueKind::OwnAddress, "172.20.14.25/24", "10.40.7.131/24"),
            (ValueKind::OwnAddress, "172.20.14.250", "172.20.14.250"),
            (
                ValueKind::Url,
                "ldap://172.20.14.25:389",
                "ldap://10.40.7.131:389",
            ),
            (
                ValueKind::Url,
                "ldap://172.20.14.30:389",
                "ldap://172.20.14.30:389",
            ),
            (ValueKind::HostPort, "[172.20.14.25]:25", "[10.40.7.131]:25"),
            (ValueKind::HostPort, "[172.20.14.2]:25", "[172.20.14.2]:25"),
            (
                ValueKind::Regex,
                "^172\\.20\\.14\\.25$",
                "^10\\.40\\.7\\.131$",
            ),
            (ValueKind::ExactList, "172.20.14.25", "10.40.7.131"),
            (ValueKind::ExactList, "172.20.14.0/24", "172.20.14.0/24"),
            (ValueKind::OtherHost, "172.20.14.53", "172.20.14.53"),
            (ValueKind::OtherHost, "172.20.14.25", "10.40.7.131"),
            (
                ValueKind::Text,
                "see 172.20.14.25 and 172.20.14.250",
                "see 10.40.7.131 and 172.20.14.250",
            ),
        ];
        let r = rw(V4);
        for (kind, before, after) in cases {
            let out = r.rewrite(&[before], *kind);
            assert_eq!(out.after, vec![after.to_string()], "{kind:?} {before}");
            assert_eq!(out.changed, before != after);
        }
        // A network in an exact list matches nobody: said so.
        let out = r.rewrite(&["172.20.14.0/24"], ValueKind::ExactList);
        assert!(
            out.notes[0]
                .message
                .contains("compared as exact addresses, so it matches no client"),
            "{:?}",
            out.notes
        );
        assert!(
            r.rewrite(&["172.20.14.0/24"], ValueKind::OtherHost)
                .notes
                .is_empty()
        );
    }

    #[test]
    fn reasons_say_what_moved_once() {
        // (role, kind, value, reasons)
        let cases: &[(Role, ValueKind, &str, &[&str])] = &[
            (
                Role::Own,
                ValueKind::OwnAddress,
                "172.20.14.25",
                &["own address: 172.20.14.25 → 10.40.7.131 (exact)"],
            ),
            (
                Role::Peer,
                ValueKind::OwnAddress,
                "172.20.14.25",
                &["address of the moved node: 172.20.14.25 → 10.40.7.131 (exact)"],
            ),
            (
                Role::Peer,
                ValueKind::Url,
                "ldap://172.20.14.25:389",
                &["URL host: 172.20.14.25 → 10.40.7.131 (url-host)"],
            ),
            // Two occurrences, one reason.
            (
                Role::Own,
                ValueKind::Text,
                "172.20.14.25 and again 172.20.14.25",
                &["literal replacement (not a known setting): 172.20.14.25 → 10.40.7.131 (exact)"],
            ),
            (Role::Own, ValueKind::Text, "172.20.14.250", &[]),
        ];
        for (role, kind, value, reasons) in cases {
            let out = rw(V4).with_role(*role).rewrite(&[value], *kind);
            assert_eq!(out.reasons, *reasons, "{role:?} {kind:?} {value}");
        }
        // Trust lists: one reason per decision, however many values.
        let out = rw(V4).rewrite(
            &["127.0.0.0/8 172.20.14.25", "172.20.14.25/32"],
            ValueKind::TrustList { loopback: true },
        );
        assert_eq!(
            out.reasons,
            [
                "trusted host 172.20.14.25 becomes 10.40.7.131",
                "172.20.14.25 dropped: 10.40.7.131 is already trusted"
            ]
        );
    }

    #[test]
    fn peer_role_swaps_references_and_keeps_networks() {
        // (kind, before, after, warning codes): the moved address is another
        // node's, so its network is never this host's to follow.
        type Case<'a> = (ValueKind, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
        let cases: &[Case] = &[
            // The old node's network stays; the new host is trusted beside it.
            (
                ValueKind::TrustList { loopback: true },
                &["127.0.0.0/8 172.20.14.0/24"],
                &["127.0.0.0/8 172.20.14.0/24 10.40.7.131"],
                &["trust-network-kept"],
            ),
            // One entry per value: a value of its own.
            (
                ValueKind::TrustList { loopback: false },
                &["172.20.14.0/24"],
                &["172.20.14.0/24", "10.40.7.131"],
                &["trust-network-kept"],
            ),
            // The exact entry swaps, in its spelling.
            (
                ValueKind::TrustList { loopback: true },
                &["127.0.0.0/8 172.20.14.25/32"],
                &["127.0.0.0/8 10.40.7.131/32"],
                &[],
            ),
            // A neighbour of the old address is a third host: untouched.
            (
                ValueKind::TrustList { loopback: true },
                &["127.0.0.0/8 172.20.14.250"],
                &["127.0.0.0/8 172.20.14.250"],
                &[],
            ),
            // A hosts-file address names the moved node: swapped, no prefix.
            (
                ValueKind::OwnAddress,
                &["172.20.14.25"],
                &["10.40.7.131"],
                &[],
            ),
            (
                ValueKind::OwnAddress,
                &["172.20.14.25/24"],
                &["10.40.7.131/24"],
                &[],
            ),
            (
                ValueKind::OwnAddress,
                &["172.20.14.250"],
                &["172.20.14.250"],
                &[],
            ),
            (
                ValueKind::Url,
                &["ldap://172.20.14.25:389 ldap://172.20.14.2:389"],
                &["ldap://10.40.7.131:389 ldap://172.20.14.2:389"],
                &[],
            ),
            (
                ValueKind::ExactList,
                &["172.20.14.25"],
                &["10.40.7.131"],
                &[],
            ),
            (
                ValueKind::ExactList,
                &["172.20.14.0/24"],
                &["172.20.14.0/24"],
                &["network-unchanged"],
            ),
        ];
        // The new prefix differs: an own move would write /16.
        let r = rw(&[("172.20.14.25/24", "10.40.7.131/16")]).with_role(Role::Peer);
        for (kind, before, after, codes) in cases {
            let out = r.rewrite(before, *kind);
            assert_eq!(out.after, *after, "{kind:?} {before:?}");
            let got: Vec<&str> = out.notes.iter().map(|n| n.code.as_str()).collect();
            assert_eq!(got, *codes, "{kind:?} {before:?}");
        }
        // The same hosts address in the own role takes the new prefix.
        let own = rw(&[("172.20.14.25/24", "10.40.7.131/16")]);
        assert_eq!(
            own.rewrite(&["172.20.14.25/24"], ValueKind::OwnAddress)
                .after,
            vec!["10.40.7.131/16".to_string()]
        );
    }

    #[test]
    fn own_role_keeps_networks_other_nodes_live_in() {
        let mynet = ValueKind::TrustList { loopback: true };
        let before = ["127.0.0.0/8 172.20.14.0/24"];
        // (nodes that stay, after, the node the warning names)
        type Case<'a> = (Option<&'a [&'a str]>, &'a str, Option<&'a str>);
        let cases: &[Case] = &[
            // Alone on its network: the network follows the move.
            (Some(&["192.168.9.4"]), "127.0.0.0/8 10.40.7.0/24", None),
            // 172.20.14.26 stays in it: the network stays too.
            (
                Some(&["192.168.9.4", "172.20.14.26"]),
                "127.0.0.0/8 172.20.14.0/24 10.40.7.131",
                Some("172.20.14.26"),
            ),
            // Trap: 172.20.14.2 vs 172.20.14.250, both inside the /24.
            (
                Some(&["172.20.14.250"]),
                "127.0.0.0/8 172.20.14.0/24 10.40.7.131",
                Some("172.20.14.250"),
            ),
            // A node whose address nobody knows may live there.
            (
                None,
                "127.0.0.0/8 172.20.14.0/24 10.40.7.131",
                Some("not known"),
            ),
        ];
        for (staying, after, named) in cases {
            let addrs = match staying {
                Some(a) => Staying::Known(a.iter().map(|s| s.parse().unwrap()).collect()),
                None => Staying::Unknown,
            };
            let out = rw(V4).with_staying(addrs).rewrite(&before, mynet);
            assert_eq!(out.after, vec![after.to_string()], "{staying:?}");
            match named {
                Some(n) => {
                    assert_eq!(out.notes.len(), 1, "{staying:?}");
                    assert_eq!(out.notes[0].code, Code::TrustNetworkKept);
                    assert!(out.notes[0].message.contains(n), "{}", out.notes[0].message);
                }
                None => assert!(out.notes.is_empty(), "{:?}", out.notes),
            }
        }
        // Exact entries swap whoever else is around.
        let out = rw(V4)
            .with_staying(Staying::Known(vec!["172.20.14.26".parse().unwrap()]))
            .rewrite(&["127.0.0.0/8 172.20.14.25"], mynet);
        assert_eq!(out.after, vec!["127.0.0.0/8 10.40.7.131".to_string()]);
    }

    #[test]
    fn roles_decide_which_scopes_change() {
        assert!(Role::Own.changes(Scope::HostNetwork));
        assert!(Role::Own.changes(Scope::Host));
        assert!(!Role::Peer.changes(Scope::HostNetwork));
        assert!(Role::Peer.changes(Scope::Host));
        for role in [Role::Own, Role::Peer] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(Role::Peer.as_str(), "peer");
        assert_eq!(Role::Own.as_str(), "own");
        // The bound role is `zmreip bind`'s, never asked for with --role.
        assert!("bound".parse::<Role>().is_err());
        assert!(!Role::Bound.changes(Scope::HostNetwork));
        assert!(!Role::Bound.changes(Scope::Dns));
        assert!(Role::Bound.changes(Scope::Host));
        assert_eq!(Role::Bound.as_str(), "bound");
    }

    #[test]
    fn bound_role_binds_listen_settings_and_keeps_everything_else() {
        let single = ValueKind::Listen { several: false };
        let several = ValueKind::Listen { several: true };
        let kinds = [
            (single, Treatment::Bind),
            (several, Treatment::Bind),
            (ValueKind::OwnAddress, Treatment::Keep),
            (ValueKind::Interface, Treatment::Keep),
            (ValueKind::Url, Treatment::Keep),
            (ValueKind::TrustList { loopback: true }, Treatment::Keep),
            (ValueKind::TrustList { loopback: false }, Treatment::Keep),
            (ValueKind::TrustRule, Treatment::Keep),
            (ValueKind::Range, Treatment::Keep),
            (ValueKind::ExactList, Treatment::Keep),
            (ValueKind::HostPort, Treatment::Keep),
            (ValueKind::Regex, Treatment::Keep),
            (ValueKind::OtherHost, Treatment::Keep),
            (ValueKind::Text, Treatment::Keep),
        ];
        for (kind, want) in kinds {
            assert_eq!(Role::Bound.treatment(kind), want, "{kind:?}");
        }
        // (kind, values before, bound, after, changed)
        type Case<'a> = (
            ValueKind,
            &'a [&'a str],
            Option<&'a str>,
            &'a [&'a str],
            bool,
        );
        let cases: &[Case] = &[
            // Unset (all interfaces) becomes the address.
            (single, &[], Some("10.40.7.132"), &["10.40.7.132"], true),
            // Trap: 192.168.2.10 is not 192.168.2.1.
            (
                single,
                &["192.168.2.10"],
                Some("192.168.2.1"),
                &["192.168.2.1"],
                true,
            ),
            // Several values (a multi-valued attribute of which Zimbra
            // uses the first): exactly the bound one is left.
            (
                single,
                &["192.168.2.1", "10.40.7.132"],
                Some("10.40.7.132"),
                &["10.40.7.132"],
                true,
            ),
            // Already bound: nothing to do.
            (
                single,
                &["10.40.7.132"],
                Some("10.40.7.132"),
                &["10.40.7.132"],
                false,
            ),
            // IPv6, as written.
            (
                single,
                &["2001:db8::25"],
                Some("2001:db8::26"),
                &["2001:db8::26"],
                true,
            ),
            // Unbinding empties the setting; an unset one stays unset.
            (single, &["10.40.7.132"], None, &[], true),
            (single, &[], None, &[], false),
            // A listen URL list becomes the one URL.
            (
                several,
                &["ldap://172.20.14.25:389 ldap://[2001:db8:14::25]:389"],
                Some("ldap://10.40.7.132:389"),
                &["ldap://10.40.7.132:389"],
                true,
            ),
            // Kinds the role keeps never change, bound or not.
            (
                ValueKind::TrustList { loopback: true },
                &["127.0.0.0/8 172.20.14.0/24"],
                Some("10.40.7.132"),
                &["127.0.0.0/8 172.20.14.0/24"],
                false,
            ),
            (
                ValueKind::OwnAddress,
                &["172.20.14.25"],
                Some("10.40.7.132"),
                &["172.20.14.25"],
                false,
            ),
            (
                ValueKind::OtherHost,
                &["172.20.14.53"],
                None,
                &["172.20.14.53"],
                false,
            ),
        ];
        for (kind, before, bound, after, changed) in cases {
            let out = bind_values(before, *kind, *bound);
            assert_eq!(out.after, *after, "{kind:?} {before:?} -> {bound:?}");
            assert_eq!(out.changed, *changed, "{kind:?} {before:?} -> {bound:?}");
            assert_eq!(out.reasons.is_empty(), !changed, "{:?}", out.reasons);
        }
        // A rewriter in the bound role moves nothing it finds.
        let out = rw(V4)
            .with_role(Role::Bound)
            .rewrite(&["172.20.14.25"], single);
        assert_eq!(out.after, ["172.20.14.25"]);
        assert!(!out.changed);
    }

    /// The three phases of a window, each applied to what the one before
    /// left, write exactly what the own move writes; open serves on both
    /// where a value can hold both and leaves everything else.
    #[test]
    fn window_phases_compose_to_the_own_move() {
        let mynet = ValueKind::TrustList { loopback: true };
        let trust = ValueKind::TrustList { loopback: false };
        let several = ValueKind::Listen { several: true };
        let single = ValueKind::Listen { several: false };
        // (kind, before, after open: None when open keeps it)
        type Case<'a> = (ValueKind, &'a [&'a str], Option<&'a [&'a str]>);
        let cases: &[Case] = &[
            // Trust lists: the interface network gains the new one beside
            // it, in the list's own separator.
            (
                mynet,
                &["127.0.0.0/8 172.20.14.0/24"],
                Some(&["127.0.0.0/8 172.20.14.0/24 10.40.7.0/24"]),
            ),
            (
                mynet,
                &["172.20.14.0/24,127.0.0.0/8"],
                Some(&["172.20.14.0/24,10.40.7.0/24,127.0.0.0/8"]),
            ),
            (
                mynet,
                &["127.0.0.0/8", "172.20.14.25"],
                Some(&["127.0.0.0/8", "172.20.14.25", "10.40.7.131"]),
            ),
            // Loopback added as the own move adds it.
            (
                mynet,
                &["172.20.14.0/24"],
                Some(&["127.0.0.0/8", "172.20.14.0/24", "10.40.7.0/24"]),
            ),
            // A wider network: already what the own move writes.
            (
                mynet,
                &["127.0.0.0/8 172.20.0.0/16"],
                Some(&["127.0.0.0/8 172.20.0.0/16 10.40.7.131"]),
            ),
            // Trap: a neighbour is another host, nothing to add.
            (trust, &["172.20.14.250"], None),
            // The new address already trusted: nothing twice.
            (mynet, &["127.0.0.0/8 172.20.14.25 10.40.7.131"], None),
            // Listeners that take several values.
            (
                several,
                &["ldap://172.20.14.25:389"],
                Some(&["ldap://172.20.14.25:389", "ldap://10.40.7.131:389"]),
            ),
            (
                several,
                &["ldap://172.20.14.25:389 ldap://[2001:db8::1]:389"],
                Some(&["ldap://172.20.14.25:389 ldap://10.40.7.131:389 ldap://[2001:db8::1]:389"]),
            ),
            (
                several,
                &["127.0.0.1,172.20.14.25"],
                Some(&["127.0.0.1,172.20.14.25,10.40.7.131"]),
            ),
            // Trap: 172.20.14.2 is not 172.20.14.25.
            (several, &["172.20.14.2"], None),
            // Exact lists.
            (
                ValueKind::ExactList,
                &["172.20.14.25", "172.20.14.251"],
                Some(&["172.20.14.25", "10.40.7.131", "172.20.14.251"]),
            ),
            (ValueKind::ExactList, &["172.20.14.0/24"], None),
            // Interface addresses keep their prefix rules.
            (
                ValueKind::Interface,
                &["172.20.14.25/24"],
                Some(&["172.20.14.25/24", "10.40.7.131/24"]),
            ),
            // What clients find the server by waits for the switch.
            (ValueKind::OwnAddress, &["172.20.14.25"], None),
            (single, &["172.20.14.25"], None),
            (ValueKind::Url, &["ldap://172.20.14.25:389"], None),
            (ValueKind::HostPort, &["[172.20.14.25]:25"], None),
            (ValueKind::Regex, &["^172\\.20\\.14\\.25$"], None),
            (ValueKind::Text, &["see 172.20.14.25"], None),
        ];
        let own = rw(V4);
        let phase = |p: Phase| rw(V4).with_role(Role::Window(p));
        for (kind, before, opened) in cases {
            let want = own.rewrite(before, *kind).after;
            let open = phase(Phase::Open).rewrite(before, *kind);
            match opened {
                Some(o) => {
                    assert_eq!(open.after, *o, "open of {kind:?} {before:?}");
                    assert!(open.changed, "{kind:?} {before:?}");
                }
                None => {
                    assert_eq!(open.after, *before, "open keeps {kind:?} {before:?}");
                    assert!(!open.changed, "{kind:?} {before:?}");
                }
            }
            let o: Vec<&str> = open.after.iter().map(String::as_str).collect();
            let switched = phase(Phase::Switch).rewrite(&o, *kind).after;
            let s: Vec<&str> = switched.iter().map(String::as_str).collect();
            let closed = phase(Phase::Close).rewrite(&s, *kind).after;
            assert_eq!(closed, want, "open, switch, close of {kind:?} {before:?}");
            // What open served on both, switch keeps.
            if opened.is_some() {
                assert_eq!(switched, open.after, "switch keeps {kind:?} {before:?}");
            }
        }
    }

    #[test]
    fn window_roles_by_scope() {
        let open = Role::Window(Phase::Open);
        let switch = Role::Window(Phase::Switch);
        // Published records: not while opening, as own at the switch.
        assert!(!open.changes(Scope::Dns));
        assert!(open.changes(Scope::HostNetwork));
        assert!(switch.changes(Scope::Dns));
        let rw = rw(V4).with_role(switch);
        assert_eq!(rw.for_scope(Scope::Dns).role(), Role::Own);
        assert_eq!(rw.for_scope(Scope::Host).role(), switch);
        // An A record moves at the switch, an SPF mechanism follows the
        // trust rule of the own move (not kept as a trust list is there).
        let dns = rw.for_scope(Scope::Dns);
        assert_eq!(
            dns.rewrite(&["172.20.14.25"], ValueKind::TrustList { loopback: false })
                .after,
            vec!["10.40.7.131".to_string()]
        );
        assert_eq!(
            rw.rewrite(&["172.20.14.25"], ValueKind::TrustList { loopback: false })
                .after,
            vec!["172.20.14.25".to_string()]
        );
        assert!("window-open".parse::<Role>().is_err());
    }

    #[test]
    fn lists_never_hold_an_entry_twice() {
        // (kind, before, after the own move)
        let cases: &[(ValueKind, &[&str], &[&str])] = &[
            (
                ValueKind::Listen { several: true },
                &["ldap://172.20.14.25:389 ldap://10.40.7.131:389"],
                &["ldap://10.40.7.131:389"],
            ),
            (
                ValueKind::Listen { several: true },
                &["ldap://10.40.7.131:389 ldap://172.20.14.25:389"],
                &["ldap://10.40.7.131:389"],
            ),
            (
                ValueKind::ExactList,
                &["172.20.14.25", "10.40.7.131", "172.20.14.251"],
                &["10.40.7.131", "172.20.14.251"],
            ),
            (
                ValueKind::Listen { several: true },
                &["127.0.0.1,172.20.14.25,10.40.7.131"],
                &["127.0.0.1,10.40.7.131"],
            ),
            // Two old spellings of one address: one stays.
            (
                ValueKind::OtherHost,
                &["172.20.14.25 172.20.14.25"],
                &["10.40.7.131"],
            ),
            // Free text is not a list: nothing is dropped.
            (
                ValueKind::Text,
                &["from 172.20.14.25 to 10.40.7.131"],
                &["from 10.40.7.131 to 10.40.7.131"],
            ),
        ];
        for (kind, before, after) in cases {
            assert_eq!(
                rw(V4).rewrite(before, *kind).after,
                *after,
                "{kind:?} {before:?}"
            );
        }
    }

    #[test]
    fn the_rewriter_says_what_it_was_made_with() {
        let r = Rewriter::new(
            vec![pair("172.20.14.25/24", "10.40.7.131/24")],
            vec![
                "10.40.7.1".parse().unwrap(),
                "2001:db8:7::1".parse().unwrap(),
            ],
        );
        assert_eq!(r.role(), Role::Own);
        assert_eq!(r.clone().with_role(Role::Peer).role(), Role::Peer);
        assert_eq!(r.pairs(), &[pair("172.20.14.25/24", "10.40.7.131/24")]);
        let gateway = |of: &str| r.gateway_for(of.parse().unwrap());
        assert_eq!(gateway("192.0.2.1"), Some("10.40.7.1".parse().unwrap()));
        assert_eq!(
            gateway("2001:db8::1"),
            Some("2001:db8:7::1".parse().unwrap())
        );
        let old: IpAddr = "172.20.14.25".parse().unwrap();
        assert_eq!(r.pair_for(old).map(|p| p.old), Some(old));
        assert!(r.pair_for("10.40.7.131".parse().unwrap()).is_none());
    }

    #[test]
    fn an_own_address_takes_the_new_prefix_only_when_known() {
        // (move, value, after)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (V4, "172.20.14.25/16", "10.40.7.131/24"),
            (V4, "172.20.14.25", "10.40.7.131"),
            (
                &[("172.20.14.25/24", "10.40.7.131")],
                "172.20.14.25/16",
                "10.40.7.131/16",
            ),
        ];
        for (moves, before, after) in cases {
            let out = rw(moves).rewrite(&[before], ValueKind::OwnAddress);
            assert_eq!(
                out.after,
                vec![after.to_string()],
                "{before} with {moves:?}"
            );
        }
    }

    #[test]
    fn the_directory_is_rewritten_as_the_moving_node_sees_it() {
        // The old interface network in mynetworks, as each planner's
        // rewriter for the directory leaves it: (role, nodes that stay,
        // after).
        let before = ["127.0.0.0/8 172.20.14.0/24"];
        let follows = "127.0.0.0/8 10.40.7.0/24";
        let kept = "127.0.0.0/8 172.20.14.0/24 10.40.7.131";
        let cases: &[(Role, Staying, &str)] = &[
            // The moving node: its network follows.
            (Role::Own, Staying::Alone, follows),
            // A peer that knows the other nodes: as the moving node would.
            (Role::Peer, Staying::Known(Vec::new()), follows),
            (
                Role::Peer,
                Staying::Known(vec!["172.20.14.26".parse().unwrap()]),
                kept,
            ),
            // A peer that knows no other node assumes one may live there.
            (Role::Peer, Staying::Alone, kept),
            (Role::Own, Staying::Unknown, kept),
        ];
        for (role, staying, after) in cases {
            let r = rw(V4)
                .with_role(*role)
                .with_staying(staying.clone())
                .for_directory();
            assert_eq!(r.role(), Role::Own, "{role:?} {staying:?}");
            let out = r.rewrite(&before, ValueKind::TrustList { loopback: true });
            assert_eq!(out.after, vec![after.to_string()], "{role:?} {staying:?}");
        }
    }

    #[test]
    fn a_trust_rule_never_gains_an_entry() {
        // (role, before, after, warning codes): one source per rule.
        type Case<'a> = (Role, &'a str, &'a str, &'a [&'a str]);
        let cases: &[Case] = &[
            (Role::Own, "172.20.14.0/24", "10.40.7.0/24", &[]),
            (Role::Own, "172.20.14.25/32", "10.40.7.131/32", &[]),
            (
                Role::Own,
                "172.20.0.0/16",
                "172.20.0.0/16",
                &["trust-rule-needed"],
            ),
            (
                Role::Peer,
                "172.20.14.0/24",
                "172.20.14.0/24",
                &["trust-rule-needed"],
            ),
            (Role::Peer, "172.20.14.25", "10.40.7.131", &[]),
            (Role::Own, "172.20.14.250", "172.20.14.250", &[]),
            // "From anywhere" is a public service, not a trust to warn of.
            (Role::Own, "0.0.0.0/0", "0.0.0.0/0", &[]),
        ];
        for (role, before, after, codes) in cases {
            let out = rw(V4)
                .with_role(*role)
                .rewrite(&[before], ValueKind::TrustRule);
            assert_eq!(out.after, vec![after.to_string()], "{role:?} {before}");
            let got: Vec<&str> = out.notes.iter().map(|n| n.code.as_str()).collect();
            assert_eq!(got, *codes, "{role:?} {before}");
            if !codes.is_empty() && *codes != ["trust-rule-needed"] {
                continue;
            }
            if let Some(n) = out.notes.first() {
                assert!(
                    n.message.contains("add a rule for 10.40.7.131"),
                    "{}",
                    n.message
                );
            }
        }
        // A trust list in the same place gains the entry.
        let out = rw(V4).rewrite(&["172.20.0.0/16"], ValueKind::TrustList { loopback: false });
        assert_eq!(out.after, ["172.20.0.0/16", "10.40.7.131"]);
    }

    #[test]
    fn ranges_never_change_and_are_reported_when_they_hold_the_address() {
        // (range, holds 172.20.14.25 or 2001:db8:14::25)
        let cases = [
            ("172.20.14.25-172.20.14.30", true),
            ("172.20.14.1-172.20.14.25", true),
            ("172.20.14.1-172.20.14.200", true),
            ("172.20.14.26-172.20.14.200", false),
            ("172.20.13.250-172.20.15.3", true),
            // keepalived's last-octet form.
            ("172.20.14.20-30", true),
            ("172.20.14.2-24", false),
            ("2001:db8:14::1-2001:db8:14::ff", true),
            ("2001:db8:14::1-ff", true),
            ("2001:db8:14::26-ff", false),
            ("172.20.14.25", false),
            ("not-a-range", false),
        ];
        let r = rw(&[
            ("172.20.14.25/24", "10.40.7.131/24"),
            ("2001:db8:14::25/64", "2001:db8:7::131/64"),
        ]);
        for (range, holds) in cases {
            for role in [Role::Own, Role::Peer] {
                let out = r
                    .clone()
                    .with_role(role)
                    .rewrite(&[range], ValueKind::Range);
                assert_eq!(out.after, vec![range.to_string()]);
                assert!(!out.changed);
                assert_eq!(
                    out.notes.iter().any(|n| n.code == Code::RangeUnchanged),
                    holds,
                    "{range}"
                );
            }
        }
    }

    #[test]
    fn network_in_unknown_value_is_reported_not_changed() {
        let out = rw(V4).rewrite(&["allow 172.20.14.0/24"], ValueKind::Text);
        assert_eq!(out.after, vec!["allow 172.20.14.0/24".to_string()]);
        assert_eq!(out.notes[0].code, Code::NetworkUnchanged);
    }

    #[test]
    fn entries_written_apart_are_decided_together() {
        use EntryChange::{Drop, Keep, KeepAndAdd, Replace};
        let trust = ValueKind::TrustList { loopback: false };
        let rw = Rewriter::new(vec![pair("192.168.2.1/24", "10.40.7.131/24")], Vec::new());
        let table: &[(&[&str], &[EntryChange])] = &[
            (
                &["127.0.0.1", "192.168.2.1", "192.168.2.10"],
                &[Keep, Replace("10.40.7.131".into()), Keep],
            ),
            // The interface network follows; a wider one is then covered.
            (
                &["192.168.2.0/24", "192.168.0.0/16"],
                &[Replace("10.40.7.0/24".into()), Keep],
            ),
            // A wider network alone gains the new host, once.
            (
                &["192.168.0.0/16", "192.0.0.0/8"],
                &[KeepAndAdd("10.40.7.131".into()), Keep],
            ),
            // What the old entry becomes is there already.
            (&["192.168.2.1", "10.40.7.131"], &[Drop, Keep]),
            // Not addresses (ACL names, keywords) stay.
            (&["any", "trusted"], &[Keep, Keep]),
        ];
        for (entries, want) in table {
            let got = rw.rewrite_entries(entries, trust);
            assert_eq!(got.changes, *want, "{entries:?}");
        }
        // Other kinds: entry by entry, exact only.
        let got = rw.rewrite_entries(&["192.168.2.1", "192.168.2.0/24"], ValueKind::OtherHost);
        assert_eq!(got.changes, vec![Replace("10.40.7.131".into()), Keep]);
        // A peer keeps every network and trusts the new address beside it.
        let peer = rw.clone().with_role(Role::Peer);
        let got = peer.rewrite_entries(&["192.168.2.0/24"], trust);
        assert_eq!(got.changes, vec![KeepAndAdd("10.40.7.131".into())]);
        // A window's open keeps every old entry and adds what the own move
        // writes; the switch leaves lists to close; close is the own move.
        let open = rw.clone().with_role(Role::Window(Phase::Open));
        let table: &[(&[&str], &[EntryChange])] = &[
            (
                &["127.0.0.1", "192.168.2.1", "192.168.2.10"],
                &[Keep, KeepAndAdd("10.40.7.131".into()), Keep],
            ),
            (
                &["192.168.2.0/24", "192.168.0.0/16"],
                &[KeepAndAdd("10.40.7.0/24".into()), Keep],
            ),
            // Trap: the new entry is there already; the old one stays.
            (&["192.168.2.1", "10.40.7.131"], &[Keep, Keep]),
        ];
        for (entries, want) in table {
            assert_eq!(
                open.rewrite_entries(entries, trust).changes,
                *want,
                "{entries:?}"
            );
        }
        // An address that moves at the switch stays at open.
        let got = open.rewrite_entries(&["192.168.2.1"], ValueKind::OwnAddress);
        assert_eq!(got.changes, vec![Keep]);
        // A list of listeners gains the new one beside the old, once.
        let several = ValueKind::Listen { several: true };
        let got = open.rewrite_entries(&["192.168.2.1", "192.168.2.10"], several);
        assert_eq!(got.changes, vec![KeepAndAdd("10.40.7.131".into()), Keep]);
        let got = open.rewrite_entries(&["192.168.2.1", "10.40.7.131"], several);
        assert_eq!(got.changes, vec![Keep, Keep]);
        let switch = rw.clone().with_role(Role::Window(Phase::Switch));
        let got = switch.rewrite_entries(&["192.168.2.1", "10.40.7.131"], trust);
        assert_eq!(got.changes, vec![Keep, Keep]);
        let close = rw.clone().with_role(Role::Window(Phase::Close));
        let got = close.rewrite_entries(&["192.168.2.1", "10.40.7.131"], trust);
        assert_eq!(got.changes, vec![Drop, Keep]);
    }
}
