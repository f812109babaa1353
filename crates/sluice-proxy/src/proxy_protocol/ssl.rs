//! What `PP2_TYPE_SSL` says of a client's TLS connection, in OpenSSL's words as HAProxy
//! sends them: the protocol version (`TLSv1.3`), the cipher (`TLS_AES_128_GCM_SHA256`,
//! `ECDHE-RSA-AES128-GCM-SHA256`) and the common name of the client's certificate, read
//! from its DER without a full X.509 parser.

use rustls::{CipherSuite, ProtocolVersion};

/// `PP2_CLIENT_SSL`: the client connected over TLS.
pub const CLIENT_SSL: u8 = 0x01;
/// `PP2_CLIENT_CERT_CONN`: the client presented a certificate on this connection.
pub const CLIENT_CERT_CONN: u8 = 0x02;
/// `PP2_CLIENT_CERT_SESS`: the client presented a certificate in this TLS session.
pub const CLIENT_CERT_SESS: u8 = 0x04;

/// OpenSSL's name of a protocol version.
pub fn version_name(v: ProtocolVersion) -> Option<&'static str> {
    match v {
        ProtocolVersion::TLSv1_3 => Some("TLSv1.3"),
        ProtocolVersion::TLSv1_2 => Some("TLSv1.2"),
        _ => None,
    }
}

/// OpenSSL's name of the cipher suites rustls negotiates.
pub fn cipher_name(s: CipherSuite) -> Option<&'static str> {
    Some(match s {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => {
            "ECDHE-ECDSA-CHACHA20-POLY1305"
        }
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => "ECDHE-RSA-AES128-GCM-SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => "ECDHE-RSA-AES256-GCM-SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => "ECDHE-RSA-CHACHA20-POLY1305",
        _ => return None,
    })
}

/// The DER encoding of the `commonName` attribute type (2.5.4.3).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// One DER element: its tag, its contents, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in der.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let contents = der.get(header..header.checked_add(len)?)?;
    let rest = der.get(header + len..)?;
    Some((tag, contents, rest))
}

/// The first `commonName` of the subject of the certificate `der`, as its bytes.
pub fn subject_common_name(der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const VERSION: u8 = 0xa0;
    let (SEQUENCE, cert, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    // version (optional), serialNumber, signature, issuer, validity, then subject.
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == VERSION {
        rest = after;
    }
    for _ in 0..4 {
        rest = element(rest)?.2;
    }
    let (SEQUENCE, mut rdns, _) = element(rest)? else {
        return None;
    };
    while !rdns.is_empty() {
        let (tag, mut set, next) = element(rdns)?;
        rdns = next;
        if tag != SET {
            continue;
        }
        while !set.is_empty() {
            let (tag, atv, next) = element(set)?;
            set = next;
            if tag != SEQUENCE {
                continue;
            }
            let (0x06, oid, value) = element(atv)? else {
                continue;
            };
            if oid == OID_COMMON_NAME {
                return element(value).map(|(_, v, _)| v);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A DER element with a short or long length.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if contents.len() < 0x80 {
            out.push(contents.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(contents.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(contents);
        out
    }

    fn name(cn: &[u8]) -> Vec<u8> {
        let org = tlv(
            0x30,
            &[tlv(0x06, &[0x55, 4, 10]), tlv(0x0c, b"Org")].concat(),
        );
        let common = tlv(0x30, &[tlv(0x06, OID_COMMON_NAME), tlv(0x0c, cn)].concat());
        tlv(0x30, &[tlv(0x31, &org), tlv(0x31, &common)].concat())
    }

    fn certificate(subject_cn: &[u8], padding: usize) -> Vec<u8> {
        let tbs = [
            tlv(0xa0, &tlv(0x02, &[2])),
            tlv(0x02, &[1, 2, 3]),
            tlv(0x30, &tlv(0x06, &[0x2a, 0x86, 0x48])),
            name(b"issuer"),
            tlv(0x30, &vec![0x17; padding]),
            name(subject_cn),
        ]
        .concat();
        tlv(0x30, &[tlv(0x30, &tbs), tlv(0x03, &[0])].concat())
    }

    #[test]
    fn the_subject_common_name_not_the_issuers() {
        let der = certificate(b"client.example", 3);
        assert_eq!(subject_common_name(&der), Some(&b"client.example"[..]));
        // Long lengths too.
        let der = certificate(b"long", 300);
        assert_eq!(subject_common_name(&der), Some(&b"long"[..]));
        assert_eq!(subject_common_name(&der[..der.len() - 5]), None);
    }

    #[test]
    fn names() {
        assert_eq!(version_name(ProtocolVersion::TLSv1_3), Some("TLSv1.3"));
        assert_eq!(
            cipher_name(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            Some("ECDHE-RSA-AES128-GCM-SHA256")
        );
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = subject_common_name(&data);
        }
    }
}
