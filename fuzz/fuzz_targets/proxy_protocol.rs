//! Arbitrary bytes as the start of a connection on an `accept-proxy` listener: the PROXY
//! header parser must never panic, a header it accepts must lie within the input, and what
//! it accepts must be written back to an equivalent header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_proxy::proxy_protocol::{parse, write_v1, write_v2, Parsed};

fuzz_target!(|data: &[u8]| {
    if let Parsed::Complete { len, header } = parse(data) {
        assert!(len <= data.len());
        assert!(header.tlvs().count() <= len);
        let addrs = header.inet();
        let mut out = Vec::new();
        if header.version == 1 {
            write_v1(&mut out, addrs);
        } else {
            write_v2(&mut out, addrs, addrs.is_none(), &[]);
        }
        match parse(&out) {
            Parsed::Complete { len, header: again } => {
                assert_eq!(len, out.len());
                assert_eq!(again.inet().is_some(), addrs.is_some());
            }
            other => panic!("written header does not parse: {other:?}"),
        }
    }
    // Every prefix of the input is a valid beginning or fails the same way.
    for cut in [1usize, 12, 16, 64] {
        if let Some(prefix) = data.get(..cut) {
            let _ = parse(prefix);
        }
    }
});
