//! End-to-end: the real binary with a real server on 127.0.0.1 for `unique-id-format`,
//! `unique-id-header`, the `unique-id` fetch and `%[uuid]`: one ID per request, the same for
//! every reader, carried to the server in the header.

use std::time::Duration;

mod common;
use common::free_port;
use common::http::*;

const DEFAULTS: &str = "global\n    chroot /\n\ndefaults\n    mode http\n    retries 0\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n";

/// The value of header `name` in a lowercased head.
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[test]
fn one_id_per_request_seen_by_rules_header_and_response() {
    let srv = echo_server(Duration::ZERO);
    let (fe1, fe2, fe3) = (free_port(), free_port(), free_port());
    let cfg = format!(
        "{DEFAULTS}    unique-id-format ID-%[req.hdr(in)]\n\n\
         frontend data\n    bind 127.0.0.1:{fe1}\n    unique-id-header X-Unique-ID\n    \
         http-request set-var(txn.early) unique-id\n    \
         http-response set-header early %[var(txn.early)]\n    \
         http-response set-header late %[unique-id]\n    default_backend be\n\n\
         frontend random\n    bind 127.0.0.1:{fe2}\n    unique-id-format R-%[uuid]\n    \
         unique-id-header X-Unique-ID\n    http-response set-header a %[unique-id]\n    \
         http-response set-header b %[unique-id]\n    default_backend be\n\n\
         frontend none\n    bind 127.0.0.1:{fe3}\n    default_backend be\n\n\
         backend be\n    server s1 127.0.0.1:{srv}\n"
    );
    let cfg = cfg.replace("frontend none\n", "defaults plain\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\n\nfrontend none\n");
    let _s = Sluice::start(&cfg, &[fe1, fe2, fe3]);

    let mut c = connect(fe1);
    for tag in ["abc", "def"] {
        let (head, body) = request(&mut c, "/", &format!("in: {tag}\r\n"));
        // Heads are read lowercased.
        let want = format!("id-{tag}");
        assert_eq!(header(&head, "early"), Some(want.as_str()), "{head}");
        assert_eq!(header(&head, "late"), Some(want.as_str()), "{head}");
        let sent = body.to_lowercase();
        assert_eq!(header(&sent, "x-unique-id"), Some(want.as_str()), "{body}");
    }

    let mut c = connect(fe2);
    let (h1, b1) = request(&mut c, "/", "");
    let (h2, _) = request(&mut c, "/", "");
    let a1 = header(&h1, "a").expect("an id").to_string();
    assert_eq!(header(&h1, "b"), Some(a1.as_str()));
    assert_eq!(a1.len(), "r-".len() + 36, "{a1}");
    assert_eq!(header(&b1.to_lowercase(), "x-unique-id"), Some(a1.as_str()));
    assert_ne!(header(&h2, "a"), Some(a1.as_str()), "a new id per request");

    let mut c = connect(fe3);
    let (_, body) = request(&mut c, "/", "in: x\r\n");
    assert!(!body.to_lowercase().contains("x-unique-id"), "{body}");
}
