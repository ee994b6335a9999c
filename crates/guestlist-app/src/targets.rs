//! Where a webhook may be delivered: http(s) URLs whose host is a public address.
//! Loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast and
//! unspecified addresses are refused unless the operator allows them
//! (`[webhooks] allow_targets`). The rule holds after DNS resolution: the URL's host is
//! resolved when an endpoint is saved, and the resolver the sender connects through
//! ([`GuardedResolver`]) applies it again at every connection, so a name that later
//! resolves to a private address (DNS rebinding) connects nowhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use guestlist_domain::Error;
use reqwest::Url;

use crate::Result;

/// How long saving an endpoint waits for its host to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The longest endpoint URL accepted.
pub const MAX_URL_LEN: usize = 2_000;

/// An address block: `127.0.0.1/32`, `10.0.0.0/8`, `::1/128`; a bare address is /32
/// or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// Why a text is not an address block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("{0:?} is not an address or address block")]
    NotAnAddress(String),
    #[error("{block:?}: the prefix length is 0 to {max}")]
    Prefix { block: String, max: u8 },
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> std::result::Result<Self, CidrError> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| CidrError::NotAnAddress(s.to_owned()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| CidrError::Prefix {
                    block: s.to_owned(),
                    max,
                })?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The IPv4 address an IPv6 address carries, if any: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, deprecated but still routed by some stacks),
/// IPv4-translated (`::ffff:0:a.b.c.d`, SIIT), the well-known NAT64 prefix
/// (`64:ff9b::/96`) and 6to4 (`2002:aabb:ccdd::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    // ::a.b.c.d, leaving :: and ::1 to their own rules.
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(last);
    }
    // ::ffff:0:a.b.c.d
    if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return Some(last);
    }
    // 64:ff9b::/96, the well-known NAT64 prefix.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(last);
    }
    // 2002::/16, 6to4: the IPv4 address follows the prefix.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// Whether an address is not on the public internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                // 100.64.0.0/10, carrier-grade NAT.
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                // 192.0.0.0/24, protocol assignments; 198.18.0.0/15, benchmarking.
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7, unique local; fe80::/10, link-local; fec0::/10, site-local.
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                // 64:ff9b:1::/48, local-use NAT64 (RFC 8215): translated to an
                // address of the operator's choosing, so never public.
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                // 2001::/32, Teredo (the IPv4 address is hidden); 2001:db8::/32,
                // documentation; 100::/64, discard.
                || (s[0] == 0x2001 && (s[1] == 0 || s[1] == 0xdb8))
                || (s[0] == 0x100 && s[1..4] == [0, 0, 0])
        }
    }
}

/// The rule: internal addresses are refused unless an allowed block holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetRule {
    pub allow: Vec<Cidr>,
}

impl TargetRule {
    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allow.iter().any(|c| c.contains(ip))
    }

    /// Checks an endpoint URL's form and, after resolving its host, every address it
    /// names. Errors are `invalid_input` naming `field`.
    pub async fn check(&self, field: &str, url: &str) -> Result<Url> {
        let parsed = self.check_form(field, url)?;
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match host_ip(&parsed) {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| {
                    Error::invalid(field, format!("the host {host} did not resolve in time"))
                })?
                .map_err(|_| Error::invalid(field, format!("the host {host} does not resolve")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(Error::invalid(
                field,
                format!("the host {host} does not resolve"),
            ));
        }
        if let Some(bad) = addrs.iter().find(|a| !self.permits(a.ip())) {
            return Err(Error::invalid(
                field,
                format!(
                    "{} is an internal address (loopback, private, link-local or metadata); \
                     webhooks go to public addresses unless the operator allows it in [webhooks] allow_targets",
                    bad.ip()
                ),
            ));
        }
        Ok(parsed)
    }

    /// The URL's form: http(s), a host, no credentials, not too long; an IP literal
    /// must be permitted.
    pub fn check_form(&self, field: &str, url: &str) -> Result<Url> {
        if url.len() > MAX_URL_LEN {
            return Err(Error::invalid(
                field,
                format!("at most {MAX_URL_LEN} characters"),
            ));
        }
        let parsed =
            Url::parse(url).map_err(|e| Error::invalid(field, format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid(field, "an http or https URL"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(Error::invalid(field, "the URL has no host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::invalid(
                field,
                "credentials in the URL would be shown in every listing; authenticate the \
                 receiver by the webhook's signature instead",
            ));
        }
        if parsed.fragment().is_some() {
            return Err(Error::invalid(field, "a URL without a #fragment"));
        }
        if let Some(ip) = host_ip(&parsed)
            && !self.permits(ip)
        {
            return Err(Error::invalid(
                field,
                format!(
                    "{ip} is an internal address (loopback, private, link-local or metadata); \
                     webhooks go to public addresses unless the operator allows it in [webhooks] allow_targets"
                ),
            ));
        }
        Ok(parsed)
    }
}

fn host_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// The resolver the webhook sender connects through: the system's, then the rule.
/// A name none of whose addresses is permitted fails to resolve.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub rule: Arc<TargetRule>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rule = self.rule.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| rule.permits(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address webhooks may reach").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_are_not() {
        let rule = TargetRule::default();
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1:ffff::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fec0::1",
        ] {
            assert!(!rule.permits(ip(bad)), "{bad} was permitted");
        }
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2002:5db8:d822::1",
            "64:ff9b::5db8:d822",
        ] {
            assert!(rule.permits(ip(good)), "{good} was refused");
        }
    }

    #[test]
    fn an_allowed_block_lets_its_addresses_through_and_no_others() {
        let rule = TargetRule {
            allow: vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
        };
        assert!(rule.permits(ip("127.0.0.1")));
        assert!(!rule.permits(ip("127.0.0.2")));
        assert!(rule.permits(ip("10.200.1.1")));
        assert!(!rule.permits(ip("192.168.0.1")));
        assert!(!rule.permits(ip("::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }

    #[tokio::test]
    async fn urls_are_checked_for_form_and_after_resolution() {
        let rule = TargetRule::default();
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://127.0.0.1/",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://user:pw@example.com/",
            // A name that resolves to loopback: refused after resolution.
            "http://localhost:9/",
        ] {
            let e = rule.check("url", bad).await.unwrap_err();
            assert_eq!(e.field(), Some("url"), "{bad}: {e}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(rule.check("url", &long).await.is_err());
        let allowed = TargetRule {
            allow: vec!["127.0.0.1".parse().unwrap()],
        };
        assert!(
            allowed
                .check("url", "http://127.0.0.1:9/hook")
                .await
                .is_ok()
        );
    }
}
