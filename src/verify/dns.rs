//! A minimal DNS client for one question: the A or AAAA records of a name
//! at one server, over UDP (RFC 1035 §4). Enough to ask the split-DNS
//! server what it answers for the host name; recursion, caching and
//! DNSSEC are not needed for that.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

/// Record type A.
pub const A: u16 = 1;
/// Record type AAAA.
pub const AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// RCODE: 0 no error, 3 NXDOMAIN, ...
    pub rcode: u8,
    /// Whether the server says it is authoritative (AA).
    pub authoritative: bool,
    /// The addresses of the answer section of the asked type (CNAMEs are
    /// followed by the server; their targets' records are included).
    pub addrs: Vec<IpAddr>,
}

/// The name of an RCODE, for evidence.
pub fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "other error",
    }
}

/// Encodes a query for `name` of type `qtype` with recursion desired.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return Err(format!("`{name}` is not a DNS name"));
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1, AN=NS=AR=0
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!(
                "`{name}` is not a DNS name (empty or overlong label)"
            ));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// Decodes a response to query `id` of type `qtype`.
pub fn decode_response(id: u16, qtype: u16, msg: &[u8]) -> Result<Answer, String> {
    let short = || "truncated DNS response".to_string();
    let u16_at = |i: usize| -> Result<u16, String> {
        msg.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(short)
    };
    if u16_at(0)? != id {
        return Err("response to another query (ID differs)".into());
    }
    let flags = u16_at(2)?;
    if flags & 0x8000 == 0 {
        return Err("not a response (QR not set)".into());
    }
    if flags & 0x0200 != 0 {
        return Err("response truncated (TC set); the name has too many records for UDP".into());
    }
    let qd = u16_at(4)?;
    let an = u16_at(6)?;
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(msg, at)? + 4;
    }
    let mut addrs = Vec::new();
    for _ in 0..an {
        at = skip_name(msg, at)?;
        let rtype = u16_at(at)?;
        let class = u16_at(at + 2)?;
        let len = u16_at(at + 8)? as usize;
        let data = msg.get(at + 10..at + 10 + len).ok_or_else(short)?;
        at += 10 + len;
        if class != CLASS_IN || rtype != qtype {
            continue;
        }
        match (rtype, data.len()) {
            (A, 4) => addrs.push(IpAddr::V4(Ipv4Addr::new(
                data[0], data[1], data[2], data[3],
            ))),
            (AAAA, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(data);
                addrs.push(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {
                return Err(format!(
                    "record of type {rtype} has {} bytes of data",
                    data.len()
                ));
            }
        }
    }
    Ok(Answer {
        rcode: (flags & 0x000f) as u8,
        authoritative: flags & 0x0400 != 0,
        addrs,
    })
}

/// Returns the offset after the (possibly compressed) name at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, String> {
    loop {
        let len = *msg.get(at).ok_or("truncated DNS response")?;
        match len {
            0 => return Ok(at + 1),
            // A compression pointer ends the name in place.
            l if l & 0xc0 == 0xc0 => {
                msg.get(at + 1).ok_or("truncated DNS response")?;
                return Ok(at + 2);
            }
            l if l & 0xc0 != 0 => return Err("bad label in DNS response".into()),
            l => at += 1 + l as usize,
        }
    }
}

/// Asks `server` for the `qtype` records of `name`: two tries, each
/// waiting up to `timeout`. Responses to other queries are ignored.
pub fn query(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> Result<Answer, String> {
    let id = query_id();
    let q = encode_query(id, name, qtype)?;
    let bind: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = UdpSocket::bind(bind).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    sock.connect(server)
        .map_err(|e| format!("cannot reach {server}: {e}"))?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut last = String::new();
    for _ in 0..2 {
        sock.send(&q)
            .map_err(|e| format!("cannot send to {server}: {e}"))?;
        let deadline = std::time::Instant::now() + timeout;
        let mut buf = [0u8; 1500];
        while std::time::Instant::now() < deadline {
            match sock.recv(&mut buf) {
                Ok(n) => match decode_response(id, qtype, &buf[..n]) {
                    Ok(a) => return Ok(a),
                    Err(e) if e.contains("ID differs") => continue,
                    Err(e) => return Err(e),
                },
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    last = format!("no answer from {server} within {timeout:?}");
                    break;
                }
                // ICMP port unreachable surfaces as a refused connection.
                Err(e) => return Err(format!("{server} does not answer: {e}")),
            }
        }
    }
    Err(last)
}

/// A query ID that differs between runs and calls (not a security
/// measure: the server is the host's own).
fn query_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (t as u16) ^ (std::process::id() as u16) ^ NEXT.fetch_add(0x9e37, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_wire_format() {
        let q = encode_query(0xbeef, "mail.corp.example.", A).unwrap();
        let mut want = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x04mail\x04corp\x07example\x00\x00\x01\x00\x01");
        assert_eq!(q, want);
        assert_eq!(
            &encode_query(1, "x", AAAA).unwrap()[12..],
            b"\x01x\x00\x00\x1c\x00\x01"
        );
        for bad in ["", ".", "a..b", &"a".repeat(64), &"a.".repeat(130)] {
            assert!(encode_query(1, bad, A).is_err(), "{bad}");
        }
    }

    /// A response: the query echoed, then answers (name as a pointer to
    /// the question, offset 12).
    fn response(id: u16, flags: u16, answers: &[(u16, &[u8])]) -> Vec<u8> {
        let q = encode_query(id, "mail.corp.example", A).unwrap();
        let mut m = q.clone();
        m[2..4].copy_from_slice(&flags.to_be_bytes());
        m[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for (t, data) in answers {
            m.extend_from_slice(&[0xc0, 12]);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 1, 44]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }

    #[test]
    fn decodes_addresses_and_skips_other_types() {
        let cname: &[u8] = b"\x03www\xc0\x11";
        let m = response(
            7,
            0x8580,
            &[(5, cname), (A, &[10, 40, 7, 131]), (A, &[10, 40, 7, 13])],
        );
        let a = decode_response(7, A, &m).unwrap();
        assert_eq!(a.rcode, 0);
        assert!(a.authoritative);
        assert_eq!(
            a.addrs,
            [
                "10.40.7.131".parse::<IpAddr>().unwrap(),
                "10.40.7.13".parse().unwrap()
            ]
        );
        let v6: &[u8] = &[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
        ];
        let m = response(8, 0x8180, &[(AAAA, v6)]);
        let a = decode_response(8, AAAA, &m).unwrap();
        assert!(!a.authoritative);
        assert_eq!(a.addrs, ["2001:db8::25".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn nxdomain_and_errors() {
        let m = response(9, 0x8183, &[]);
        let a = decode_response(9, A, &m).unwrap();
        assert_eq!(
            (a.rcode, rcode_name(a.rcode), a.addrs.len()),
            (3, "NXDOMAIN", 0)
        );
        assert!(
            decode_response(10, A, &m)
                .unwrap_err()
                .contains("ID differs")
        );
        assert!(
            decode_response(9, A, &encode_query(9, "x", A).unwrap())
                .unwrap_err()
                .contains("QR")
        );
        assert!(
            decode_response(9, A, &response(9, 0x8380, &[]))
                .unwrap_err()
                .contains("TC")
        );
        let bad_len = response(9, 0x8180, &[(A, &[1, 2, 3])]);
        assert!(decode_response(9, A, &bad_len).is_err());
    }

    #[test]
    fn truncated_and_hostile_input_never_panics() {
        let m = response(11, 0x8180, &[(A, &[10, 0, 0, 1])]);
        for n in 0..m.len() {
            // Every prefix is an error, never a panic or a wrong answer.
            assert!(decode_response(11, A, &m[..n]).is_err(), "prefix {n}");
        }
        let mut bad_label = m.clone();
        bad_label[12] = 0x80;
        assert!(decode_response(11, A, &bad_label).is_err());
        let mut huge_count = m.clone();
        huge_count[6] = 0xff;
        assert!(decode_response(11, A, &huge_count).is_err());
    }

    #[test]
    fn query_against_a_loopback_responder() {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = srv.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, peer) = srv.recv_from(&mut buf).unwrap();
            let q = &buf[..n];
            // First a stray response with another ID, then the real one.
            let mut stray = q.to_vec();
            stray[0] ^= 0xff;
            stray[2] = 0x81;
            srv.send_to(&stray, peer).unwrap();
            let mut r = q.to_vec();
            r[2] = 0x85;
            r[3] = 0x80;
            r[7] = 1;
            r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 78, 5, 131]);
            srv.send_to(&r, peer).unwrap();
        });
        let a = query(addr, "mail.lab.example", A, Duration::from_secs(2)).unwrap();
        assert_eq!(a.addrs, ["10.78.5.131".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn silent_server_times_out() {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = srv.local_addr().unwrap();
        let e = query(addr, "mail.lab.example", A, Duration::from_millis(100)).unwrap_err();
        assert!(e.contains("no answer"), "{e}");
        drop(srv);
    }
}
