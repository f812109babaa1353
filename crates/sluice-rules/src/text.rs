//! Numbers and addresses written as text into a byte buffer, on the per-request path.
//!
//! `write!(out, "{ip}")` goes through `core::fmt` (a formatter, padding, a temporary buffer):
//! a few hundred instructions for an IPv4 address that `X-Forwarded-For`, `%[src]` and the
//! logs write on every request. These writers produce the same text directly.

use std::net::{IpAddr, Ipv4Addr};

/// Appends `ip` as `std` prints it (dotted quad; IPv6 in RFC 5952 form).
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => push_ipv4(out, v4),
        IpAddr::V6(v6) => {
            use std::io::Write;
            // Rare on the fast path; the standard form (RFC 5952 compression) is kept.
            let _ = write!(out, "{v6}");
        }
    }
}

/// Appends `ip` as a dotted quad (`192.0.2.1`).
pub fn push_ipv4(out: &mut Vec<u8>, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        push_u8(out, octet);
    }
}

fn push_u8(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.push(b'0' + n / 100);
        out.push(b'0' + n / 10 % 10);
    } else if n >= 10 {
        out.push(b'0' + n / 10);
    }
    out.push(b'0' + n % 10);
}

/// Appends `n` in decimal.
pub fn push_int<I: itoa::Integer>(out: &mut Vec<u8>, n: I) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn ip_text(ip: IpAddr) -> String {
        let mut out = Vec::new();
        push_ip(&mut out, ip);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn ipv4_matches_std_for_every_octet_width() {
        for octets in [
            [0, 0, 0, 0],
            [9, 10, 99, 100],
            [127, 0, 0, 1],
            [255, 255, 255, 255],
        ] {
            let ip = IpAddr::V4(Ipv4Addr::from(octets));
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for n in 0..=255u8 {
            let ip = IpAddr::V4(Ipv4Addr::new(n, 255 - n, n / 2, 7));
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn ipv6_keeps_the_compressed_form() {
        let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        assert_eq!(ip_text(ip), "2001:db8::1");
    }

    #[test]
    fn integers_in_decimal() {
        let mut out = Vec::new();
        push_int(&mut out, -42i64);
        out.push(b' ');
        push_int(&mut out, u64::MAX);
        assert_eq!(out, b"-42 18446744073709551615");
    }
}
