//! Who the client is when proxies stand in between. `Forwarded` (RFC 7239) and
//! `X-Forwarded-For`/`-Host`/`-Proto` are set by whoever sends the request, so they are believed
//! only when the peer that sent them is a configured trusted proxy (`TRUSTED_PROXIES`, a CIDR
//! list; none by default). Otherwise the peer address is the client, and links handed out use
//! the configured or bound address, never a header anyone can forge.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// The forwarding headers of a request, as sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct ForwardingHeaders<'a> {
    /// RFC 7239 `Forwarded`.
    pub forwarded: Option<&'a str>,
    pub x_forwarded_for: Option<&'a str>,
    pub x_forwarded_host: Option<&'a str>,
    pub x_forwarded_proto: Option<&'a str>,
}

impl TrustedProxies {
    /// Parses a comma-separated list of CIDR blocks or single addresses
    /// (`10.0.0.0/8, 192.168.1.7, ::1`). Errors name the entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an IP address or CIDR block"))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
    /// address in the forwarding chain that is not itself a trusted proxy (read from the right,
    /// since each proxy appends what it saw). `Forwarded` wins over `X-Forwarded-For`.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &ForwardingHeaders<'_>) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let chain: Vec<Option<IpAddr>> = match headers.forwarded {
            Some(forwarded) => forwarded_params(forwarded, "for").map(|v| parse_node(&v)).collect(),
            None => match headers.x_forwarded_for {
                Some(list) => list.split(',').map(|v| parse_node(v.trim())).collect(),
                None => return Some(peer),
            },
        };
        let mut client = peer;
        for hop in chain.into_iter().rev() {
            match hop {
                // An entry that is not an address (obfuscated, `unknown`, garbage) ends the
                // trust: the last trusted hop is the best we know.
                None => return Some(client),
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return Some(ip),
            }
        }
        Some(client)
    }

    /// The scheme and host clients reached us by, from a trusted proxy's headers; `None` when
    /// the peer is not trusted or sent none.
    pub fn forwarded_origin(&self, peer: Option<IpAddr>, headers: &ForwardingHeaders<'_>) -> Option<String> {
        if !peer.map(canonical).is_some_and(|p| self.trusts(p)) {
            return None;
        }
        let (host, proto) = match headers.forwarded {
            Some(forwarded) => {
                (forwarded_params(forwarded, "host").last(), forwarded_params(forwarded, "proto").last())
            }
            None => (
                headers.x_forwarded_host.and_then(|h| h.split(',').next_back()).map(|h| h.trim().to_string()),
                headers.x_forwarded_proto.and_then(|p| p.split(',').next_back()).map(|p| p.trim().to_string()),
            ),
        };
        let host = host.filter(|h| is_host(h))?;
        let proto = proto.filter(|p| p == "http" || p == "https").unwrap_or_else(|| "http".into());
        Some(format!("{proto}://{host}"))
    }
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The values of one parameter across the elements of a `Forwarded` header, in order.
fn forwarded_params<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = String> + 'a {
    header.split(',').filter_map(move |element| {
        element.split(';').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().trim_matches('"').to_string())
        })
    })
}

/// A node of a forwarding chain: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| node.strip_prefix('[').and_then(|n| n.strip_suffix(']')).and_then(|n| n.parse().ok()))
        .map(canonical)
}

/// A plausible `host[:port]`: letters, digits, dots, dashes, brackets and colons only.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn headers_from_untrusted_peers_are_ignored() {
        let none = TrustedProxies::default();
        let forged = ForwardingHeaders {
            x_forwarded_for: Some("1.2.3.4"),
            forwarded: Some("for=5.6.7.8"),
            ..Default::default()
        };
        assert_eq!(none.client_ip(Some(ip("203.0.113.9")), &forged), Some(ip("203.0.113.9")));
        assert_eq!(none.forwarded_origin(Some(ip("203.0.113.9")), &forged), None);
    }

    #[test]
    fn a_trusted_proxy_hands_over_the_nearest_untrusted_hop() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").expect("parse");
        let xff = ForwardingHeaders { x_forwarded_for: Some("6.6.6.6, 198.51.100.2, 10.1.2.3"), ..Default::default() };
        // The client may forge the left part; the right-most untrusted hop is what our proxy saw.
        assert_eq!(proxies.client_ip(Some(ip("192.168.1.7")), &xff), Some(ip("198.51.100.2")));
        let forwarded = ForwardingHeaders {
            forwarded: Some(r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https"#),
            ..Default::default()
        };
        assert_eq!(proxies.client_ip(Some(ip("10.0.0.1")), &forwarded), Some(ip("2001:db8::1")));
        let garbage = ForwardingHeaders { x_forwarded_for: Some("unknown"), ..Default::default() };
        assert_eq!(proxies.client_ip(Some(ip("10.0.0.1")), &garbage), Some(ip("10.0.0.1")));
        assert_eq!(proxies.client_ip(Some(ip("::ffff:10.0.0.1")), &xff), Some(ip("198.51.100.2")));
    }

    #[test]
    fn origins_come_only_from_trusted_proxies_and_only_when_plausible() {
        let proxies = TrustedProxies::parse("127.0.0.1").expect("parse");
        let headers = ForwardingHeaders {
            x_forwarded_host: Some("reserver.example.com"),
            x_forwarded_proto: Some("https"),
            ..Default::default()
        };
        assert_eq!(
            proxies.forwarded_origin(Some(ip("127.0.0.1")), &headers).as_deref(),
            Some("https://reserver.example.com")
        );
        let evil = ForwardingHeaders { x_forwarded_host: Some("evil.example/phish?"), ..Default::default() };
        assert_eq!(proxies.forwarded_origin(Some(ip("127.0.0.1")), &evil), None);
    }

    #[test]
    fn bad_entries_are_named() {
        assert!(TrustedProxies::parse("10.0.0.0/8,nonsense").unwrap_err().contains("nonsense"));
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
    }
}
