//! Reading Postfix's main.cf and master.cf the way Postfix reads them, for
//! the checks that depend on them (which SMTP ports should answer, what
//! mynetworks holds). zmconfigd writes both files on a Zimbra host
//! (zimbra-config-model.md §3.3); verify only reads them.
//!
//! Both files share Postfix's line rules: a logical line starts with
//! non-whitespace, a line that starts with whitespace continues it, and
//! empty lines and lines whose first non-whitespace character is `#` are
//! ignored (postconf(5), master(5)). `#` elsewhere is not a comment.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// A logical line: 1-based number of its first physical line, and the
/// text with continuations joined by one space.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t'])
            && let Some((_, last)) = out.last_mut()
        {
            last.push(' ');
            last.push_str(trimmed);
            continue;
        }
        out.push((i + 1, trimmed.to_string()));
    }
    out
}

/// main.cf parameters in file order (a later assignment wins, as in
/// Postfix).
#[derive(Debug, Clone, Default)]
pub struct MainCf {
    params: Vec<(String, String, usize)>,
}

impl MainCf {
    /// Parses main.cf. `path` is the host path, for errors.
    pub fn parse(path: &str, text: &str) -> Result<MainCf> {
        let mut params = Vec::new();
        for (line, l) in logical_lines(text) {
            let Some((name, value)) = l.split_once('=') else {
                return Err(Error::parse(
                    path,
                    line,
                    format!("`{l}` is not a `name = value` line"),
                ));
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(Error::parse(
                    path,
                    line,
                    format!("`{name}` is not a parameter name"),
                ));
            }
            params.push((name.to_string(), value.trim().to_string(), line));
        }
        Ok(MainCf { params })
    }

    /// The raw value of `name` as written (the last assignment).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.as_str())
    }

    /// The line of the assignment that counts.
    pub fn line(&self, name: &str) -> Option<usize> {
        self.params
            .iter()
            .rev()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, l)| *l)
    }

    /// The value of `name` with `$name`, `${name}` and `$(name)` expanded
    /// from this file. References to parameters the file does not set
    /// (Postfix's compiled-in defaults) stay as written.
    pub fn get(&self, name: &str) -> Option<String> {
        let map: HashMap<&str, &str> = self
            .params
            .iter()
            .map(|(n, v, _)| (n.as_str(), v.as_str()))
            .collect();
        let v = map.get(name)?;
        Some(expand(v, &map, &mut vec![name]))
    }
}

fn expand<'a>(v: &str, map: &HashMap<&'a str, &'a str>, stack: &mut Vec<&'a str>) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, used) = match after.chars().next() {
            Some(open @ ('{' | '(')) => {
                let close = if open == '{' { '}' } else { ')' };
                match after.find(close) {
                    Some(end) => (&after[1..end], end + 1),
                    None => ("", 0),
                }
            }
            _ => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match map.get_key_value(name) {
            Some((k, inner)) if !name.is_empty() && !stack.contains(k) => {
                stack.push(k);
                out.push_str(&expand(inner, map, stack));
                stack.pop();
            }
            _ => out.push_str(&rest[i..i + 1 + used]),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    out
}

/// A public (`inet`) service of master.cf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetService {
    /// The service field as written (`smtp`, `127.0.0.1:10025`,
    /// `[::1]:10025`, `465`).
    pub service: String,
    /// The host part (`127.0.0.1`, `::1`), when the service names one.
    pub host: Option<String>,
    /// The TCP port, when the name is numeric or a well-known one.
    pub port: Option<u16>,
    /// The command (`smtpd`, `postscreen`).
    pub command: String,
    pub line: usize,
}

/// Well-known service names Postfix's master.cf uses for mail ports
/// (IANA, as in /etc/services).
const SERVICE_PORTS: &[(&str, u16)] = &[
    ("smtp", 25),
    ("smtps", 465),
    ("submissions", 465),
    ("submission", 587),
];

/// The `inet` services of master.cf.
pub fn inet_services(path: &str, text: &str) -> Result<Vec<InetService>> {
    let mut out = Vec::new();
    for (line, l) in logical_lines(text) {
        let fields: Vec<&str> = l.split_whitespace().collect();
        if fields.len() < 8 {
            return Err(Error::parse(
                path,
                line,
                format!(
                    "a master.cf service needs 8 fields (service type private unpriv chroot wakeup maxproc command), found {}",
                    fields.len()
                ),
            ));
        }
        if fields[1] != "inet" {
            continue;
        }
        let service = fields[0];
        let (host, port_name) = split_host(service);
        let port = port_name.parse::<u16>().ok().or_else(|| {
            SERVICE_PORTS
                .iter()
                .find(|(n, _)| *n == port_name)
                .map(|(_, p)| *p)
        });
        out.push(InetService {
            service: service.to_string(),
            host: host.map(str::to_string),
            port,
            command: fields[7].to_string(),
            line,
        });
    }
    Ok(out)
}

/// Splits `host:port`, `[v6]:port` or a bare port/name.
fn split_host(s: &str) -> (Option<&str>, &str) {
    if let Some(rest) = s.strip_prefix('[')
        && let Some((h, p)) = rest.split_once("]:")
    {
        return (Some(h), p);
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (Some(h), p),
        _ => (None, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN_CF: &str = "\
# zmconfigd writes this file
myhostname = mail.corp.example
mynetworks = 127.0.0.0/8 [::1]/128
   172.20.14.0/24
  # a comment inside a continuation does not end it
   10.0.0.5
relayhost =
inet_interfaces = all
smtpd_banner = $myhostname ESMTP ${mail_name} $(myhostname)
alias = $mynetworks
loop_a = $loop_b
loop_b = x $loop_a
mynetworks_style = host\r
mynetworks = 127.0.0.0/8 10.40.7.0/24
";

    #[test]
    fn main_cf_continuations_comments_and_last_wins() {
        let m = MainCf::parse("/opt/zimbra/common/conf/main.cf", MAIN_CF).unwrap();
        assert_eq!(m.raw("mynetworks"), Some("127.0.0.0/8 10.40.7.0/24"));
        assert_eq!(m.line("mynetworks"), Some(14));
        assert_eq!(m.raw("relayhost"), Some(""));
        assert_eq!(m.raw("mynetworks_style"), Some("host"));
        assert_eq!(m.raw("nothing"), None);
        // The first assignment, with its continuation lines joined.
        assert_eq!(
            m.params[1].1,
            "127.0.0.0/8 [::1]/128 172.20.14.0/24 10.0.0.5"
        );
        assert_eq!(m.params[1].2, 3);
    }

    #[test]
    fn main_cf_expansion() {
        let m = MainCf::parse("main.cf", MAIN_CF).unwrap();
        assert_eq!(
            m.get("smtpd_banner").unwrap(),
            "mail.corp.example ESMTP ${mail_name} mail.corp.example"
        );
        assert_eq!(m.get("alias").unwrap(), "127.0.0.0/8 10.40.7.0/24");
        // A cycle is left as written, never an endless loop.
        assert_eq!(m.get("loop_a").unwrap(), "x $loop_a");
        assert_eq!(m.get("missing"), None);
    }

    #[test]
    fn main_cf_errors_name_the_line() {
        let e = MainCf::parse("/x/main.cf", "a = 1\nthis is wrong\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/x/main.cf:2: `this is wrong` is not a `name = value` line"
        );
        let e = MainCf::parse("/x/main.cf", "\n\nbad name = 1\n").unwrap_err();
        assert!(e.to_string().starts_with("/x/main.cf:3: "), "{e}");
        // A continuation before any parameter is a line of its own.
        assert!(MainCf::parse("m", "  = x\n").is_err());
    }

    const MASTER_CF: &str = "\
# service type  private unpriv  chroot  wakeup  maxproc command + args
smtp      inet  n       -       n       -       1       postscreen
smtpd     pass  -       -       n       -       -       smtpd
465    inet  n       -       n       -       -       smtpd
  -o smtpd_tls_wrappermode=yes
submission inet n       -       n       -       -       smtpd
#628       inet  n       -       n       -       -       qmqpd
[127.0.0.1]:10025 inet n  -       n       -       -       smtpd
127.0.0.1:10030 inet n  -       n       -       -       smtpd
[::1]:10026 inet n  -       n       -       -       smtpd
10.40.7.131:2525 inet n  -       n       -       -       smtpd
lmtp      unix  -       -       n       -       -       lmtp
odd inet n - n - - smtpd
";

    #[test]
    fn master_cf_inet_services() {
        let s = inet_services("/opt/zimbra/common/conf/master.cf", MASTER_CF).unwrap();
        let got: Vec<_> = s
            .iter()
            .map(|s| {
                (
                    s.service.as_str(),
                    s.host.as_deref(),
                    s.port,
                    s.command.as_str(),
                    s.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("smtp", None, Some(25), "postscreen", 2),
                ("465", None, Some(465), "smtpd", 4),
                ("submission", None, Some(587), "smtpd", 6),
                (
                    "[127.0.0.1]:10025",
                    Some("127.0.0.1"),
                    Some(10025),
                    "smtpd",
                    8
                ),
                (
                    "127.0.0.1:10030",
                    Some("127.0.0.1"),
                    Some(10030),
                    "smtpd",
                    9
                ),
                ("[::1]:10026", Some("::1"), Some(10026), "smtpd", 10),
                (
                    "10.40.7.131:2525",
                    Some("10.40.7.131"),
                    Some(2525),
                    "smtpd",
                    11
                ),
                ("odd", None, None, "smtpd", 13),
            ]
        );
    }

    #[test]
    fn master_cf_short_line_is_an_error() {
        let e = inet_services("/m/master.cf", "smtp inet n - n - -\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/m/master.cf:1: a master.cf service needs 8 fields"),
            "{e}"
        );
    }
}
