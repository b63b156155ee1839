//! Surface `ufw`: ufw's rules files under `/etc/ufw`.
//!
//! `user.rules` and `user6.rules` hold the rules added with `ufw allow`,
//! `deny`, `limit`, `reject` and `route`: each is a tuple comment that ufw
//! reads back as the rule, followed by the iptables lines it generated
//! from it:
//!
//! ```text
//! ### tuple ### allow tcp 7071 0.0.0.0/0 any 172.20.14.0/24 in
//! -A ufw-user-input -p tcp --dport 7071 -s 172.20.14.0/24 -j ACCEPT
//! ```
//!
//! The tuple's words are `ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP]
//! [DIRECTION] [comment=HEX]`; a tuple of another length is one ufw skips
//! with a warning, and so does zmreip (`ufw-tuple-ignored`, naming the
//! line). Both the tuple and its iptables lines change,
//! in step: the tuple's action decides what its source is (an allow or
//! limit rule lets it in, [`super::firewall`]), and the lines under it are
//! read with the same verdict, so a `limit` rule's helper lines follow the
//! same edit. A tuple holds one source, so a network that stays cannot
//! gain the new host (a warning says to add a rule, `ufw allow from NEW
//! ...`). `before.rules`, `after.rules` and their IPv6 twins are
//! iptables-restore input written by the admin, read as
//! [`super::iptables`] reads saved rules.

use super::firewall::{self, Place, Verdict};
use super::iptables::{self, Chains};
use super::{Ctx, Field, FileSurface, Surface, analyze_lines};
use crate::error::Result;
use crate::model::Report;
use crate::notice::{Code, Notice};

/// The `ufw` surface.
pub struct Ufw;

const USER: &[&str] = &["/etc/ufw/user.rules", "/etc/ufw/user6.rules"];
const ADMIN: &[&str] = &[
    "/etc/ufw/before.rules",
    "/etc/ufw/before6.rules",
    "/etc/ufw/after.rules",
    "/etc/ufw/after6.rules",
];

const TUPLE: &str = "### tuple ###";

impl FileSurface for Ufw {
    fn files(&self, ctx: &Ctx) -> Result<Vec<String>> {
        let mut files: Vec<String> = USER
            .iter()
            .chain(ADMIN)
            .filter(|f| ctx.host.is_file(f))
            .map(ToString::to_string)
            .collect();
        files.sort();
        Ok(files)
    }

    fn analyze(&self, path: &str, text: &str, ctx: &Ctx) -> Result<Report> {
        let chains = Chains::read(path, text)?;
        if !USER.contains(&path) {
            let mut table = String::new();
            return analyze_lines(Surface::Ufw, path, text, ctx, |n, line| {
                if let Some(t) = line.trim().strip_prefix('*') {
                    table = t.trim().to_string();
                }
                Ok(match iptables::rule_line(path, n, line)? {
                    Some(rule) => rule.fields(&chains.verdicts(&table), true),
                    None => Vec::new(),
                })
            });
        }
        // The verdict of the tuple the following lines were generated from.
        let mut current: Option<Verdict> = None;
        let mut ignored = Vec::new();
        let mut report = analyze_lines(Surface::Ufw, path, text, ctx, |n, line| {
            if let Some(rest) = line.strip_prefix(TUPLE) {
                let at = line.len() - rest.len();
                current = None;
                let Some((verdict, fields)) = tuple(line, at) else {
                    ignored.push(Notice::new(
                        Code::UfwTupleIgnored,
                        format!(
                            "{path}:{n}: `{}` is not a rule tuple ufw reads (ACTION PROTO DPORT DST SPORT SRC [DAPP SAPP] [DIRECTION]); ufw skips it and drops its rule the next time it writes the file, and zmreip leaves it as it is",
                            line.trim()
                        ),
                    ));
                    return Ok(Vec::new());
                };
                current = Some(verdict);
                return Ok(fields);
            }
            if line.trim_start().starts_with("### ") {
                current = None;
            }
            Ok(match iptables::rule_line(path, n, line)? {
                Some(rule) => match current {
                    Some(v) => rule.fields_as(v, false),
                    None => rule.fields(&chains.verdicts("filter"), false),
                },
                None => Vec::new(),
            })
        })?;
        report.warnings.extend(ignored);
        Ok(report)
    }
}

/// Reads a tuple (its words from `line[at..]`, up to ` comment=`): its
/// verdict and the fields of its destination and source; `None` for a
/// tuple of a length ufw does not read.
fn tuple(line: &str, at: usize) -> Option<(Verdict, Vec<Field>)> {
    let end = line.find(" comment=").unwrap_or(line.len()).max(at);
    let mut words = Vec::new();
    let mut pos = at;
    for w in line[at..end].split_whitespace() {
        let s = pos + line[pos..].find(w).unwrap_or(0);
        words.push((w, s..s + w.len()));
        pos = s + w.len();
    }
    if !(6..=9).contains(&words.len()) {
        return None;
    }
    // `route:allow`, `allow_log`, `limit_log-all`, ...
    let action = words[0].0.rsplit(':').next().unwrap_or_default();
    let action = action.split('_').next().unwrap_or(action);
    let verdict = match action {
        "allow" | "limit" => Verdict::Accept,
        _ => Verdict::Deny,
    };
    let (dst, src) = (&words[3], &words[5]);
    let fields = vec![
        Field::new(
            dst.1.clone(),
            firewall::kind(Place::Destination, verdict, dst.0, false),
        ),
        Field::new(
            src.1.clone(),
            firewall::kind(Place::Source { negated: false }, verdict, src.0, false),
        ),
    ];
    Some((verdict, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surface::testutil::{DUAL, Fixture, V4, changes};

    fn plan(moves: &[(&str, &str)], path: &str, text: &str) -> (Vec<(usize, String)>, Vec<String>) {
        let fx = Fixture::new(moves);
        let r = Ufw.analyze(path, text, &fx.plan()).unwrap();
        let ch = changes(&r).into_iter().map(|(n, _, a)| (n, a)).collect();
        (ch, r.warnings.iter().map(|w| w.code.to_string()).collect())
    }

    const HEAD: &str = "*filter\n:ufw-user-input - [0:0]\n:ufw-user-output - [0:0]\n:ufw-user-limit - [0:0]\n:ufw-user-limit-accept - [0:0]\n### RULES ###\n\n";

    #[test]
    fn tuples_and_their_lines_change_together() {
        let text = format!(
            "{HEAD}### tuple ### allow tcp 25 192.168.2.1 any 0.0.0.0/0 in\n\
-A ufw-user-input -p tcp -d 192.168.2.1 --dport 25 -j ACCEPT\n\
\n\
### tuple ### allow tcp 7071 0.0.0.0/0 any 192.168.2.0/24 in\n\
-A ufw-user-input -p tcp --dport 7071 -s 192.168.2.0/24 -j ACCEPT\n\
\n\
### tuple ### limit tcp 22 0.0.0.0/0 any 192.168.2.0/24 in comment=73736820\n\
-A ufw-user-input -p tcp --dport 22 -s 192.168.2.0/24 -m conntrack --ctstate NEW -m recent --set\n\
-A ufw-user-input -p tcp --dport 22 -s 192.168.2.0/24 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 -j ufw-user-limit\n\
-A ufw-user-input -p tcp --dport 22 -s 192.168.2.0/24 -j ufw-user-limit-accept\n\
\n\
### tuple ### deny any any 0.0.0.0/0 any 192.168.0.0/16 in\n\
-A ufw-user-input -s 192.168.0.0/16 -j DROP\n\
\n\
### tuple ### allow any 389 0.0.0.0/0 any 192.168.0.0/16 in\n\
-A ufw-user-input -p tcp --dport 389 -s 192.168.0.0/16 -j ACCEPT\n\
### END RULES ###\nCOMMIT\n"
        );
        let (ch, codes) = plan(V4, "/etc/ufw/user.rules", &text);
        let got: Vec<usize> = ch.iter().map(|(n, _)| *n).collect();
        assert_eq!(got, [8, 9, 11, 12, 14, 15, 16, 17], "{ch:#?}");
        assert_eq!(
            ch[0].1,
            "### tuple ### allow tcp 25 10.40.7.131 any 0.0.0.0/0 in"
        );
        assert_eq!(
            ch[1].1,
            "-A ufw-user-input -p tcp -d 10.40.7.131 --dport 25 -j ACCEPT"
        );
        assert_eq!(
            ch[2].1,
            "### tuple ### allow tcp 7071 0.0.0.0/0 any 10.40.7.0/24 in"
        );
        assert_eq!(
            ch[3].1,
            "-A ufw-user-input -p tcp --dport 7071 -s 10.40.7.0/24 -j ACCEPT"
        );
        // Every line of the limit rule follows its tuple, even the one
        // that jumps to the rejecting chain.
        assert!(
            ch[6].1.contains("-s 10.40.7.0/24 -m conntrack"),
            "{}",
            ch[6].1
        );
        assert_eq!(
            ch[4].1,
            "### tuple ### limit tcp 22 0.0.0.0/0 any 10.40.7.0/24 in comment=73736820"
        );
        // A denied network stays; an allowed wider one stays and says the
        // new host needs a rule (a tuple holds one source); nothing is
        // added to either the tuple or its line.
        assert_eq!(
            codes,
            [
                "network-unchanged",
                "network-unchanged",
                "trust-rule-needed",
                "trust-rule-needed"
            ]
        );
    }

    #[test]
    fn ipv6_tuples() {
        let text = format!(
            "{HEAD}### tuple ### allow tcp 25 2001:db8:14::25 any ::/0 in\n-A ufw6-user-input -p tcp -d 2001:db8:14::25 --dport 25 -j ACCEPT\n### END RULES ###\nCOMMIT\n"
        );
        let (ch, _) = plan(DUAL, "/etc/ufw/user6.rules", &text);
        assert_eq!(
            ch,
            vec![
                (
                    8,
                    "### tuple ### allow tcp 25 2001:db8:7::131 any ::/0 in".into()
                ),
                (
                    9,
                    "-A ufw6-user-input -p tcp -d 2001:db8:7::131 --dport 25 -j ACCEPT".into()
                )
            ]
        );
    }

    #[test]
    fn admin_files_are_saved_rules() {
        let text = "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 25 -j DNAT --to-destination 192.168.2.1:25\nCOMMIT\n*filter\n:ufw-before-input - [0:0]\n-A ufw-before-input -s 192.168.0.0/16 -p udp --dport 53 -j ACCEPT\nCOMMIT\n";
        let (ch, codes) = plan(V4, "/etc/ufw/before.rules", text);
        assert_eq!(
            ch,
            vec![
                (
                    3,
                    "-A PREROUTING -p tcp --dport 25 -j DNAT --to-destination 10.40.7.131:25"
                        .into()
                ),
                (
                    7,
                    "-A ufw-before-input -s 192.168.0.0/16,10.40.7.131 -p udp --dport 53 -j ACCEPT"
                        .into()
                )
            ]
        );
        assert_eq!(codes, ["trust-network-kept"]);
    }

    #[test]
    fn tuples_ufw_skips_are_skipped_with_a_warning() {
        let text = format!(
            "{HEAD}### tuple ### allow tcp 25 192.168.2.1\n-A ufw-user-input -p tcp -d 192.168.2.1 --dport 25 -j ACCEPT\n### tuple ### allow tcp 993 192.168.2.1 any 0.0.0.0/0\n### END RULES ###\nCOMMIT\n"
        );
        let (ch, codes) = plan(V4, "/etc/ufw/user.rules", &text);
        // The short tuple is left; its line is read as a saved rule; the
        // old six-word form (no direction) is a tuple.
        assert_eq!(
            ch,
            vec![
                (
                    9,
                    "-A ufw-user-input -p tcp -d 10.40.7.131 --dport 25 -j ACCEPT".into()
                ),
                (
                    10,
                    "### tuple ### allow tcp 993 10.40.7.131 any 0.0.0.0/0".into()
                ),
            ]
        );
        assert_eq!(codes, ["ufw-tuple-ignored"]);
    }
}
