//! The private-address guard. A webhook makes this server send requests to an address an admin
//! typed in; without a guard that is a way to reach the server's own network (loopback
//! services, cloud metadata at 169.254.169.254, internal hosts). So targets are refused when
//! their host is, or resolves to, an address that is not public — at create and update time,
//! and again at every send through [`GuardedResolver`], because DNS answers can change after
//! the check. `WEBHOOKS_ALLOW_PRIVATE=true` turns the guard off (development and tests).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Longest accepted target URL.
pub const MAX_URL_LENGTH: usize = 2048;

/// Why a target URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("not a valid absolute URL: {0}")]
    Invalid(String),
    #[error("only http and https URLs are accepted")]
    Scheme,
    #[error("the URL is longer than {MAX_URL_LENGTH} characters")]
    TooLong,
    #[error("{host} is not a public address ({address})")]
    Private { host: String, address: IpAddr },
    #[error("{0} does not resolve")]
    Unresolvable(String),
}

impl TargetError {
    /// Whether the refusal is the private-address rule (rather than a malformed or unknown host).
    pub fn is_private(&self) -> bool {
        matches!(self, TargetError::Private { .. })
    }
}

/// Whether an address must never be a webhook target: loopback, private (RFC 1918, unique
/// local fc00::/7), link-local, unspecified, shared (CGNAT), multicast, broadcast,
/// documentation and other reserved ranges, and IPv6 forms that embed such an IPv4 address.
pub fn is_forbidden(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, 198.18/15
        || a >= 240 // reserved, 240/4
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation, 2001:db8::/32
}

/// The IPv4 address inside IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64
/// (64:ff9b::/96) and 6to4 (2002::/16) addresses, which reach that IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Checks a URL's form: absolute, http or https, with a host, not too long.
pub fn parse_target(text: &str) -> Result<Url, TargetError> {
    if text.len() > MAX_URL_LENGTH {
        return Err(TargetError::TooLong);
    }
    let url = Url::parse(text.trim()).map_err(|e| TargetError::Invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::Invalid("the URL has no host".into()));
    }
    Ok(url)
}

/// The IP address a URL's host is written as, if it is one. (The URL parser already turned
/// spellings like `0x7f.1` into the dotted form, and writes IPv6 hosts in brackets.)
fn literal_address(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
}

/// Checks a target as at create and update time: its form, and unless private targets are
/// allowed, that its host and every address it resolves to are public.
pub async fn check_target(text: &str, allow_private: bool) -> Result<Url, TargetError> {
    let url = parse_target(text)?;
    if allow_private {
        return Ok(url);
    }
    let host = url.host_str().unwrap_or_default().to_string();
    if let Some(address) = literal_address(&url) {
        return if is_forbidden(address) { Err(TargetError::Private { host, address }) } else { Ok(url) };
    }
    resolve_public(&host).await?;
    Ok(url)
}

/// Checks the literal address of a URL at send time (literal addresses never reach the
/// resolver).
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), TargetError> {
    match literal_address(url) {
        Some(address) if !allow_private && is_forbidden(address) => {
            Err(TargetError::Private { host: url.host_str().unwrap_or_default().to_string(), address })
        }
        _ => Ok(()),
    }
}

/// Resolves a host name and refuses it if any of its addresses is not public: an attacker
/// controlling the DNS answer must not get a private address through by listing a public one
/// beside it.
async fn resolve_public(host: &str) -> Result<Vec<SocketAddr>, TargetError> {
    let addresses: Vec<SocketAddr> =
        tokio::net::lookup_host((host, 0)).await.map_err(|_| TargetError::Unresolvable(host.to_string()))?.collect();
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable(host.to_string()));
    }
    if let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip())) {
        return Err(TargetError::Private { host: host.to_string(), address: bad.ip() });
    }
    Ok(addresses)
}

/// The HTTP client's resolver: the addresses a request connects to are the ones checked, so
/// a name that turns private after the create-time check is refused at send time.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addresses = resolve_public(&host).await?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(text: &str) -> bool {
        is_forbidden(text.parse().expect("address"))
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for address in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
        ] {
            assert!(forbidden(address), "{address} should be forbidden");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(!forbidden(address), "{address} should be allowed");
        }
    }

    #[test]
    fn only_absolute_http_urls_are_targets() {
        assert!(parse_target("https://example.com/hook").is_ok());
        assert!(parse_target("http://example.com:8080/hook?x=1").is_ok());
        assert_eq!(parse_target("ftp://example.com/"), Err(TargetError::Scheme));
        assert_eq!(parse_target("file:///etc/passwd"), Err(TargetError::Scheme));
        assert!(matches!(parse_target("/relative"), Err(TargetError::Invalid(_))));
        assert!(matches!(parse_target("not a url"), Err(TargetError::Invalid(_))));
        assert_eq!(
            parse_target(&format!("https://example.com/{}", "a".repeat(MAX_URL_LENGTH))),
            Err(TargetError::TooLong)
        );
    }

    #[tokio::test]
    async fn literal_and_resolved_private_targets_are_refused_unless_allowed() {
        for url in ["http://127.0.0.1:9/", "http://[::1]/", "http://169.254.169.254/latest", "http://localhost:8080/"] {
            let refused = check_target(url, false).await.expect_err(url);
            assert!(refused.is_private(), "{url}: {refused}");
            assert!(check_target(url, true).await.is_ok(), "{url} with private targets allowed");
        }
        let url = parse_target("http://10.0.0.1/").expect("url");
        assert!(check_literal(&url, false).is_err());
        assert!(check_literal(&url, true).is_ok());
        assert!(check_literal(&parse_target("http://8.8.8.8/").expect("url"), false).is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_privately() {
        let name: Name = "localhost".parse().expect("name");
        assert!(GuardedResolver.resolve(name).await.is_err());
    }
}
