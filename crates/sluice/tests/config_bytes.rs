//! End to end: bytes of the configuration that are not UTF-8 (`\xE0` in a quoted word)
//! reach sample arguments and log-format text as the bytes written, as in HAProxy.

mod common;

use common::free_port;
use common::http::{connect, header, ok_server, request, Sluice};

#[test]
fn escaped_bytes_reach_converters_and_headers_unchanged() {
    let port = free_port();
    let server = ok_server();
    let cfg = format!(
        "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\n\
         frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-response set-header x-hex \"%[str(\\xE0\\x41),hex]\"\n\
         \x20   http-response set-header x-json-strict \"%[str(\\xE0),json(utf8)]\"\n\
         \x20   http-response set-header x-json-skip \"%[str(-\\xE0-),json(utf8s)]\"\n\
         \x20   http-response set-header x-utf8 \"%[str(caf\u{e9}),hex]\"\n\
         \x20   default_backend be\n\n\
         backend be\n    server s 127.0.0.1:{server}\n"
    );
    let _s = Sluice::start(&cfg, &[port]);
    let (head, _) = request(&mut connect(port), "/", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // One byte each, not a replacement character's three.
    assert_eq!(header(&head, "x-hex").as_deref(), Some("e041"), "{head}");
    // A lone 0xE0 is no UTF-8: `utf8` gives nothing, `utf8s` skips it.
    assert_eq!(
        header(&head, "x-json-strict").as_deref(),
        Some(""),
        "{head}"
    );
    assert_eq!(
        header(&head, "x-json-skip").as_deref(),
        Some("--"),
        "{head}"
    );
    // UTF-8 text stays UTF-8.
    assert_eq!(
        header(&head, "x-utf8").as_deref(),
        Some("636166c3a9"),
        "{head}"
    );
}
