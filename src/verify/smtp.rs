//! Families `smtp` and `relay`: the MTA greets with the server's host
//! name, and its relay policy holds on the new address.
//!
//! The relay probes are the open-relay guard, tested for real: from the
//! server's own new address a recipient in an outside domain must be
//! accepted (the new address is in mynetworks), and from an address
//! outside mynetworks it must be refused (`Relay access denied`). Both
//! stop at RCPT: `RSET` and `QUIT` follow, no DATA is ever sent, so
//! nothing is queued or delivered.
//!
//! The probes talk to port 25 of the first new address given (a dual-stack
//! move gives the IPv4 one first); the listeners family covers the others.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use ipnet::IpNet;
use socket2::{Domain, Protocol, Socket, Type};

use super::{Check, Ctx, is_local, postfix};

/// The longest reply line accepted (RFC 5321 allows 512 octets; a
/// generous margin, never unbounded).
const MAX_LINE: usize = 4096;
/// The most lines of one multi-line reply.
const MAX_LINES: usize = 200;

/// One SMTP reply: its code and the text of each line (after the code and
/// the `-`/space separator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The first line as the server sent it (`554 5.7.1 ...`), for
    /// evidence.
    pub fn first(&self) -> String {
        format!(
            "{} {}",
            self.code,
            self.lines.first().map(String::as_str).unwrap_or("")
        )
        .trim_end()
        .to_string()
    }

    /// All lines joined, for searching the text.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Parses one reply line into (code, last?, text).
pub fn parse_line(line: &str) -> Option<(u16, bool, &str)> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(b'2'..=b'5').contains(&code.as_bytes()[0]) {
        return None;
    }
    let code = code.parse().ok()?;
    match line.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

/// An SMTP client session with a transcript for evidence.
pub struct Session {
    reader: BufReader<TcpStream>,
    /// `>>> command` and `<<< reply` lines (first line of each reply).
    pub transcript: Vec<String>,
}

impl Session {
    /// Connects to `to`, from `from` when given (the source address is
    /// bound first, so the server sees that client address), and reads the
    /// greeting.
    pub fn connect(
        to: SocketAddr,
        from: Option<IpAddr>,
        timeout: Duration,
    ) -> std::io::Result<(Session, Reply)> {
        let sock = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
        if let Some(src) = from {
            sock.bind(&SocketAddr::new(src, 0).into())?;
        }
        sock.connect_timeout(&to.into(), timeout)?;
        let stream: TcpStream = sock.into();
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut s = Session {
            reader: BufReader::new(stream),
            transcript: vec![match from {
                Some(f) => format!("connected to {to} from {f}"),
                None => format!("connected to {to}"),
            }],
        };
        let greeting = s.reply()?;
        Ok((s, greeting))
    }

    /// Reads one (possibly multi-line) reply.
    pub fn reply(&mut self) -> std::io::Result<Reply> {
        let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let mut buf = Vec::new();
            let n = (&mut self.reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            if !buf.ends_with(b"\n") {
                return Err(bad(format!("reply line longer than {MAX_LINE} bytes")));
            }
            let line = String::from_utf8_lossy(&buf);
            let (c, last, text) = parse_line(&line)
                .ok_or_else(|| bad(format!("not an SMTP reply: {:?}", line.trim_end())))?;
            if code.is_some_and(|k| k != c) {
                return Err(bad(format!("reply codes differ within one reply: {c}")));
            }
            code = Some(c);
            lines.push(text.to_string());
            if last {
                break;
            }
            if lines.len() >= MAX_LINES {
                return Err(bad(format!("reply longer than {MAX_LINES} lines")));
            }
        }
        let r = Reply {
            code: code.expect("one line read"),
            lines,
        };
        self.transcript.push(format!("<<< {}", r.first()));
        Ok(r)
    }

    /// Sends one command line and reads the reply.
    pub fn command(&mut self, cmd: &str) -> std::io::Result<Reply> {
        self.transcript.push(format!(">>> {cmd}"));
        let stream = self.reader.get_mut();
        stream.write_all(cmd.as_bytes())?;
        stream.write_all(b"\r\n")?;
        stream.flush()?;
        self.reply()
    }

    /// Ends the session politely; errors do not matter any more.
    pub fn quit(mut self) {
        let _ = self.command("QUIT");
    }
}

/// Runs the `smtp` and `relay` families.
pub fn check(ctx: &Ctx) -> Vec<Check> {
    let mut out = Vec::new();
    let Some(&ip) = ctx.new.first() else {
        return out;
    };
    if !has_smtp(ctx) {
        out.push(Check::skip(
            "smtp",
            "greeting",
            "no SMTP service on this host (no smtp service in master.cf, nothing on port 25)",
        ));
        return out;
    }
    if !is_local(ip) {
        for (f, n) in [("smtp", "greeting"), ("relay", "own"), ("relay", "outside")] {
            out.push(Check::skip(
                f,
                n,
                format!("{ip} is not an address of this host"),
            ));
        }
        return out;
    }
    let to = SocketAddr::new(ip, 25);
    out.extend(greeting(ctx, to));
    out.push(relay_own(ctx, to, ip));
    out.push(relay_outside(ctx, to));
    out
}

/// Whether this host runs an SMTP service on port 25.
fn has_smtp(ctx: &Ctx) -> bool {
    let in_master = ctx.host.as_ref().is_some_and(|h| {
        let path = h.zimbra_path("common/conf/master.cf");
        matches!(h.read(&path), Ok(Some(t)) if postfix::inet_services(&path, &t)
            .is_ok_and(|s| s.iter().any(|s| s.port == Some(25) && s.host.is_none())))
    });
    in_master
        || super::listeners::listening()
            .is_ok_and(|l| l.iter().any(|l| l.port == 25 && !l.addr.is_loopback()))
}

/// The name a reply announces: the first word of its first line.
fn announced(r: &Reply) -> &str {
    r.lines
        .first()
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or("")
}

fn greeting(ctx: &Ctx, to: SocketAddr) -> Vec<Check> {
    let Some(name) = ctx.hostname.as_deref() else {
        return vec![Check::skip(
            "smtp",
            "greeting",
            "the server's host name is unknown (no zimbra_server_hostname in localconfig; give --hostname)",
        )];
    };
    let (mut s, banner) = match Session::connect(to, None, ctx.req.timeout) {
        Ok(x) => x,
        Err(e) => {
            return vec![Check::fail(
                "smtp",
                "greeting",
                format!("cannot talk SMTP to {to}: {e}"),
            )];
        }
    };
    let mut out = Vec::new();
    let expected = format!("expected {name} ({})", ctx.hostname_source);
    let b = announced(&banner);
    out.push(
        if banner.code == 220 && b.eq_ignore_ascii_case(name) {
            Check::pass("smtp", "banner", format!("{to} greets as {name}"))
        } else {
            Check::fail(
                "smtp",
                "banner",
                format!("{to} greets as `{b}` with code {}", banner.code),
            )
        }
        .with([format!("<<< {}", banner.first()), expected.clone()]),
    );
    let ehlo = s.command(&format!("EHLO {name}"));
    out.push(match ehlo {
        Ok(r) if r.code == 250 && announced(&r).eq_ignore_ascii_case(name) => {
            Check::pass("smtp", "ehlo", format!("EHLO answers as {name}"))
                .with([format!("<<< {}", r.first())])
        }
        Ok(r) => Check::fail(
            "smtp",
            "ehlo",
            format!("EHLO answers as `{}` with code {}", announced(&r), r.code),
        )
        .with([format!("<<< {}", r.first()), expected]),
        Err(e) => Check::fail("smtp", "ehlo", format!("EHLO failed: {e}")),
    });
    s.quit();
    out
}

/// What happened at RCPT TO.
enum RcptOutcome {
    Reply(Reply),
    /// The session failed before RCPT: what failed.
    Before(String),
}

/// EHLO, MAIL FROM:<>, RCPT TO the probe recipient, then RSET and QUIT.
fn probe_rcpt(ctx: &Ctx, to: SocketAddr, from: IpAddr) -> (RcptOutcome, Vec<String>) {
    let helo = ctx.hostname.as_deref().unwrap_or("localhost");
    let (mut s, greeting) = match Session::connect(to, Some(from), ctx.req.timeout) {
        Ok(x) => x,
        Err(e) => {
            return (
                RcptOutcome::Before(format!("cannot connect to {to} from {from}: {e}")),
                Vec::new(),
            );
        }
    };
    if greeting.code != 220 {
        let t = std::mem::take(&mut s.transcript);
        return (
            RcptOutcome::Before(format!(
                "the server refused the session: {}",
                greeting.first()
            )),
            t,
        );
    }
    let steps = [
        (format!("EHLO {helo}"), "EHLO"),
        ("MAIL FROM:<>".to_string(), "MAIL FROM"),
    ];
    for (cmd, what) in steps {
        match s.command(&cmd) {
            Ok(r) if r.code == 250 => {}
            Ok(r) => {
                let t = std::mem::take(&mut s.transcript);
                s.quit();
                return (
                    RcptOutcome::Before(format!("{what} refused: {}", r.first())),
                    t,
                );
            }
            Err(e) => {
                let t = std::mem::take(&mut s.transcript);
                return (RcptOutcome::Before(format!("{what} failed: {e}")), t);
            }
        }
    }
    let rcpt = s.command(&format!("RCPT TO:<{}>", ctx.req.relay_recipient));
    let _ = s.command("RSET");
    let t = std::mem::take(&mut s.transcript);
    s.quit();
    match rcpt {
        Ok(r) => (RcptOutcome::Reply(r), t),
        Err(e) => (RcptOutcome::Before(format!("RCPT TO failed: {e}")), t),
    }
}

fn relay_own(ctx: &Ctx, to: SocketAddr, from: IpAddr) -> Check {
    let (outcome, transcript) = probe_rcpt(ctx, to, from);
    match outcome {
        RcptOutcome::Reply(r) if r.code == 250 => Check::pass(
            "relay",
            "own",
            format!("relaying from {from} (the server itself) is accepted"),
        ),
        RcptOutcome::Reply(r) => Check::fail(
            "relay",
            "own",
            format!(
                "relaying from the server's own address {from} is refused ({}); is {from} in mynetworks?",
                r.first()
            ),
        ),
        RcptOutcome::Before(why) => Check::fail("relay", "own", why),
    }
    .with(transcript)
}

fn relay_outside(ctx: &Ctx, to: SocketAddr) -> Check {
    let Some(src) = ctx.req.outside_source else {
        return Check::skip(
            "relay",
            "outside",
            "no outside source given (--outside-source ADDR: an address of this host outside mynetworks)",
        );
    };
    if !is_local(src) {
        return Check::skip(
            "relay",
            "outside",
            format!(
                "{src} is not an address of this host; run verify where it is, or give one this host owns"
            ),
        );
    }
    if let Some(net) = mynetworks_holding(ctx, src) {
        return Check::fail(
            "relay",
            "outside",
            format!(
                "the outside source {src} is inside mynetworks ({net}); give an address outside it"
            ),
        );
    }
    let (outcome, transcript) = probe_rcpt(ctx, to, src);
    match outcome {
        RcptOutcome::Reply(r) if r.code == 250 => Check::fail(
            "relay",
            "outside",
            format!("OPEN RELAY: a recipient at an outside domain is accepted from {src}, outside mynetworks"),
        ),
        RcptOutcome::Reply(r) if r.text().contains("Relay access denied") => Check::pass(
            "relay",
            "outside",
            format!("relaying from {src} (outside mynetworks) is refused: {}", r.first()),
        ),
        RcptOutcome::Reply(r) => Check::pass(
            "relay",
            "outside",
            format!(
                "relaying from {src} (outside mynetworks) is refused, though not as `Relay access denied`: {}",
                r.first()
            ),
        ),
        RcptOutcome::Before(why) => Check::fail(
            "relay",
            "outside",
            format!("the probe from {src} could not reach RCPT: {why}"),
        ),
    }
    .with(transcript)
}

/// The mynetworks element of main.cf that contains `ip`, if any.
fn mynetworks_holding(ctx: &Ctx, ip: IpAddr) -> Option<String> {
    let host = ctx.host.as_ref()?;
    let path = host.zimbra_path("common/conf/main.cf");
    let text = host.read(&path).ok()??;
    let m = postfix::MainCf::parse(&path, &text).ok()?;
    let value = m.get("mynetworks")?;
    super::derived::elements(&value)
        .into_iter()
        .find(|(_, net)| net.is_some_and(|n: IpNet| n.contains(&ip)))
        .map(|(e, _)| e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn reply_lines() {
        type Case = (&'static str, Option<(u16, bool, &'static str)>);
        let cases: &[Case] = &[
            (
                "220 mail.corp.example ESMTP Postfix\r\n",
                Some((220, true, "mail.corp.example ESMTP Postfix")),
            ),
            (
                "250-mail.corp.example\r\n",
                Some((250, false, "mail.corp.example")),
            ),
            ("250 OK\n", Some((250, true, "OK"))),
            ("250\r\n", Some((250, true, ""))),
            (
                "554 5.7.1 <x@example.com>: Relay access denied\r\n",
                Some((554, true, "5.7.1 <x@example.com>: Relay access denied")),
            ),
            ("25 short\r\n", None),
            ("abc def\r\n", None),
            ("250x\r\n", None),
            ("650 six hundred\r\n", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line), *want, "{line:?}");
        }
    }

    /// A one-shot SMTP server on loopback that sends `script` lines: each
    /// entry is what to send after reading one command (the first is the
    /// greeting, sent at once).
    fn server(script: Vec<&'static str>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut r = BufReader::new(c.try_clone().unwrap());
            for (i, reply) in script.iter().enumerate() {
                if i > 0 {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                }
                c.write_all(reply.as_bytes()).unwrap();
            }
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
        });
        addr
    }

    #[test]
    fn session_reads_multiline_replies_and_keeps_a_transcript() {
        let addr = server(vec![
            "220 mail.corp.example ESMTP\r\n",
            "250-mail.corp.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
            "221 Bye\r\n",
        ]);
        let (mut s, g) = Session::connect(
            addr,
            Some("127.0.0.1".parse().unwrap()),
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(g.code, 220);
        let r = s.command("EHLO probe").unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, ["mail.corp.example", "PIPELINING", "8BITMIME"]);
        assert_eq!(announced(&r), "mail.corp.example");
        assert_eq!(
            s.transcript,
            [
                format!("connected to {addr} from 127.0.0.1"),
                "<<< 220 mail.corp.example ESMTP".into(),
                ">>> EHLO probe".into(),
                "<<< 250 mail.corp.example".into(),
            ]
        );
        s.quit();
    }

    #[test]
    fn session_refuses_malformed_replies() {
        let cases = [
            "250-a\r\n251 b\r\n",
            "hello there\r\n",
            "250-never ends\r\n",
        ];
        for bad in cases {
            let addr = server(vec![bad]);
            let err = Session::connect(addr, None, Duration::from_millis(500))
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(
                matches!(
                    err.kind(),
                    std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                ),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn overlong_line_is_refused_not_buffered() {
        let long: &'static str =
            Box::leak(format!("250 {}\r\n", "x".repeat(MAX_LINE * 2)).into_boxed_str());
        let addr = server(vec![long]);
        let err = Session::connect(addr, None, Duration::from_secs(2))
            .err()
            .unwrap();
        assert!(err.to_string().contains("longer than"), "{err}");
    }

    #[test]
    fn closed_port_is_a_connect_error() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        assert!(Session::connect(addr, None, Duration::from_secs(1)).is_err());
    }
}
