//! What the addresses in each named.conf (and rndc.conf) statement and
//! option are: BIND knowledge as data (named.conf(5), rndc.conf(5), the
//! BIND 9 ARM's grammar). The
//! `namedconf` surface decides from it what changes; an option that is
//! not here and holds an old address is reported, never changed.

use super::syntax::Word;

/// What the addresses written in an option are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// An address match list of clients named serves or lets in (an
    /// allow list): trust rules, never widened.
    Clients,
    /// An address match list of this host's own addresses (where named
    /// listens, or which destinations a rule applies to): they move.
    Own,
    /// An address match list that refuses or filters (`blackhole`):
    /// never moved to the new address.
    Denied,
    /// A list of other servers (`also-notify`, `primaries`,
    /// `forwarders`): only an entry that *is* the old address changes.
    Servers,
    /// One other server, the word after the keyword (`server ADDRESS {
    /// ... }`, rndc.conf's `default-server`): changed only where it *is*
    /// the old address; its block holds options of its own.
    Server,
    /// The address named sends from (`query-source`): it moves.
    Source,
    /// The address of named's control or statistics channel
    /// (`inet ADDRESS`): it moves; `rndc` reaches named through the
    /// control channel, so named restarts to take a new one.
    Channel,
    /// Key material: never searched, never shown.
    Secret,
}

/// Option or statement keyword → what its addresses are.
pub static OPTIONS: &[(&str, Holds)] = &[
    // --- address match lists of clients ---
    ("acl", Holds::Clients),
    ("allow-query", Holds::Clients),
    ("allow-query-cache", Holds::Clients),
    ("allow-recursion", Holds::Clients),
    ("allow-transfer", Holds::Clients),
    ("allow-update", Holds::Clients),
    ("allow-update-forwarding", Holds::Clients),
    ("allow-notify", Holds::Clients),
    ("allow-v6-synthesis", Holds::Clients),
    ("match-clients", Holds::Clients),
    ("response-padding", Holds::Clients),
    ("keep-response-order", Holds::Clients),
    ("no-case-compress", Holds::Clients),
    // The filter-aaaa plugin's clients.
    ("filter-aaaa", Holds::Clients),
    // `rate-limit { exempt-clients { ... }; }`
    ("exempt-clients", Holds::Clients),
    // `dns64 PREFIX { clients { ... }; mapped { ... }; }`: who gets
    // synthesis, and which IPv4 answers are mapped (this host's A
    // record among them).
    ("clients", Holds::Clients),
    ("mapped", Holds::Clients),
    // `controls { inet ... allow { ... }; }`, statistics-channels too.
    ("allow", Holds::Clients),
    // --- this host's own addresses ---
    ("listen-on", Holds::Own),
    ("listen-on-v6", Holds::Own),
    ("allow-query-on", Holds::Own),
    ("allow-query-cache-on", Holds::Own),
    ("allow-recursion-on", Holds::Own),
    ("match-destinations", Holds::Own),
    // --- lists that refuse or filter ---
    ("blackhole", Holds::Denied),
    // Answers that must not hold these addresses (rebinding protection).
    ("deny-answer-addresses", Holds::Denied),
    // `dns64 { exclude { ... }; }`: AAAA answers to ignore.
    ("exclude", Holds::Denied),
    // --- other servers ---
    ("also-notify", Holds::Servers),
    ("primaries", Holds::Servers),
    ("masters", Holds::Servers),
    ("parental-agents", Holds::Servers),
    ("remote-servers", Holds::Servers),
    ("forwarders", Holds::Servers),
    ("dual-stack-servers", Holds::Servers),
    ("server-addresses", Holds::Servers),
    // `catalog-zones { zone "x" default-primaries { ... }; }`
    ("default-primaries", Holds::Servers),
    ("default-masters", Holds::Servers),
    // `server ADDRESS[/LEN] { ... }`: what named knows of another server;
    // in rndc.conf, the named rndc talks to (by name or address).
    ("server", Holds::Server),
    // --- rndc.conf: where named's control channel is ---
    ("default-server", Holds::Server),
    ("addresses", Holds::Servers),
    ("source-address", Holds::Source),
    ("source-address-v6", Holds::Source),
    ("default-source-address", Holds::Source),
    ("default-source-address-v6", Holds::Source),
    // --- source addresses ---
    ("query-source", Holds::Source),
    ("query-source-v6", Holds::Source),
    ("transfer-source", Holds::Source),
    ("transfer-source-v6", Holds::Source),
    ("alt-transfer-source", Holds::Source),
    ("alt-transfer-source-v6", Holds::Source),
    ("notify-source", Holds::Source),
    ("notify-source-v6", Holds::Source),
    ("parental-source", Holds::Source),
    ("parental-source-v6", Holds::Source),
    // --- channels ---
    ("inet", Holds::Channel),
    // --- secrets ---
    ("key", Holds::Secret),
];

/// Words inside a statement that start the list its block holds:
/// `inet ADDRESS port N allow { ... }`, `zone "cat" default-primaries
/// { ... }`.
const BLOCK_KEYWORDS: &[&str] = &["allow", "default-primaries", "default-masters"];

/// What the addresses of an option are, if zmreip knows.
pub fn holds(keyword: &str) -> Option<Holds> {
    OPTIONS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(keyword))
        .map(|(_, h)| *h)
}

/// The option a statement's block belongs to: the last of
/// `BLOCK_KEYWORDS` among its words, else its keyword.
pub fn block_option(words: &[Word]) -> Option<&str> {
    words
        .iter()
        .rev()
        .find(|w| !w.quoted && BLOCK_KEYWORDS.contains(&w.text.as_str()))
        .or(words.first())
        .map(|w| w.text.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_unique_and_known() {
        let mut seen = std::collections::HashSet::new();
        for (k, _) in OPTIONS {
            assert!(seen.insert(*k), "{k} twice");
        }
        assert_eq!(holds("listen-on"), Some(Holds::Own));
        assert_eq!(holds("Allow-Transfer"), Some(Holds::Clients));
        assert_eq!(holds("also-notify"), Some(Holds::Servers));
        assert_eq!(holds("notify-source-v6"), Some(Holds::Source));
        assert_eq!(holds("blackhole"), Some(Holds::Denied));
        assert_eq!(holds("sortlist"), None);
        for k in BLOCK_KEYWORDS {
            assert!(holds(k).is_some(), "{k}");
        }
    }

    #[test]
    fn the_block_belongs_to_the_last_list_keyword() {
        for (text, want) in [
            ("inet 10.0.0.1 port 953 allow { any; };", "allow"),
            (
                "zone \"cat.\" default-primaries { 10.0.0.1; };",
                "default-primaries",
            ),
            ("listen-on port 53 tls ephemeral { any; };", "listen-on"),
            ("also-notify port 5300 { 10.0.0.2; };", "also-notify"),
            // A quoted word is a name, never a keyword.
            ("primaries \"allow\" { 10.0.0.3; };", "primaries"),
        ] {
            let stmts = super::super::syntax::parse("/x", text).unwrap();
            assert_eq!(block_option(&stmts[0].words), Some(want), "{text}");
        }
        assert_eq!(block_option(&[]), None);
    }
}
