use super::*;
use proptest::prelude::*;
use std::net::SocketAddr;

fn sa(s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
}

fn complete(buf: &[u8]) -> (usize, Header<'_>) {
    match parse(buf) {
        Parsed::Complete { len, header } => (len, header),
        other => panic!("expected a header, got {other:?}"),
    }
}

#[test]
fn v1_tcp4_and_what_follows() {
    let buf = b"PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\nGET / HTTP/1.1\r\n";
    let (len, h) = complete(buf);
    assert_eq!(len, 43);
    assert_eq!(h.version, 1);
    assert_eq!(
        h.inet(),
        Some((sa("192.168.0.1:56324"), sa("10.0.0.2:443")))
    );
}

#[test]
fn v1_tcp6_unknown_and_the_longest_line() {
    let (_, h) = complete(b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
    assert_eq!(h.inet(), Some((sa("[2001:db8::1]:1"), sa("[::1]:65535"))));
    let (len, h) = complete(b"PROXY UNKNOWN\r\n");
    assert_eq!((len, h.addresses), (15, Addresses::Unknown));
    let f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    let longest = format!("PROXY UNKNOWN {f} {f} 65535 65535\r\n");
    assert_eq!(longest.len(), V1_MAX_LEN);
    assert_eq!(complete(longest.as_bytes()).0, V1_MAX_LEN);
    let tcp6 = format!("PROXY TCP6 {f} {f} 65535 65535\r\n");
    assert_eq!(complete(tcp6.as_bytes()).0, V1_MAX_LEN - 3);
}

#[test]
fn v1_partial_then_errors() {
    for p in [
        &b"P"[..],
        b"PROX",
        b"PROXY TCP4 1.2.3.4",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r",
    ] {
        assert_eq!(
            parse(p),
            Parsed::Partial,
            "{:?}",
            String::from_utf8_lossy(p)
        );
    }
    let bad: &[(&[u8], Error)] = &[
        (b"PROXI TCP4", Error::NotProxy),
        (b"GET / HTTP/1.1\r\n", Error::NotProxy),
        (b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", Error::BadProtocol),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", Error::BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", Error::BadPort),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", Error::BadPort),
        (b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", Error::BadAddress),
        (b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", Error::BadAddress),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", Error::BadSyntax),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", Error::BadSyntax),
        (b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", Error::BadSyntax),
        (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", Error::BadSyntax),
        (b"PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n", Error::BadSyntax),
    ];
    for (input, e) in bad {
        assert_eq!(
            parse(input),
            Parsed::Error(*e),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let mut long = b"PROXY UNKNOWN ".to_vec();
    long.resize(200, b'a');
    assert_eq!(parse(&long), Parsed::Error(Error::TooLong));
}

#[test]
fn v2_round_trips_with_tlvs() {
    let addrs = Some((sa("10.1.2.3:4000"), sa("10.0.0.1:80")));
    let mut out = Vec::new();
    write_v2(
        &mut out,
        addrs,
        false,
        &[(v2::TYPE_ALPN, b"h2"), (v2::TYPE_AUTHORITY, b"example.com")],
    );
    out.extend_from_slice(b"rest");
    let (len, h) = complete(&out);
    assert_eq!(len, out.len() - 4);
    assert_eq!(
        (h.version, h.command, h.transport),
        (2, Command::Proxy, Transport::Stream)
    );
    assert_eq!(h.inet(), addrs);
    assert_eq!(h.alpn(), Some(&b"h2"[..]));
    assert_eq!(h.authority(), Some(&b"example.com"[..]));
    // Every strict prefix is a valid beginning.
    for i in 0..len {
        assert_eq!(parse(&out[..i]), Parsed::Partial, "prefix {i}");
    }
    let mut six = Vec::new();
    write_v2(
        &mut six,
        Some((sa("[2001:db8::5]:1"), sa("[::1]:2"))),
        false,
        &[],
    );
    assert_eq!(
        complete(&six).1.inet(),
        Some((sa("[2001:db8::5]:1"), sa("[::1]:2")))
    );
    let mut local = Vec::new();
    write_v2(&mut local, None, true, &[]);
    let (len, h) = complete(&local);
    assert_eq!((len, h.command, h.inet()), (16, Command::Local, None));
}

#[test]
fn v2_ssl_and_unix() {
    let ssl = [
        0x01,
        0,
        0,
        0,
        0,
        v2::SUBTYPE_SSL_VERSION,
        0,
        7,
        b'T',
        b'L',
        b'S',
        b'v',
        b'1',
        b'.',
        b'3',
    ];
    let mut out = Vec::new();
    write_v2(
        &mut out,
        Some((sa("1.2.3.4:5"), sa("6.7.8.9:10"))),
        false,
        &[(v2::TYPE_SSL, &ssl)],
    );
    let (_, h) = complete(&out);
    let s = h.ssl().expect("ssl tlv");
    assert!(s.is_tls());
    assert_eq!(s.get(v2::SUBTYPE_SSL_VERSION), Some(&b"TLSv1.3"[..]));

    let mut unix = V2_SIGNATURE.to_vec();
    unix.extend_from_slice(&[0x21, 0x31, 0, 216]);
    let mut paths = [0u8; 216];
    paths[..4].copy_from_slice(b"/a/b");
    paths[108..110].copy_from_slice(b"/c");
    unix.extend_from_slice(&paths);
    let (len, h) = complete(&unix);
    assert_eq!(len, 232);
    assert_eq!(
        h.addresses,
        Addresses::Unix {
            src: b"/a/b",
            dst: b"/c"
        }
    );
}

#[test]
fn v2_strictness() {
    let mut good = Vec::new();
    write_v2(
        &mut good,
        Some((sa("1.2.3.4:5"), sa("6.7.8.9:10"))),
        false,
        &[],
    );
    let with = |i: usize, b: u8| {
        let mut v = good.clone();
        v[i] = b;
        v
    };
    assert_eq!(parse(&with(3, b'x')), Parsed::Error(Error::NotProxy));
    assert_eq!(parse(&with(12, 0x11)), Parsed::Error(Error::BadVersion));
    assert_eq!(parse(&with(12, 0x22)), Parsed::Error(Error::BadCommand));
    assert_eq!(parse(&with(13, 0x41)), Parsed::Error(Error::BadFamily));
    assert_eq!(parse(&with(13, 0x13)), Parsed::Error(Error::BadFamily));
    // Shorter than IPv4 addresses need.
    assert_eq!(parse(&with(15, 11)), Parsed::Error(Error::BadLength));
    // Longer: the extra bytes must be whole TLVs.
    let mut long = with(15, 14);
    long.extend_from_slice(&[1, 0]);
    assert_eq!(parse(&long), Parsed::Error(Error::BadTlv));
    let mut tlv = with(15, 15);
    tlv.extend_from_slice(&[v2::TYPE_NOOP, 0, 0]);
    assert!(matches!(parse(&tlv), Parsed::Complete { len: 31, .. }));
}

#[test]
fn v1_writer() {
    let mut out = Vec::new();
    write_v1(&mut out, Some((sa("[::ffff:1.2.3.4]:5"), sa("6.7.8.9:10"))));
    assert_eq!(out, b"PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n");
    out.clear();
    write_v1(&mut out, Some((sa("[2001:db8::1]:5"), sa("6.7.8.9:10"))));
    assert_eq!(out, b"PROXY TCP6 2001:db8::1 ::ffff:6.7.8.9 5 10\r\n");
    assert!(matches!(parse(&out), Parsed::Complete { .. }));
    out.clear();
    write_v1(&mut out, None);
    assert_eq!(out, b"PROXY UNKNOWN\r\n");
}

proptest! {
    #[test]
    fn never_panics_and_lengths_hold(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Parsed::Complete { len, header } = parse(&data) {
            prop_assert!(len <= data.len());
            prop_assert!(header.tlvs().count() <= len);
        }
    }

    #[test]
    fn v2_with_signature_never_panics(rest in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut data = V2_SIGNATURE.to_vec();
        data.extend_from_slice(&rest);
        if let Parsed::Complete { len, .. } = parse(&data) {
            prop_assert!(len <= data.len() && len >= V2_FIXED_LEN);
        }
    }

    #[test]
    fn written_headers_parse_back(a in any::<[u8; 4]>(), b in any::<[u8; 16]>(), p in any::<u16>(), q in any::<u16>()) {
        let src = SocketAddr::from((a, p));
        let dst = SocketAddr::from((b, q));
        for v2 in [false, true] {
            let mut out = Vec::new();
            if v2 { write_v2(&mut out, Some((src, dst)), false, &[]) } else { write_v1(&mut out, Some((src, dst))) }
            match parse(&out) {
                Parsed::Complete { len, header } => {
                    prop_assert_eq!(len, out.len());
                    let (s, d) = header.inet().unwrap_or((dst, src));
                    prop_assert_eq!((unmap(s), unmap(d)), (unmap(src), unmap(dst)));
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
