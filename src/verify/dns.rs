//! One DNS question to one server: the A or AAAA records of a name, as
//! the split-DNS server answers them. No hosts file, no search list, no
//! cache: the server's own answer is the evidence.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The addresses of the asked type (CNAMEs followed by the server).
    Addrs(Vec<IpAddr>),
    /// NXDOMAIN: the server does not know the name.
    NoSuchName,
    /// The name exists but has no record of the asked type.
    NoRecords,
}

/// Asks `server` (UDP, then TCP when truncated) for the A records of
/// `name`, or the AAAA records when `v6`; each try waits up to `timeout`,
/// two tries.
pub fn query(
    server: SocketAddr,
    name: &str,
    v6: bool,
    timeout: Duration,
) -> Result<Answer, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the DNS client: {e}"))?;
    rt.block_on(async {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
        let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
        let mut b = Resolver::builder_with_config(cfg, TokioRuntimeProvider::default());
        let o = b.options_mut();
        o.timeout = timeout;
        o.attempts = 2;
        o.cache_size = 0;
        o.use_hosts_file = ResolveHosts::Never;
        let resolver = b
            .build()
            .map_err(|e| format!("cannot start the DNS client: {e}"))?;
        // Fully qualified, so no search domain is tried.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let rtype = if v6 { RecordType::AAAA } else { RecordType::A };
        match resolver.lookup(fqdn.as_str(), rtype).await {
            Ok(l) => Ok(Answer::Addrs(
                l.answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    })
                    .collect(),
            )),
            Err(e) if e.is_nx_domain() => Ok(Answer::NoSuchName),
            Err(e) if e.is_no_records_found() => Ok(Answer::NoRecords),
            Err(e) => Err(format!("no answer from {server}: {e}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    /// A one-question responder on loopback: answers with `rcode` and one
    /// record per entry of `answers` (type, rdata), the name given as a
    /// pointer to the question.
    fn responder(rcode: u8, answers: Vec<(u16, Vec<u8>)>) -> SocketAddr {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = srv.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let Ok((n, peer)) = srv.recv_from(&mut buf) else {
                return;
            };
            let mut r = buf[..n].to_vec();
            r[2] = 0x85; // QR, AA, RD
            r[3] = 0x80 | rcode; // RA
            r[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
            // Drop an EDNS OPT record the client may have added.
            r[10..12].copy_from_slice(&[0, 0]);
            let qend = 12 + r[12..].iter().position(|b| *b == 0).unwrap() + 5;
            r.truncate(qend);
            for (t, data) in &answers {
                r.extend_from_slice(&[0xc0, 12]);
                r.extend_from_slice(&t.to_be_bytes());
                r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
                r.extend_from_slice(&(data.len() as u16).to_be_bytes());
                r.extend_from_slice(data);
            }
            srv.send_to(&r, peer).unwrap();
        });
        addr
    }

    const T: Duration = Duration::from_secs(2);

    #[test]
    fn a_records() {
        let srv = responder(0, vec![(1, vec![10, 78, 5, 131]), (1, vec![10, 78, 5, 13])]);
        let a = query(srv, "mail.lab.example", false, T).unwrap();
        assert_eq!(
            a,
            Answer::Addrs(vec![
                "10.78.5.131".parse().unwrap(),
                "10.78.5.13".parse().unwrap()
            ])
        );
    }

    #[test]
    fn aaaa_records() {
        let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8];
        v6.extend([0; 11]);
        v6.push(0x25);
        let srv = responder(0, vec![(28, v6)]);
        let a = query(srv, "mail.lab.example.", true, T).unwrap();
        assert_eq!(a, Answer::Addrs(vec!["2001:db8::25".parse().unwrap()]));
    }

    #[test]
    fn nxdomain_and_no_records() {
        let srv = responder(3, vec![]);
        assert_eq!(
            query(srv, "nope.lab.example", false, T).unwrap(),
            Answer::NoSuchName
        );
        let srv = responder(0, vec![]);
        assert_eq!(
            query(srv, "mail.lab.example", false, T).unwrap(),
            Answer::NoRecords
        );
    }

    #[test]
    fn refused_is_an_error() {
        let srv = responder(5, vec![]);
        let e = query(srv, "mail.lab.example", false, Duration::from_millis(300)).unwrap_err();
        assert!(e.starts_with(&format!("no answer from {srv}")), "{e}");
    }

    #[test]
    fn silent_server_times_out() {
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = srv.local_addr().unwrap();
        let t0 = std::time::Instant::now();
        let e = query(addr, "mail.lab.example", false, Duration::from_millis(200)).unwrap_err();
        assert!(e.starts_with("no answer from"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        drop(srv);
    }
}
