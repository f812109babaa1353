//! The PROXY v2 header sent to a server (`send-proxy-v2`) with its TLVs: the ALPN the client
//! negotiated, and what `proxy-v2-options` and `set-proxy-v2-tlv-fmt(<id>)` ask for, in
//! HAProxy's order (CRC32C first, filled in last, over the whole header).
//!
//! The stream's facts come from its sample source: the unique ID (made now from the
//! frontend's `unique-id-format` if nothing made it yet), the client's TLS details, the
//! TLVs of the PROXY header the client connection started with, and the variables and
//! request the custom formats read.

use super::{ssl, v2, write_v2};
use crate::tls::TlsInfo;
use sluice_model::proxy::server::ProxyV2Options;
use sluice_rules::{LogFormat, SampleSource};
use std::net::SocketAddr;

/// What a server's v2 headers carry beyond the addresses.
#[derive(Debug, Default)]
pub struct ServerTlvs {
    pub options: ProxyV2Options,
    /// `set-proxy-v2-tlv-fmt(<id>) <fmt>`: (type, format), in order.
    pub custom: Vec<(u8, LogFormat)>,
}

impl ServerTlvs {
    /// Whether the header names one request (its unique ID, values the formats make from
    /// it): a connection that carried it is not used for another request, as HAProxy, which
    /// reuses a connection only for an identical PROXY header.
    pub fn per_request(&self) -> bool {
        self.options.unique_id || !self.custom.is_empty()
    }
}

/// Appends the v2 header for a server with `tlvs`, on behalf of the client at `addrs`;
/// `stream`: the stream's sample source, when at hand (without it, only the addresses and a
/// CRC32C are sent), and the client connection's TLS details.
pub fn write_for_server(
    out: &mut Vec<u8>,
    addrs: Option<(SocketAddr, SocketAddr)>,
    tlvs: &ServerTlvs,
    (stream, client_tls): (Option<&dyn SampleSource>, Option<&TlsInfo>),
) {
    let start = out.len();
    let o = &tlvs.options;
    let mut values = Values::default();
    if o.crc32c {
        values.push(v2::TYPE_CRC32C, &[0; 4]);
    }
    if let Some(src) = stream {
        let conn = src.connection();
        let received = conn.proxy_tlvs().unwrap_or_default();
        let received_tlv = |kind: u8| v2::Tlvs::new(received).find(|t| t.kind == kind);
        if let Some(alpn) = conn.ssl_alpn() {
            values.push(v2::TYPE_ALPN, alpn);
        }
        if o.authority {
            // The authority the client's own PROXY header carried, else its SNI.
            let authority = received_tlv(v2::TYPE_AUTHORITY)
                .map(|t| t.value)
                .or_else(|| conn.ssl_sni());
            if let Some(a) = authority {
                values.push(v2::TYPE_AUTHORITY, a);
            }
        }
        if o.unique_id {
            let id = sluice_rules::unique_id::of(src).unwrap_or_default();
            values.push(v2::TYPE_UNIQUE_ID, id);
        }
        let mut rendered = Vec::new();
        for (kind, format) in &tlvs.custom {
            // `render` replaces what its buffer holds.
            format.render(src, &mut rendered);
            values.push(*kind, &rendered);
        }
        if o.ssl {
            let mut ssl = Vec::new();
            ssl_tlv(&mut ssl, o, client_tls.filter(|_| conn.ssl_fc()));
            values.push(v2::TYPE_SSL, &ssl);
        }
    }
    let pairs: Vec<(u8, &[u8])> = values
        .list
        .iter()
        .map(|(k, r)| (*k, values.bytes.get(r.clone()).unwrap_or_default()))
        .collect();
    write_v2(out, addrs, false, &pairs);
    if o.crc32c {
        fill_crc32c(out, start);
    }
}

/// The value of `PP2_TYPE_SSL` for a client connection with TLS details `tls` (`None`: not
/// TLS): client flags, the verify result (0: a certificate, if any, was verified), then the
/// version, and what `o` asks for of the common name and the cipher. The key and signature
/// algorithms (`cert-key`, `cert-sig`) are not sent.
fn ssl_tlv(out: &mut Vec<u8>, o: &ProxyV2Options, tls: Option<&TlsInfo>) {
    let Some(tls) = tls else {
        out.extend_from_slice(&[0; 5]);
        return;
    };
    let mut client = ssl::CLIENT_SSL;
    if tls.client_cert {
        client |= ssl::CLIENT_CERT_CONN | ssl::CLIENT_CERT_SESS;
    }
    out.push(client);
    out.extend_from_slice(&0u32.to_be_bytes());
    let mut sub = |kind: u8, value: &[u8]| {
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        out.push(kind);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(value.get(..usize::from(len)).unwrap_or_default());
    };
    if let Some(v) = tls.version {
        sub(v2::SUBTYPE_SSL_VERSION, v.as_bytes());
    }
    if o.cert_cn {
        if let Some(cn) = &tls.client_cn {
            sub(v2::SUBTYPE_SSL_CN, cn);
        }
    }
    if o.ssl_cipher {
        if let Some(c) = tls.cipher {
            sub(v2::SUBTYPE_SSL_CIPHER, c.as_bytes());
        }
    }
}

/// TLV values copied into one buffer, listed by range.
#[derive(Default)]
struct Values {
    bytes: Vec<u8>,
    list: Vec<(u8, std::ops::Range<usize>)>,
}

impl Values {
    fn push(&mut self, kind: u8, value: &[u8]) {
        let from = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.list.push((kind, from..self.bytes.len()));
    }
}

/// Sets the first CRC32C TLV of the v2 header that starts at byte `start` of `out` (and
/// ends `out`) to the checksum of the whole header, computed with that value zeroed.
pub fn fill_crc32c(out: &mut [u8], start: usize) {
    let Some(header) = out.get_mut(start..) else {
        return;
    };
    let addr_len = match header.get(13).map(|f| f >> 4) {
        Some(1) => 12,
        Some(2) => 36,
        Some(3) => 216,
        _ => 0,
    };
    let mut at = super::V2_FIXED_LEN + addr_len;
    let value_at = loop {
        let (Some(&kind), Some(&hi), Some(&lo)) =
            (header.get(at), header.get(at + 1), header.get(at + 2))
        else {
            return;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if kind == v2::TYPE_CRC32C && len == 4 {
            break at + 3;
        }
        at += 3 + len;
    };
    let Some(slot) = header.get_mut(value_at..value_at + 4) else {
        return;
    };
    slot.fill(0);
    let crc = super::crc32c::checksum(header);
    if let Some(slot) = header.get_mut(value_at..value_at + 4) {
        slot.copy_from_slice(&crc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy_protocol::{parse, Parsed};

    #[test]
    fn crc32c_is_first_and_verifies() {
        let tlvs = ServerTlvs {
            options: ProxyV2Options {
                crc32c: true,
                ..ProxyV2Options::default()
            },
            custom: Vec::new(),
        };
        let mut out = b"junk".to_vec();
        let src: SocketAddr = "192.0.2.1:1234"
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([0; 4], 0)));
        let dst: SocketAddr = "192.0.2.2:80"
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([0; 4], 0)));
        write_for_server(&mut out, Some((src, dst)), &tlvs, (None, None));
        let header = &out[4..];
        match parse(header) {
            Parsed::Complete { len, header: h } => {
                assert_eq!(len, header.len());
                let first = h.tlvs().next().map(|t| t.kind);
                assert_eq!(first, Some(v2::TYPE_CRC32C));
            }
            other => panic!("{other:?}"),
        }
        // A flipped bit anywhere is refused.
        let mut bad = header.to_vec();
        bad[20] ^= 1;
        assert!(matches!(parse(&bad), Parsed::Error(_)));
    }
}
