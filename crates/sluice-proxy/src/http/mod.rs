//! `mode http`: HTTP/1.1 proxying with the codec of [`sluice_http`].
//!
//! - [`session`]: the per-connection loop (read a head, route, pick a server, forward the
//!   head and body, forward the response, keep-alive or close; pipelining, upgrades,
//!   `Expect: 100-continue`).
//! - [`head`]: writes the heads sent on (hop-by-hop `Connection` handling, forwardfor).
//! - [`rules`]: the one place per stage where ACL rules plug in.
//! - [`abort`]: `option abortonclose`, the client watched while its request waits.
//! - [`buf`], [`forwardfor`]: the buffer type and `option forwardfor`.

pub mod abort;
pub mod body;
pub mod buf;
pub mod compression;
pub mod cookie;
pub mod forwarded;
pub mod forwardfor;
pub mod head;
pub mod monitor;
pub mod restrict_hdr_names;
pub mod rules;
pub mod session;

use buf::Buf;
use head::Edits;
use sluice_http::{ChunkedDecoder, RequestHead, ResponseHead};
use sluice_rules::{Txn, UniqueId};

/// What one HTTP exchange works in: both buffers, the outgoing head, both parsed heads.
/// Taken from the thread's free list when a request starts and given back when the
/// connection goes idle, so that idle connections hold no buffer and nothing is allocated
/// per request.
pub struct Scratch {
    /// Bytes from the client.
    pub cbuf: Buf,
    /// Bytes from the server.
    pub sbuf: Buf,
    /// The head being sent (request to the server, response to the client).
    pub out: Vec<u8>,
    pub req: RequestHead,
    pub resp: ResponseHead,
    pub chunks: ChunkedDecoder,
    /// What rules changed in the head at hand (used only when the proxies have rules).
    pub edits: Edits,
    /// The rules' transaction (variables, captures).
    pub txn: Txn,
    /// The request's unique ID (`unique-id-format`), made only when something reads it.
    pub uid: UniqueId,
}

impl Scratch {
    /// Buffers of `bufsize` bytes.
    pub fn new(bufsize: usize) -> Scratch {
        Scratch {
            cbuf: Buf::new(bufsize),
            sbuf: Buf::new(bufsize),
            out: Vec::with_capacity(1024),
            req: RequestHead::new(),
            resp: ResponseHead::new(),
            chunks: ChunkedDecoder::new(),
            edits: Edits::default(),
            txn: Txn::new(),
            uid: UniqueId::new(),
        }
    }

    /// Empties everything for the next user.
    pub fn reset(&mut self) {
        self.cbuf.clear();
        self.sbuf.clear();
        self.out.clear();
    }

    /// Both buffers (the TCP relay's two directions).
    pub fn bufs(&mut self) -> (&mut Buf, &mut Buf) {
        (&mut self.cbuf, &mut self.sbuf)
    }
}
