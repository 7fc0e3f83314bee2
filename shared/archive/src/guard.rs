//! SSRF protection: which addresses a source URL may reach, enforced where names are resolved.
//!
//! [`GuardedResolver`] wraps a resolver and refuses a name if *any* of its addresses is
//! forbidden, so the HTTP client only ever connects to addresses that were checked (the
//! answer is pinned: there is no second lookup to rebind). IP literals never reach a
//! resolver and are checked by [`AddressPolicy::check_ip`] before a request or redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused address {addr} ({reason})")]
pub struct Refusal {
    /// The address.
    pub addr: IpAddr,
    /// Which rule refused it.
    pub reason: &'static str,
}

/// Which addresses may be contacted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow loopback addresses: local development and tests only, by explicit configuration.
    pub allow_loopback: bool,
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local (cloud metadata)",
        _ if a == 100 && (64..128).contains(&b) => "shared address space",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() || a >= 240 => "reserved",
        _ if ip.is_documentation() => "documentation",
        _ if a == 192 && b == 0 && ip.octets()[2] == 0 => "protocol assignments",
        _ if a == 198 && (b == 18 || b == 19) => "benchmarking",
        _ => return None,
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        _ if first & 0xfe00 == 0xfc00 => "unique local (private)",
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        _ if first == 0x2001 && ip.segments()[1] == 0x0db8 => "documentation",
        _ if first == 0x0064 && ip.segments()[1] == 0xff9b => "NAT64",
        _ if first == 0 => "IPv4-compatible or reserved",
        _ => return None,
    })
}

impl AddressPolicy {
    /// Checks one address against the policy.
    pub fn check_ip(&self, addr: IpAddr) -> Result<(), Refusal> {
        let reason = match addr {
            IpAddr::V4(v4) => v4_reason(v4),
            IpAddr::V6(v6) => v6_reason(v6),
        };
        match reason {
            Some("loopback") if self.allow_loopback => Ok(()),
            Some(reason) => Err(Refusal { addr, reason }),
            None => Ok(()),
        }
    }
}

/// The system resolver (getaddrinfo on a blocking thread, via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Wraps a resolver and refuses names that resolve to any forbidden address.
#[derive(Clone)]
pub struct GuardedResolver {
    inner: Arc<dyn Resolve>,
    policy: AddressPolicy,
}

impl std::fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// Guards `inner` with `policy`.
    pub fn new(inner: Arc<dyn Resolve>, policy: AddressPolicy) -> Self {
        Self { inner, policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (inner, policy) = (Arc::clone(&self.inner), self.policy);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = inner.resolve(name).await?.collect();
            if addrs.is_empty() {
                return Err("name resolved to no addresses".into());
            }
            for addr in &addrs {
                policy.check_ip(addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_ranges_are_refused() {
        let policy = AddressPolicy::default();
        for addr in [
            "127.0.0.1",
            "127.255.0.1",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:127.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "::10.0.0.1",
        ] {
            let ip: IpAddr = addr.parse().expect("ip");
            assert!(policy.check_ip(ip).is_err(), "{addr} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass_and_loopback_only_by_configuration() {
        let policy = AddressPolicy::default();
        for addr in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "100.128.0.1",
        ] {
            assert!(policy.check_ip(addr.parse().expect("ip")).is_ok(), "{addr}");
        }
        let dev = AddressPolicy {
            allow_loopback: true,
        };
        assert!(dev.check_ip("127.0.0.1".parse().expect("ip")).is_ok());
        assert!(dev.check_ip("::1".parse().expect("ip")).is_ok());
        assert!(
            dev.check_ip("10.0.0.1".parse().expect("ip")).is_err(),
            "loopback only, not private"
        );
        assert_eq!(
            policy.check_ip("169.254.169.254".parse().expect("ip")),
            Err(Refusal {
                addr: "169.254.169.254".parse().expect("ip"),
                reason: "link-local (cloud metadata)"
            })
        );
    }
}
