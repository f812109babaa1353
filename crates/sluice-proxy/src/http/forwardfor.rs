//! `option forwardfor [except <network>] [header <name>] [if-none]`.

use sluice_model::Proxy;
use std::net::IpAddr;

/// What `option forwardfor` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardFor {
    /// The header name (default `x-forwarded-for`).
    pub header: String,
    /// Clients in this network get no header.
    pub except: Option<(IpAddr, u8)>,
    /// Add the header only when the request has none.
    pub if_none: bool,
}

impl ForwardFor {
    /// The proxy's `option forwardfor`, if on.
    pub fn of(proxy: &Proxy) -> Option<ForwardFor> {
        let o = proxy.option("forwardfor")?;
        let mut ff = ForwardFor {
            header: "x-forwarded-for".into(),
            except: None,
            if_none: false,
        };
        let mut args = o.args.iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "header" => {
                    if let Some(h) = args.next() {
                        ff.header = h.clone();
                    }
                }
                "except" => ff.except = args.next().and_then(|n| parse_net(n)),
                "if-none" => ff.if_none = true,
                _ => {}
            }
        }
        Some(ff)
    }

    /// Whether a client at `ip` gets the header.
    pub fn applies(&self, ip: IpAddr) -> bool {
        match self.except {
            Some((net, bits)) => !in_net(ip, net, bits),
            None => true,
        }
    }
}

fn parse_net(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, b),
        None => (text, ""),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = if bits.is_empty() {
        max
    } else if let Ok(b) = bits.parse::<u8>() {
        b.min(max)
    } else {
        // A dotted mask (255.255.0.0).
        let mask: std::net::Ipv4Addr = bits.parse().ok()?;
        u32::from(mask).count_ones() as u8
    };
    Some((ip, bits))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn except_networks() {
        let ff = ForwardFor {
            header: "x-forwarded-for".into(),
            except: parse_net("127.0.0.0/8"),
            if_none: false,
        };
        assert!(!ff.applies("127.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))));
        assert!(ff.applies("10.0.0.1".parse().unwrap_or(IpAddr::from([127, 0, 0, 1]))));
    }
}
