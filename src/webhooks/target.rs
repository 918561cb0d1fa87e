//! Where a webhook may be sent. Only `http` and `https` URLs; private, loopback, link-local and
//! other non-public addresses are refused unless configuration allows them. The host is
//! resolved once per delivery and the connection is pinned to the addresses that were checked,
//! so a DNS answer that changes between the check and the connection (rebinding) cannot
//! redirect a delivery to an internal address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// A checked target: the URL and the addresses the delivery must connect to.
#[derive(Debug, Clone)]
pub struct PinnedTarget {
    pub url: Url,
    /// The host name to pin, when the URL names one (IP literals need no pinning).
    pub domain: Option<String>,
    pub addrs: Vec<SocketAddr>,
}

/// Why a target was refused. The text is safe to log and show to issuers.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("the webhook URL is not a valid URL")]
    Invalid,
    #[error("webhook URLs must use http or https, not {0}")]
    Scheme(String),
    #[error("webhook URLs may not carry a user name or password")]
    Credentials,
    #[error("the webhook host {0} did not resolve")]
    Unresolved(String),
    #[error("the webhook host resolves to {0}, a private or reserved address; allow private targets in configuration to use it")]
    Private(IpAddr),
}

/// Checks the URL's form: scheme, host, no credentials. No DNS.
pub fn parse_target(raw: &str) -> Result<Url, TargetError> {
    let url = Url::parse(raw).map_err(|_| TargetError::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme(url.scheme().to_string()));
    }
    if url.host().is_none() {
        return Err(TargetError::Invalid);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    Ok(url)
}

/// Parses, resolves once, and checks every address the host resolves to.
pub async fn resolve_target(raw: &str, allow_private: bool) -> Result<PinnedTarget, TargetError> {
    let url = parse_target(raw)?;
    let port = url.port_or_known_default().ok_or(TargetError::Invalid)?;
    let (domain, addrs) = match url.host() {
        Some(Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (None, vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(Host::Domain(name)) => {
            let name = name.to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|_| TargetError::Unresolved(name.clone()))?
                .collect();
            if addrs.is_empty() {
                return Err(TargetError::Unresolved(name));
            }
            (Some(name), addrs)
        }
        None => return Err(TargetError::Invalid),
    };
    if !allow_private {
        if let Some(bad) = addrs.iter().map(SocketAddr::ip).find(|ip| !is_public(*ip)) {
            return Err(TargetError::Private(bad));
        }
    }
    Ok(PinnedTarget { url, domain, addrs })
}

/// True for globally routable unicast addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)) // discard-only 100::/64
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0];
    let compatible = s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified();
    (nat64 || compatible).then(|| {
        let [.., hi, lo] = s;
        Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_without_credentials() {
        assert!(parse_target("https://shop.example/hooks").is_ok());
        assert!(parse_target("http://shop.example:8080/hooks").is_ok());
        assert_eq!(
            parse_target("ftp://shop.example/hooks").unwrap_err(),
            TargetError::Scheme("ftp".into())
        );
        assert_eq!(
            parse_target("file:///etc/passwd").unwrap_err(),
            TargetError::Scheme("file".into())
        );
        assert_eq!(
            parse_target("gopher://shop.example/").unwrap_err(),
            TargetError::Scheme("gopher".into())
        );
        assert_eq!(
            parse_target("https://user:pw@shop.example/").unwrap_err(),
            TargetError::Credentials
        );
        assert_eq!(parse_target("not a url").unwrap_err(), TargetError::Invalid);
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(!is_public(ip), "{private} must not count as public");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:9/hook",
            "http://localhost:9/hook",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(
                matches!(
                    resolve_target(url, false).await,
                    Err(TargetError::Private(_))
                ),
                "{url}"
            );
        }
        let allowed = resolve_target("http://localhost:9/hook", true)
            .await
            .unwrap();
        assert_eq!(allowed.domain.as_deref(), Some("localhost"));
        assert!(allowed
            .addrs
            .iter()
            .all(|a| a.port() == 9 && a.ip().is_loopback()));
        let literal = resolve_target("https://93.184.216.34/hook", false)
            .await
            .unwrap();
        assert_eq!(literal.domain, None);
        assert_eq!(literal.addrs, vec!["93.184.216.34:443".parse().unwrap()]);
    }
}
