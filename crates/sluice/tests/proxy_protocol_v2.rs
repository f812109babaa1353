//! End-to-end: the real binary sending PROXY v2 headers with TLVs to itself
//! (`proxy-v2-options unique-id,crc32c`, `set-proxy-v2-tlv-fmt`) and reading them back with
//! `fc_pp_unique_id` and `fc_pp_tlv`, and a NetScaler CIP header (`accept-netscaler-cip`)
//! giving the client address the log line shows.

use std::io::Write;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

mod common;
use common::free_port;
use common::http::*;

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// The value of header `name` in a lowercased head.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[test]
fn tlvs_sent_by_one_proxy_are_read_by_the_next() {
    let (sender, receiver) = (free_port(), free_port());
    let cfg = format!(
        "{DEFAULTS}\nfrontend sender\n    bind 127.0.0.1:{sender}\n    unique-id-format ID-%[req.hdr(in)]\n    default_backend relay\n\n\
         backend relay\n    server r 127.0.0.1:{receiver} send-proxy-v2 proxy-v2-options unique-id,crc32c set-proxy-v2-tlv-fmt(0xE1) %[req.hdr(in),upper]\n\n\
         frontend receiver\n    bind 127.0.0.1:{receiver} accept-proxy\n    \
         http-request return status 200 hdr x-uid \"%[fc_pp_unique_id]\" hdr x-tlv \"%[fc_pp_tlv(0xE1)]\" hdr x-crc \"%[fc_pp_tlv(CRC32C),hex]\" hdr x-src \"%[src]\"\n"
    );
    let _s = Sluice::start(&cfg, &[sender, receiver]);
    let mut c = connect(sender);
    // Two requests on one client connection: each has its own ID in its own header.
    for tag in ["abc", "def"] {
        let (head, _) = request(&mut c, "/", &format!("in: {tag}\r\n"));
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let uid = format!("id-{tag}");
        assert_eq!(header(&head, "x-uid"), Some(uid.as_str()), "{head}");
        assert_eq!(header(&head, "x-tlv"), Some(tag), "{head}");
        // The CRC32C was checked by the receiver: it accepted the header.
        assert_eq!(header(&head, "x-crc").map(str::len), Some(8), "{head}");
        assert_eq!(header(&head, "x-src"), Some("127.0.0.1"), "{head}");
    }
}

#[test]
fn a_netscaler_cip_header_gives_the_logged_client_address() {
    let syslog = UdpSocket::bind("127.0.0.1:0").expect("bind syslog");
    syslog
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let log_port = syslog.local_addr().expect("address").port();
    let fe = free_port();
    let cfg = format!(
        "{DEFAULTS}\nfrontend cip\n    bind 127.0.0.1:{fe} accept-netscaler-cip 305419896\n    \
         log 127.0.0.1:{log_port} local0\n    log-format \"client=%ci:%cp\"\n    \
         http-request return status 200 hdr x-src \"%[src]:%[src_port]\"\n"
    );
    let _s = Sluice::start(&cfg, &[fe]);
    let mut c = connect(fe);
    // Standard CIP: magic, CIP length, type 0, header length, then IPv4 and TCP headers
    // from 192.168.0.1:1234 to 10.0.0.2:81.
    let mut cip = 0x1234_5678u32.to_be_bytes().to_vec();
    cip.extend_from_slice(&[0, 0, 0, 0x2c, 0, 0, 0, 0x28]);
    cip.extend_from_slice(&[0x45, 0, 0, 0x28, 0, 1, 0, 0, 0x40, 6, 0, 0]);
    cip.extend_from_slice(&[192, 168, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0, 0x51]);
    cip.extend_from_slice(&[0; 16]);
    c.write_all(&cip).expect("send the CIP header");
    let (head, _) = request(&mut c, "/", "");
    assert_eq!(header(&head, "x-src"), Some("192.168.0.1:1234"), "{head}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        if let Ok(n) = syslog.recv(&mut buf) {
            let line = String::from_utf8_lossy(&buf[..n]).into_owned();
            if line.contains("client=") {
                assert!(line.contains("client=192.168.0.1:1234"), "{line}");
                return;
            }
            lines.push(line);
        }
    }
    panic!("no log line: {lines:#?}");
}
