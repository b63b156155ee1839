//! A blocking DNS resolver that asks one explicit server.
//!
//! It never reads resolv.conf or /etc/hosts and never falls back to
//! another server: what it reports is what that server said. Every query
//! has a timeout. Results keep the difference between "the name does not
//! exist" (NXDOMAIN), "the name exists without such records" (NODATA) and
//! "no usable answer" (timeout, SERVFAIL, REFUSED), which DNSBL and
//! FCrDNS checks depend on.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::{DnsError, NetError};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};

use super::{Rr, from_hickory};
use crate::error::{Error, Result};

/// What a server said to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Records of the type asked for (CNAMEs followed by the server).
    Records(Vec<Rr>),
    /// The name exists but has no records of that type.
    NoData,
    /// The name does not exist.
    NxDomain,
    /// The server answered with an error (SERVFAIL, REFUSED, ...).
    Failed(String),
    /// No answer came back (timeout, network error).
    Unreachable(String),
}

impl Answer {
    /// The records, or none for any other answer.
    pub fn records(&self) -> &[Rr] {
        match self {
            Answer::Records(r) => r,
            _ => &[],
        }
    }
}

/// A resolver bound to one server.
pub struct Resolver {
    server: SocketAddr,
    timeout: Duration,
    rt: tokio::runtime::Runtime,
    inner: hickory_resolver::Resolver<TokioRuntimeProvider>,
}

impl Resolver {
    /// A resolver that asks `server` (UDP, then TCP when a reply is
    /// truncated), giving up on a question after `timeout` (two tries).
    pub fn new(server: SocketAddr, timeout: Duration) -> Result<Resolver> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::other(
                    format!("cannot start the DNS client: {e}"),
                    "this is a bug in zmreip or a broken system",
                )
            })?;
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
        let config = ResolverConfig::from_parts(None, vec![], vec![ns]);
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        // Every answer is fresh: a check after an update must see it.
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        opts.preserve_intermediates = false;
        opts.try_tcp_on_error = false;
        let inner = {
            let _guard = rt.enter();
            hickory_resolver::Resolver::builder_with_config(config, TokioRuntimeProvider::default())
                .with_options(opts)
                .build()
                .map_err(|e| {
                    Error::other(
                        format!("cannot set up a resolver for {server}: {e}"),
                        "check the server address",
                    )
                })?
        };
        Ok(Resolver {
            server,
            timeout,
            rt,
            inner,
        })
    }

    /// The server asked.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Asks for records of `rtype` at `name` (absolute or not; it is
    /// always taken as absolute).
    pub fn lookup(&self, name: &str, rtype: RecordType) -> Answer {
        self.lookup_all(&[(name.to_string(), rtype)]).remove(0)
    }

    /// Asks several questions at once; answers come in the same order.
    pub fn lookup_all(&self, questions: &[(String, RecordType)]) -> Vec<Answer> {
        // Generous bound over hickory's own per-query timeout, so a wedged
        // transport can never hang the caller.
        let bound = self.timeout * 3 + Duration::from_secs(1);
        self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, (name, rtype)) in questions.iter().cloned().enumerate() {
                let inner = self.inner.clone();
                set.spawn(async move {
                    let answer = match tokio::time::timeout(bound, ask(&inner, &name, rtype)).await
                    {
                        Ok(a) => a,
                        Err(_) => Answer::Failed(format!("no answer within {}s", bound.as_secs())),
                    };
                    (i, answer)
                });
            }
            let mut out = vec![Answer::Failed("not asked".into()); questions.len()];
            while let Some(r) = set.join_next().await {
                if let Ok((i, a)) = r {
                    out[i] = a;
                }
            }
            out
        })
    }
}

async fn ask(
    r: &hickory_resolver::Resolver<TokioRuntimeProvider>,
    name: &str,
    rtype: RecordType,
) -> Answer {
    let fq = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    let n = match Name::from_ascii(&fq) {
        Ok(n) => n,
        Err(e) => return Answer::Failed(format!("`{name}` is not a domain name: {e}")),
    };
    match r.lookup(n, rtype).await {
        Ok(l) => {
            let recs: Vec<Rr> = l
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(from_hickory)
                .collect();
            if recs.is_empty() {
                Answer::NoData
            } else {
                Answer::Records(recs)
            }
        }
        Err(e) => classify(&e),
    }
}

fn classify(e: &NetError) -> Answer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            if nr.response_code == ResponseCode::NXDomain {
                Answer::NxDomain
            } else {
                Answer::NoData
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            Answer::Failed(format!("the server answered {}", code_name(*code)))
        }
        NetError::Timeout => Answer::Unreachable("no answer (timeout)".into()),
        NetError::Io(_) | NetError::NoConnections => Answer::Unreachable(e.to_string()),
        other => Answer::Failed(other.to_string()),
    }
}

/// A response code as written in DNS tools (`SERVFAIL`, `REFUSED`).
pub(crate) fn code_name(c: ResponseCode) -> String {
    match c {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        other => other.to_string().to_ascii_uppercase(),
    }
}
