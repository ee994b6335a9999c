//! Rate limits on the guessable surfaces (invite preview and join), per client
//! address and per user. State is per process: with N replicas a client gets up to N
//! times the budget (docs/DEPLOYMENT.md).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use guestlist_domain::Error;
use serde::{Deserialize, Serialize};

use crate::Caller;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// Invite previews per minute from one client address.
    pub preview_per_minute_per_ip: u32,
    /// Joins per minute from one client address.
    pub join_per_minute_per_ip: u32,
    /// Previews and joins per minute by one signed-in user.
    pub per_minute_per_user: u32,
    /// Sign-up claims per minute from one client address. The host's back end makes
    /// them for its users: forward their address (X-Forwarded-For with
    /// `trust_proxy_headers`) or raise this.
    pub signup_per_minute_per_ip: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            preview_per_minute_per_ip: 120,
            join_per_minute_per_ip: 60,
            per_minute_per_user: 30,
            signup_per_minute_per_ip: 600,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Surface {
    Preview,
    Join,
    Signup,
}

pub(crate) struct RateLimits {
    preview_ip: DefaultKeyedRateLimiter<std::net::IpAddr>,
    join_ip: DefaultKeyedRateLimiter<std::net::IpAddr>,
    signup_ip: DefaultKeyedRateLimiter<std::net::IpAddr>,
    user: DefaultKeyedRateLimiter<String>,
}

fn quota(field: &str, per_minute: u32) -> Result<Quota, Error> {
    let n =
        NonZeroU32::new(per_minute).ok_or_else(|| Error::invalid(field, "must be at least 1"))?;
    Ok(Quota::per_minute(n))
}

impl RateLimits {
    pub fn new(c: &RateLimitConfig) -> Result<Self, Error> {
        Ok(RateLimits {
            preview_ip: DefaultKeyedRateLimiter::keyed(quota(
                "preview_per_minute_per_ip",
                c.preview_per_minute_per_ip,
            )?),
            join_ip: DefaultKeyedRateLimiter::keyed(quota(
                "join_per_minute_per_ip",
                c.join_per_minute_per_ip,
            )?),
            signup_ip: DefaultKeyedRateLimiter::keyed(quota(
                "signup_per_minute_per_ip",
                c.signup_per_minute_per_ip,
            )?),
            user: DefaultKeyedRateLimiter::keyed(quota(
                "per_minute_per_user",
                c.per_minute_per_user,
            )?),
        })
    }

    pub fn check(&self, surface: Surface, caller: &Caller) -> Result<(), Error> {
        let by_ip = match surface {
            Surface::Preview => &self.preview_ip,
            Surface::Join => &self.join_ip,
            Surface::Signup => &self.signup_ip,
        };
        let refused = |not_until: governor::NotUntil<_>| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            metrics_refused();
            Error::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        };
        by_ip
            .check_key(&client_key(caller.client))
            .map_err(refused)?;
        if let Some(user) = caller.actor.as_ref().and_then(|a| a.user_id()) {
            self.user
                .check_key(&user.as_str().to_owned())
                .map_err(refused)?;
        }
        Ok(())
    }

    pub fn forget_idle(&self) {
        self.preview_ip.retain_recent();
        self.join_ip.retain_recent();
        self.signup_ip.retain_recent();
        self.user.retain_recent();
    }
}

/// The bucket a client address counts in: an IPv4 address alone, an IPv6 address by
/// its /64 (one subscriber's network: anyone holding one has 2^64 addresses to rotate
/// through), an IPv4-mapped IPv6 address as its IPv4 address.
pub fn client_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn metrics_refused() {
    tracing::debug!("rate limited");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_network_is_one_client_and_ipv4_addresses_are_their_own() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    }

    #[test]
    fn rotating_through_one_ipv6_network_does_not_escape_the_limit() {
        let limits = RateLimits::new(&RateLimitConfig {
            preview_per_minute_per_ip: 3,
            ..RateLimitConfig::default()
        })
        .unwrap();
        let refused = (1..=10u16)
            .filter(|n| {
                let caller = Caller {
                    actor: None,
                    client: std::net::IpAddr::V6(std::net::Ipv6Addr::new(
                        0x2001, 0xdb8, 0, 7, 0, 0, 0, *n,
                    )),
                };
                limits.check(Surface::Preview, &caller).is_err()
            })
            .count();
        assert_eq!(refused, 7);
    }
}
