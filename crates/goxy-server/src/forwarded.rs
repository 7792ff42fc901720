//! The client address of a request that came through reverse proxies goxy
//! trusts (nginx, a load balancer): rate limits and the audit log key on the
//! client, not on the proxy. Pure: the peer, the headers and the trusted
//! networks in, an address out.

use std::net::IpAddr;

/// A network in CIDR notation (`10.0.0.0/8`, `::1/128`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an address or CIDR network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: prefix length must be 0..={max}"))?,
        };
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The address a request is from. The peer itself unless it is a trusted
/// proxy; then `X-Forwarded-For` is read from the right (each proxy appends
/// the address it received from) and the first hop that is not a trusted
/// proxy is the client. An unreadable entry ends the walk at the last hop
/// known good, so a client cannot choose its address by writing the header.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a [u8]>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&[u8]> = forwarded_for
        .flat_map(|value| value.split(|&c| c == b','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = std::str::from_utf8(hop)
            .ok()
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
        else {
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let private = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(private.contains(ip("10.200.1.1")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(private.contains(ip("::ffff:10.1.2.3")), "v4-mapped peers");
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("192.0.2.1")));
        assert!(!Cidr::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "proxy",
            "10.0.0.0/x",
            "",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_behind_trusted_proxies() {
        let trusted = [
            Cidr::parse("127.0.0.1").unwrap(),
            Cidr::parse("10.0.0.0/8").unwrap(),
        ];
        let xff = |v: &'static [&'static str]| v.iter().map(|s| s.as_bytes());
        // Direct clients: the header is theirs to forge, and ignored.
        assert_eq!(
            client_ip(ip("192.0.2.9"), xff(&["1.2.3.4"]), &trusted),
            ip("192.0.2.9")
        );
        // One proxy: its appended hop is the client.
        assert_eq!(
            client_ip(ip("127.0.0.1"), xff(&["192.0.2.1"]), &trusted),
            ip("192.0.2.1")
        );
        // A client-written prefix does not matter: the right-most untrusted hop wins.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                xff(&["6.6.6.6, 192.0.2.1, 10.1.1.1"]),
                &trusted
            ),
            ip("192.0.2.1")
        );
        // Several header lines are one list.
        assert_eq!(
            client_ip(ip("127.0.0.1"), xff(&["6.6.6.6", "192.0.2.1"]), &trusted),
            ip("192.0.2.1")
        );
        // No header: the proxy itself. Garbage: the last good hop.
        assert_eq!(
            client_ip(ip("127.0.0.1"), xff(&[]), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                xff(&["192.0.2.1, bogus, 10.0.0.5"]),
                &trusted
            ),
            ip("10.0.0.5")
        );
        // Only proxies in the chain: the left-most of them.
        assert_eq!(
            client_ip(ip("127.0.0.1"), xff(&["10.0.0.7, 10.0.0.5"]), &trusted),
            ip("10.0.0.7")
        );
        // Nothing trusted: never read.
        assert_eq!(
            client_ip(ip("127.0.0.1"), xff(&["192.0.2.1"]), &[]),
            ip("127.0.0.1")
        );
    }
}
