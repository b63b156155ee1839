//! From a plan to steps: every file the plan changes becomes one step
//! (all its changes in one new version of the file; an LDIF export is a
//! file), each attribute of a live directory one step (one modify), each
//! DNS RRset held elsewhere one step (one RFC 2136 update), each service
//! action one more (added by [`super::prepare`]). A plan that is not
//! self-consistent is refused here; [`super::drift`] then checks it
//! against the host.

use std::collections::BTreeSet;
use std::path::Path;

use super::step::{AttrEdit, FileRef, KeyEdit, LineEdit, LiveServer, Step};
use crate::error::{Error, Result};
use crate::model::{Change, Target, Value};
use crate::plan::Plan;

/// The write steps of a plan: files in the order the plan lists their
/// first change, then the directory (the `ldif` export as one file step,
/// else one step per attribute of the `live` directory), then DNS RRsets
/// (needing `dns_config`). Refuses a plan that is not self-consistent.
pub fn write_steps(
    plan: &Plan,
    ldif: Option<&Path>,
    live: Option<&LiveServer>,
    dns_config: Option<&Path>,
) -> Result<Vec<Step>> {
    let mut gathered = Gathered::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for c in &plan.changes {
        if !seen.insert(c.target.to_string().to_ascii_lowercase()) {
            return Err(invalid(format!(
                "change {} repeats the target {}",
                c.id, c.target
            )));
        }
        match &c.target {
            Target::Line { file, line } => gathered.line(c, file, *line)?,
            Target::LocalconfigKey { file, key } => gathered.key(c, file, key)?,
            Target::Ldap { dn, attribute } => gathered.attribute(c, dn, attribute),
            Target::Dns { .. } => gathered.dns.push(c.clone()),
        }
    }
    let dns = dns_steps(gathered.dns, dns_config)?;
    let mut steps = gathered.files;
    steps.extend(directory_steps(
        gathered.attrs,
        gathered.attr_ids,
        ldif,
        live,
    )?);
    steps.extend(dns);
    Ok(steps)
}

/// A plan that cannot be carried out as it says.
fn invalid(msg: String) -> Error {
    Error::other(
        msg,
        "the plan is not one zmreip wrote; make a new one with `zmreip plan --out FILE`",
    )
}

/// The changes of a plan sorted into what becomes steps.
#[derive(Default)]
struct Gathered {
    /// One step per file, in the order of its first change.
    files: Vec<Step>,
    /// Directory attributes and their change ids.
    attrs: Vec<AttrEdit>,
    attr_ids: Vec<String>,
    /// RRsets held elsewhere.
    dns: Vec<Change>,
}

impl Gathered {
    /// A change of line `line` of `file`.
    fn line(&mut self, c: &Change, file: &str, line: usize) -> Result<()> {
        // `after` is one line (possibly with lines it appends), or an
        // empty list when the line goes.
        let (before, after, remove) = match (&c.before, &c.after) {
            (Value::One(b), Value::One(a)) => (b, a.clone(), false),
            (Value::One(b), Value::Many(a)) if a.is_empty() => (b, String::new(), true),
            _ => {
                return Err(invalid(format!(
                    "change {} on {file}:{line} must have one line before and one line (or none) after",
                    c.id
                )));
            }
        };
        // `before` is one line; only a surface that appends lines may have
        // several in `after`: set_lines writes it verbatim in place of
        // that line, and later edits address original line numbers.
        let appends = c.surface.appends_lines();
        if line == 0 || before.contains('\n') || (after.contains('\n') && !appends) {
            return Err(invalid(format!(
                "change {} on {file}:{line} is not one line",
                c.id
            )));
        }
        let edit = LineEdit {
            line,
            before: before.clone(),
            after,
            remove,
        };
        match find_step(&mut self.files, file) {
            Some(Step::Lines { changes, edits, .. }) => {
                changes.push(c.id.clone());
                edits.push(edit);
            }
            Some(_) => return Err(mixed(file)),
            None => self.files.push(Step::Lines {
                file: FileRef::Host(file.to_string()),
                changes: vec![c.id.clone()],
                edits: vec![edit],
            }),
        }
        Ok(())
    }

    /// A change of localconfig key `key` of `file`.
    fn key(&mut self, c: &Change, file: &str, key: &str) -> Result<()> {
        let (Value::One(before), Value::One(after)) = (&c.before, &c.after) else {
            return Err(invalid(format!(
                "change {} of key {key} must have one value before and after",
                c.id
            )));
        };
        let edit = KeyEdit {
            key: key.to_string(),
            before: before.clone(),
            after: after.clone(),
        };
        match find_step(&mut self.files, file) {
            Some(Step::Localconfig { changes, edits, .. }) => {
                changes.push(c.id.clone());
                edits.push(edit);
            }
            Some(_) => return Err(mixed(file)),
            None => self.files.push(Step::Localconfig {
                file: FileRef::Host(file.to_string()),
                changes: vec![c.id.clone()],
                edits: vec![edit],
            }),
        }
        Ok(())
    }

    /// A change of a directory attribute.
    fn attribute(&mut self, c: &Change, dn: &str, attribute: &str) {
        self.attrs.push(AttrEdit {
            dn: dn.to_string(),
            attribute: attribute.to_string(),
            before: values(&c.before),
            after: values(&c.after),
        });
        self.attr_ids.push(c.id.clone());
    }
}

/// The directory's steps: one per attribute of the `live` directory, or
/// the `ldif` export as one file step when it is given.
fn directory_steps(
    attrs: Vec<AttrEdit>,
    ids: Vec<String>,
    ldif: Option<&Path>,
    live: Option<&LiveServer>,
) -> Result<Vec<Step>> {
    if attrs.is_empty() {
        return Ok(Vec::new());
    }
    if ldif.is_none()
        && let Some(server) = live
    {
        return Ok(attrs
            .into_iter()
            .zip(ids)
            .map(|(edit, change)| Step::Directory {
                server: server.clone(),
                change,
                edit,
            })
            .collect());
    }
    let Some(path) = ldif else {
        return Err(Error::usage(
            format!(
                "the plan changes {} directory attribute(s) ({}) and no directory to write was given",
                attrs.len(),
                ids.join(", ")
            ),
            "pass --ldif FILE with the LDIF export the plan was made from, or reach the live directory (localconfig's ldap_url, or --ldap-url)",
        ));
    };
    let abs = std::path::absolute(path).map_err(|e| Error::io("read", path, e))?;
    Ok(vec![Step::Ldif {
        file: FileRef::Local(abs),
        changes: ids,
        edits: attrs,
    }])
}

/// One step per DNS change; they need the `--dns-config` that holds the
/// servers and keys.
fn dns_steps(changes: Vec<Change>, config: Option<&Path>) -> Result<Vec<Step>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let Some(config) = config else {
        let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        return Err(Error::usage(
            format!(
                "the plan updates {} DNS record set(s) held elsewhere ({}) and no --dns-config was given",
                changes.len(),
                ids.join(", ")
            ),
            "pass the --dns-config FILE the plan was made with",
        ));
    };
    let config = std::path::absolute(config).map_err(|e| Error::io("read", config, e))?;
    Ok(changes
        .into_iter()
        .map(|change| Step::Dns {
            config: config.clone(),
            change,
        })
        .collect())
}

fn mixed(file: &str) -> Error {
    Error::other(
        format!("the plan edits {file} both as lines and as localconfig keys"),
        "make a new plan without listing localconfig.xml in --include",
    )
}

fn find_step<'a>(steps: &'a mut [Step], host_path: &str) -> Option<&'a mut Step> {
    steps
        .iter_mut()
        .find(|s| s.file() == Some(&FileRef::Host(host_path.to_string())))
}

fn values(v: &Value) -> Vec<String> {
    match v {
        Value::One(s) => vec![s.clone()],
        Value::Many(vs) => vs.clone(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::surface::Surface;

    pub(crate) fn plan_with(changes: Vec<Change>) -> Plan {
        Plan {
            schema: crate::plan::SCHEMA.into(),
            from: vec![],
            to: vec![],
            changes,
            derived: vec![],
            actions: vec![],
            warnings: vec![],
            handoffs: vec![],
            bind: None,
            checksum: None,
        }
    }

    pub(crate) fn change(id: &str, target: Target, before: Value, after: Value) -> Change {
        Change {
            id: id.into(),
            surface: Surface::Hosts,
            target,
            before,
            after,
            reason: String::new(),
        }
    }

    pub(crate) fn line(file: &str, line: usize) -> Target {
        Target::Line {
            file: file.into(),
            line,
        }
    }

    pub(crate) fn one(s: &str) -> Value {
        Value::One(s.into())
    }

    #[test]
    fn changes_group_per_file_in_plan_order() {
        let plan = plan_with(vec![
            change("c1", line("/etc/hosts", 2), one("a"), one("b")),
            change("c2", line("/etc/dnsmasq.conf", 1), one("a"), one("b")),
            change("c3", line("/etc/hosts", 5), one("a"), one("b")),
            change(
                "c4",
                Target::Ldap {
                    dn: "cn=config,cn=zimbra".into(),
                    attribute: "zimbraMtaMyNetworks".into(),
                },
                Value::Many(vec!["x".into()]),
                Value::Many(vec!["y".into()]),
            ),
        ]);
        let steps = write_steps(&plan, Some(Path::new("/tmp/z.ldif")), None, None).unwrap();
        let shown: Vec<String> = steps.iter().map(Step::describe).collect();
        assert_eq!(
            shown,
            [
                "write /etc/hosts (c1, c3)",
                "write /etc/dnsmasq.conf (c2)",
                "write /tmp/z.ldif (c4)"
            ]
        );
        let e = write_steps(&plan, None, None, None).unwrap_err();
        // With a live directory: one step per attribute.
        let live = LiveServer {
            urls: vec!["ldap://127.0.0.1:389".into()],
            bind_dn: "uid=zimbra,cn=admins,cn=zimbra".into(),
            password_file: None,
        };
        let steps = write_steps(&plan, None, Some(&live), None).unwrap();
        assert_eq!(
            steps.last().unwrap().describe(),
            "directory: cn=config,cn=zimbra zimbraMtaMyNetworks (c4)"
        );
        assert!(e.to_string().contains("c4") && e.exit_code() == 2, "{e}");
    }

    #[test]
    fn a_zone_file_change_may_append_lines() {
        let mut c = change(
            "c1",
            line("/etc/bind/db.10", 9),
            one("@ IN NS ns1."),
            one("@ IN NS ns1.\n131.7 IN PTR mail.corp.example."),
        );
        c.surface = Surface::Zonefile;
        assert!(write_steps(&plan_with(vec![c.clone()]), None, None, None).is_ok());
        // The same change from a surface that never appends is inconsistent.
        c.surface = Surface::Hosts;
        assert!(write_steps(&plan_with(vec![c]), None, None, None).is_err());
    }

    #[test]
    fn inconsistent_plans_are_refused() {
        let bad = [
            vec![
                change("c1", line("/etc/hosts", 2), one("a"), one("b")),
                change("c2", line("/etc/hosts", 2), one("a"), one("c")),
            ],
            vec![change(
                "c1",
                line("/etc/hosts", 2),
                Value::Many(vec![]),
                one("b"),
            )],
            vec![change("c1", line("/etc/hosts", 0), one("a"), one("b"))],
            vec![change("c1", line("/etc/hosts", 1), one("a"), one("b\nc"))],
            vec![
                change(
                    "c1",
                    line("/opt/zimbra/conf/localconfig.xml", 3),
                    one("a"),
                    one("b"),
                ),
                change(
                    "c2",
                    Target::LocalconfigKey {
                        file: "/opt/zimbra/conf/localconfig.xml".into(),
                        key: "k".into(),
                    },
                    one("a"),
                    one("b"),
                ),
            ],
        ];
        for changes in bad {
            assert!(
                write_steps(&plan_with(changes.clone()), None, None, None).is_err(),
                "{changes:?}"
            );
        }
    }
}
