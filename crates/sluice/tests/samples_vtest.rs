//! End-to-end: fetches that read the connection, through the real binary: `so_name` (the
//! bind line's name), the kernel's TCP counters (`fc_rtt`, `fc_lost`...), `http_first_req`
//! and `bc_reused`.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

mod common;
use common::free_port;
use common::http::{header, ok_server as server, read_head, Sluice};

fn get(s: &mut TcpStream) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send a request");
    read_head(s)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    s
}

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

#[test]
fn connection_fetches_see_the_listener_the_kernel_and_the_exchange() {
    let (a, b) = (free_port(), free_port());
    let srv = server();
    let cfg = format!(
        "{DEFAULTS}
frontend fe
    bind 127.0.0.1:{a} name first
    bind 127.0.0.1:{b}
    http-request return status 200 hdr so %[so_name] hdr first %[http_first_req] hdr rtt %[fc_rtt(us)] hdr lost %[fc_lost] if {{ path /ret }}
    http-response set-header so %[so_name]
    http-response set-header reused %[bc_reused]
    http-response set-header first %[http_first_req]
    default_backend be

backend be
    server s1 127.0.0.1:{srv}
"
    );
    let _s = Sluice::start(&cfg, &[a, b]);

    let mut c = connect(a);
    c.write_all(b"GET /ret HTTP/1.1\r\nhost: test\r\n\r\n")
        .expect("send");
    let h = read_head(&mut c);
    assert_eq!(header(&h, "so").as_deref(), Some("first"), "{h}");
    assert_eq!(header(&h, "first").as_deref(), Some("1"), "{h}");
    let rtt = header(&h, "rtt").unwrap_or_default();
    assert!(rtt.parse::<u64>().is_ok(), "fc_rtt is a number: {h}");
    assert!(header(&h, "lost")
        .unwrap_or_default()
        .parse::<u64>()
        .is_ok());

    let h = get(&mut c);
    assert_eq!(header(&h, "so").as_deref(), Some("first"), "{h}");
    assert_eq!(header(&h, "first").as_deref(), Some("0"), "{h}");
    assert_eq!(header(&h, "reused").as_deref(), Some("0"), "{h}");
    let h = get(&mut c);
    assert_eq!(
        header(&h, "reused").as_deref(),
        Some("1"),
        "the server connection is kept: {h}"
    );

    // A bind line without a name: no value.
    let mut c = connect(b);
    let h = get(&mut c);
    assert_eq!(header(&h, "so").as_deref(), Some(""), "{h}");
    assert_eq!(header(&h, "first").as_deref(), Some("1"), "{h}");
}
