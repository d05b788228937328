//! The destination guard: which addresses and ports the egress proxy may connect to.
//!
//! The guard judges resolved IP addresses, never host names: the proxy resolves a name
//! itself, checks every address the resolver returned, and connects to one it checked, so
//! a name that resolves to an internal address (or that changes its answer between two
//! lookups) never reaches one.
//!
//! Refused: loopback (unless [`Guard::allow_loopback`]), private (RFC 1918), shared
//! address space (CGNAT, `100.64/10`), link-local (`169.254/16`, `fe80::/10`), "this
//! network" (`0/8`), unspecified, broadcast, multicast, IETF protocol assignments
//! (`192.0.0/24`), documentation and benchmarking ranges, the reserved `240/4`, unique
//! local IPv6 (`fc00::/7`), site-local IPv6, the discard prefix, and every IPv6 form that
//! carries an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4) when
//! the address it carries is refused. Teredo and the local-use NAT64 prefix are refused
//! outright: what they reach cannot be told from the address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Which destinations a reproduction may contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guard {
    /// Allow loopback addresses, on any port (tests and local development only). Private
    /// and link-local addresses stay refused.
    pub allow_loopback: bool,
    /// With [`Guard::allow_loopback`], the loopback ports allowed (empty: every port).
    /// Tests pin the one port of their test site to show that a redirect to another
    /// loopback service is refused.
    #[serde(default)]
    pub loopback_ports: Vec<u16>,
}

/// Why a destination was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Blocked {
    /// `127/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64/10` (carrier-grade NAT).
    SharedAddressSpace,
    /// `169.254/16`, `fe80::/10` (cloud metadata services live here).
    LinkLocal,
    /// `0/8`, `::`.
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// Documentation (`192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`) and
    /// benchmarking (`198.18/15`, `2001:2::/48`) ranges.
    Documentation,
    /// `fc00::/7` (unique local) and `fec0::/10` (site-local).
    UniqueLocal,
    /// Reserved or special-purpose (`192.0.0/24`, `240/4`, `100::/64`, Teredo, the
    /// local-use NAT64 prefix, 6to4 relay anycast).
    Reserved,
    /// A port other than 80 and 443.
    Port,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blocked::Loopback => "loopback address",
            Blocked::Private => "private address",
            Blocked::SharedAddressSpace => "shared address space (CGNAT)",
            Blocked::LinkLocal => "link-local address",
            Blocked::Unspecified => "unspecified address",
            Blocked::Broadcast => "broadcast address",
            Blocked::Multicast => "multicast address",
            Blocked::Documentation => "documentation or benchmarking range",
            Blocked::UniqueLocal => "unique local or site-local address",
            Blocked::Reserved => "reserved or special-purpose address",
            Blocked::Port => "port other than 80 and 443",
        })
    }
}

impl Guard {
    /// The production guard: public addresses on ports 80 and 443 only.
    pub fn strict() -> Self {
        Guard::default()
    }

    /// Whether the proxy may connect to `ip` on `port`.
    pub fn check(&self, ip: IpAddr, port: u16) -> Result<(), Blocked> {
        match classify(ip) {
            Some(Blocked::Loopback) if self.allow_loopback => {
                if self.loopback_ports.is_empty() || self.loopback_ports.contains(&port) {
                    Ok(())
                } else {
                    Err(Blocked::Loopback)
                }
            }
            Some(blocked) => Err(blocked),
            None => self.check_port(port),
        }
    }

    /// Whether `port` may be contacted at all (before any name is resolved).
    pub fn check_port(&self, port: u16) -> Result<(), Blocked> {
        if port == 80 || port == 443 || self.allow_loopback {
            Ok(())
        } else {
            Err(Blocked::Port)
        }
    }
}

/// Why `ip` is not a public unicast address, or `None` when it is one.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    let [a, b, c, _] = ip.octets();
    let blocked = match (a, b, c) {
        (0, _, _) => Blocked::Unspecified,
        (127, _, _) => Blocked::Loopback,
        (10, _, _) | (192, 168, _) => Blocked::Private,
        (172, 16..=31, _) => Blocked::Private,
        (100, 64..=127, _) => Blocked::SharedAddressSpace,
        (169, 254, _) => Blocked::LinkLocal,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) => Blocked::Documentation,
        (192, 0, 0) | (192, 88, 99) => Blocked::Reserved,
        (224..=239, _, _) => Blocked::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => Blocked::Broadcast,
        (240..=255, _, _) => Blocked::Reserved,
        _ => return None,
    };
    Some(blocked)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some(Blocked::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Blocked::Loopback);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // IPv4-mapped (::ffff:a.b.c.d): the IPv4 address rules.
    if s[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return classify_v4(embedded(s[6], s[7]));
    }
    // IPv4-compatible (::a.b.c.d, deprecated): refused whatever it carries.
    if s[..6] == [0; 6] {
        return Some(classify_v4(embedded(s[6], s[7])).unwrap_or(Blocked::Reserved));
    }
    // NAT64 well-known prefix 64:ff9b::/96: the embedded address decides.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(s[6], s[7]));
    }
    // 6to4 (2002:V4ADDR::/48): the embedded address decides.
    if s[0] == 0x2002 {
        return classify_v4(embedded(s[1], s[2]));
    }
    let blocked = match s[0] {
        0x0064 if s[1] == 0xff9b && s[2] == 1 => Blocked::Reserved, // local-use NAT64
        0x0100 if s[1..4] == [0, 0, 0] => Blocked::Reserved,        // discard
        0x2001 if s[1] == 0x0db8 => Blocked::Documentation,
        0x2001 if s[1] == 0x0002 && s[2] == 0 => Blocked::Documentation, // benchmarking
        0x2001 if s[1] == 0 => Blocked::Reserved,                        // Teredo
        x if x & 0xfe00 == 0xfc00 => Blocked::UniqueLocal,
        x if x & 0xffc0 == 0xfe80 => Blocked::LinkLocal,
        x if x & 0xffc0 == 0xfec0 => Blocked::UniqueLocal,
        x if x & 0xff00 == 0xff00 => Blocked::Multicast,
        x if x & 0xe000 != 0x2000 => Blocked::Reserved, // outside global unicast 2000::/3
        _ => return None,
    };
    Some(blocked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse().unwrap())
    }

    #[test]
    fn public_addresses_on_web_ports_pass() {
        let guard = Guard::strict();
        for ip in [v4("93.184.215.14"), v4("1.1.1.1"), v4("8.8.8.8"), v6("2606:4700::6810:84e5"), v6("2a00:1450::1")] {
            assert_eq!(guard.check(ip, 443), Ok(()), "{ip}");
            assert_eq!(guard.check(ip, 80), Ok(()), "{ip}");
            assert_eq!(guard.check(ip, 8080), Err(Blocked::Port), "{ip}");
        }
    }

    #[test]
    fn internal_ipv4_ranges_are_refused() {
        let guard = Guard::strict();
        let cases = [
            ("127.0.0.1", Blocked::Loopback),
            ("127.255.255.254", Blocked::Loopback),
            ("10.0.0.1", Blocked::Private),
            ("172.16.0.1", Blocked::Private),
            ("172.31.255.255", Blocked::Private),
            ("192.168.1.1", Blocked::Private),
            ("100.64.0.1", Blocked::SharedAddressSpace),
            ("100.127.255.255", Blocked::SharedAddressSpace),
            ("169.254.169.254", Blocked::LinkLocal),
            ("0.0.0.0", Blocked::Unspecified),
            ("0.1.2.3", Blocked::Unspecified),
            ("255.255.255.255", Blocked::Broadcast),
            ("224.0.0.1", Blocked::Multicast),
            ("239.255.255.250", Blocked::Multicast),
            ("192.0.2.1", Blocked::Documentation),
            ("198.51.100.7", Blocked::Documentation),
            ("203.0.113.9", Blocked::Documentation),
            ("198.18.0.1", Blocked::Documentation),
            ("192.0.0.8", Blocked::Reserved),
            ("240.0.0.1", Blocked::Reserved),
        ];
        for (ip, why) in cases {
            assert_eq!(guard.check(v4(ip), 443), Err(why), "{ip}");
        }
        assert_eq!(guard.check(v4("172.32.0.1"), 443), Ok(()));
        assert_eq!(guard.check(v4("100.128.0.1"), 443), Ok(()));
    }

    #[test]
    fn internal_ipv6_ranges_and_embedded_ipv4_are_refused() {
        let guard = Guard::strict();
        let cases = [
            ("::1", Blocked::Loopback),
            ("::", Blocked::Unspecified),
            ("fe80::1", Blocked::LinkLocal),
            ("febf::1", Blocked::LinkLocal),
            ("fc00::1", Blocked::UniqueLocal),
            ("fd12:3456::1", Blocked::UniqueLocal),
            ("fec0::1", Blocked::UniqueLocal),
            ("ff02::1", Blocked::Multicast),
            ("2001:db8::1", Blocked::Documentation),
            ("2001:2::1", Blocked::Documentation),
            ("2001::1", Blocked::Reserved),
            ("100::1", Blocked::Reserved),
            ("64:ff9b:1::1", Blocked::Reserved),
            ("::ffff:127.0.0.1", Blocked::Loopback),
            ("::ffff:10.0.0.1", Blocked::Private),
            ("::ffff:169.254.169.254", Blocked::LinkLocal),
            ("::127.0.0.1", Blocked::Loopback),
            ("::10.0.0.1", Blocked::Private),
            ("::8.8.8.8", Blocked::Reserved),
            ("64:ff9b::10.0.0.1", Blocked::Private),
            ("64:ff9b::169.254.169.254", Blocked::LinkLocal),
            ("64:ff9b::127.0.0.1", Blocked::Loopback),
            ("2002:a00:1::1", Blocked::Private),
            ("2002:a9fe:a9fe::1", Blocked::LinkLocal),
        ];
        for (ip, why) in cases {
            assert_eq!(guard.check(v6(ip), 443), Err(why), "{ip}");
        }
        assert_eq!(guard.check(v6("::ffff:8.8.8.8"), 443), Ok(()));
        assert_eq!(guard.check(v6("64:ff9b::8.8.8.8"), 443), Ok(()));
    }

    #[test]
    fn allow_loopback_opens_loopback_only() {
        let guard = Guard { allow_loopback: true, loopback_ports: Vec::new() };
        assert_eq!(guard.check(v4("127.0.0.1"), 8080), Ok(()));
        assert_eq!(guard.check(v6("::1"), 1), Ok(()));
        assert_eq!(guard.check(v6("::ffff:127.0.0.1"), 80), Ok(()));
        for ip in [v4("10.0.0.1"), v4("192.168.0.1"), v4("169.254.169.254"), v6("fe80::1"), v6("fd00::1")] {
            assert!(guard.check(ip, 80).is_err(), "{ip}");
        }
    }

    #[test]
    fn pinned_loopback_ports_refuse_other_loopback_services() {
        let guard = Guard { allow_loopback: true, loopback_ports: vec![4000] };
        assert_eq!(guard.check(v4("127.0.0.1"), 4000), Ok(()));
        assert_eq!(guard.check(v4("127.0.0.1"), 4001), Err(Blocked::Loopback));
    }

    proptest::proptest! {
        #[test]
        fn every_ipv6_form_of_an_ipv4_address_is_judged_like_it(bits: u32, port in proptest::prelude::any::<u16>()) {
            let guard = Guard::strict();
            let ip = Ipv4Addr::from(bits);
            let plain = guard.check(IpAddr::V4(ip), port);
            let mapped = guard.check(IpAddr::V6(ip.to_ipv6_mapped()), port);
            proptest::prop_assert_eq!(plain, mapped);
            let [a, b, c, d] = ip.octets();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            proptest::prop_assert_eq!(plain, guard.check(IpAddr::V6(nat64), port));
            // Refused as IPv4 means refused in every IPv6 form, whatever the port.
            if classify(IpAddr::V4(ip)).is_some() {
                proptest::prop_assert!(guard.check(IpAddr::V6(ip.to_ipv6_compatible()), port).is_err());
            }
        }

        #[test]
        fn allow_loopback_never_opens_a_non_loopback_internal_address(bits: u32) {
            let open = Guard { allow_loopback: true, loopback_ports: Vec::new() };
            let ip = IpAddr::V4(Ipv4Addr::from(bits));
            if let Some(why) = classify(ip) {
                if why != Blocked::Loopback {
                    proptest::prop_assert_eq!(open.check(ip, 80), Err(why));
                }
            }
        }
    }
}
