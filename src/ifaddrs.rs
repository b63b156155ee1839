//! The addresses configured on this machine's interfaces (in the current
//! network namespace), read with `getifaddrs`: what "this address is
//! local" means. Trying to bind an address is no test: with
//! `net.ipv4.ip_nonlocal_bind=1` (common on load balancers and HA hosts)
//! any address binds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Every address of every interface, as the kernel lists them.
pub fn local_addresses() -> Vec<IpAddr> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() {
            // SAFETY: a non-null ifa_addr points at a sockaddr whose
            // family says which struct it is.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: AF_INET means a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            } else if family == libc::AF_INET6 {
                // SAFETY: AF_INET6 means a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// Whether `ip` is configured on an interface of this machine.
pub fn is_local(ip: IpAddr) -> bool {
    local_addresses().contains(&ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_local_and_a_bindable_foreign_address_is_not() {
        assert!(is_local("127.0.0.1".parse().unwrap()));
        // 127.0.0.2 binds on Linux (all of 127.0.0.0/8 is routed to lo),
        // but only 127.0.0.1 is configured: binding is no test.
        assert!(std::net::UdpSocket::bind("127.0.0.2:0").is_ok());
        assert!(!is_local("127.0.0.2".parse().unwrap()));
        assert!(!is_local("192.0.2.1".parse().unwrap()));
    }
}
