//! `option forwardfor [except <network>] [header <name>] [if-none]` and
//! `option originalto [except <network>] [header <name>]`.

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

/// The `x-forwarded-for` header one request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Xff<'a> {
    /// The header name.
    pub header: &'a str,
    /// The client's address.
    pub ip: IpAddr,
    /// Add it only when the request has none.
    pub if_none: bool,
}

impl ForwardFor {
    /// The header a request from `ip` gets when the frontend and the backend say `fe` and
    /// `be`, as HAProxy combines them: the backend's header name wins, an `except` of
    /// either leaves the header out, and `if-none` holds only when every side that has the
    /// option says it.
    pub fn combine<'a>(
        fe: Option<&'a ForwardFor>,
        be: Option<&'a ForwardFor>,
        ip: IpAddr,
    ) -> Option<Xff<'a>> {
        let named = be.or(fe)?;
        if [fe, be].into_iter().flatten().any(|f| !f.applies(ip)) {
            return None;
        }
        Some(Xff {
            header: &named.header,
            ip,
            if_none: [fe, be].into_iter().flatten().all(|f| f.if_none),
        })
    }
}

/// What `option originalto` asks for: the address the client connected to, in a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalTo {
    /// The header name when the line names one (default `x-original-to`).
    pub header: Option<String>,
    /// Destinations in this network get no header.
    pub except: Option<(IpAddr, u8)>,
}

impl OriginalTo {
    /// The proxy's `option originalto`, if on.
    pub fn of(proxy: &Proxy) -> Option<OriginalTo> {
        let o = proxy.option("originalto")?;
        let mut ot = OriginalTo {
            header: None,
            except: None,
        };
        let mut args = o.args.iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "header" => ot.header = args.next().cloned(),
                "except" => ot.except = args.next().and_then(|n| parse_net(n)),
                _ => {}
            }
        }
        Some(ot)
    }

    /// The header the server gets for a connection to `dst`, as HAProxy adds it: on when the
    /// frontend or the backend has the option, named by the backend's `header` (else the
    /// frontend's, else `x-original-to`), and left out when `dst` is in either side's
    /// `except` network.
    pub fn header_for<'a>(
        fe: Option<&'a OriginalTo>,
        be: Option<&'a OriginalTo>,
        dst: Option<IpAddr>,
    ) -> Option<(&'a str, IpAddr)> {
        if fe.is_none() && be.is_none() {
            return None;
        }
        let dst = match dst? {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let excluded = |o: Option<&OriginalTo>| {
            o.and_then(|o| o.except)
                .is_some_and(|(net, bits)| in_net(dst, net, bits))
        };
        if excluded(fe) || excluded(be) {
            return None;
        }
        let name = be
            .and_then(|o| o.header.as_deref())
            .or_else(|| fe.and_then(|o| o.header.as_deref()))
            .unwrap_or("x-original-to");
        Some((name, dst))
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
    fn frontend_and_backend_options_combine() {
        let ip = IpAddr::from([10, 0, 0, 1]);
        let opt = |header: &str, except: Option<&str>, if_none: bool| ForwardFor {
            header: header.into(),
            except: except.and_then(parse_net),
            if_none,
        };
        let (fe, be) = (opt("x-fe", None, true), opt("x-be", None, false));
        let x = ForwardFor::combine(Some(&fe), Some(&be), ip);
        assert_eq!(x.map(|x| (x.header, x.if_none)), Some(("x-be", false)));
        let be = opt("x-be", None, true);
        let x = ForwardFor::combine(Some(&fe), Some(&be), ip);
        assert_eq!(x.map(|x| x.if_none), Some(true));
        let x = ForwardFor::combine(Some(&fe), None, ip);
        assert_eq!(x.map(|x| (x.header, x.if_none)), Some(("x-fe", true)));
        let fe = opt("x-fe", Some("10.0.0.0/8"), false);
        assert_eq!(ForwardFor::combine(Some(&fe), Some(&be), ip), None);
        assert_eq!(ForwardFor::combine(None, None, ip), None);
    }

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

    #[test]
    fn original_to_names_and_exceptions() {
        let fe = OriginalTo {
            header: Some("x-fe-dst".into()),
            except: parse_net("10.0.0.0/8"),
        };
        let be = OriginalTo {
            header: Some("x-be-dst".into()),
            except: None,
        };
        let dst = IpAddr::from([192, 168, 1, 2]);
        assert_eq!(OriginalTo::header_for(None, None, Some(dst)), None);
        assert_eq!(
            OriginalTo::header_for(Some(&fe), None, Some(dst)),
            Some(("x-fe-dst", dst))
        );
        assert_eq!(
            OriginalTo::header_for(Some(&fe), Some(&be), Some(dst)),
            Some(("x-be-dst", dst))
        );
        let inside = IpAddr::from([10, 1, 2, 3]);
        assert_eq!(
            OriginalTo::header_for(Some(&fe), Some(&be), Some(inside)),
            None
        );
        let plain = OriginalTo {
            header: None,
            except: None,
        };
        assert_eq!(
            OriginalTo::header_for(None, Some(&plain), Some(dst)),
            Some(("x-original-to", dst))
        );
    }
}
