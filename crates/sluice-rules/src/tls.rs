//! Just enough of a TLS ClientHello to find the server name (`req.ssl_sni`), reading only
//! what has been buffered and never trusting a length.

/// What the buffered bytes say about the SNI.
#[derive(Debug, PartialEq, Eq)]
pub enum Sni<'a> {
    /// The host name.
    Found(&'a [u8]),
    /// A complete ClientHello without one, or not a ClientHello at all.
    Absent,
    /// More bytes are needed.
    Incomplete,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1)
            .and_then(|s| s.first())
            .map(|&b| usize::from(b))
    }
    fn u16(&mut self) -> Option<usize> {
        let s = self.take(2)?;
        Some(usize::from(*s.first()?) << 8 | usize::from(*s.get(1)?))
    }
    fn u24(&mut self) -> Option<usize> {
        let hi = self.u8()?;
        Some(hi << 16 | self.u16()?)
    }
}

/// The handshake type of the first TLS record (`req.ssl_hello_type`: 1 for a ClientHello),
/// `Err(true)` while more bytes are needed, `Err(false)` when it is not TLS.
pub fn hello_type(payload: &[u8]) -> Result<u8, bool> {
    if payload.first().is_some_and(|&b| b != 22) || payload.get(1).is_some_and(|&b| b != 3) {
        return Err(false);
    }
    // Record header (5 bytes), then the handshake type and its 24-bit length.
    let (Some(&kind), Some(len)) = (payload.get(5), payload.get(6..9)) else {
        return Err(true);
    };
    let len = len.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b));
    if payload.len() < 9 + len {
        return Err(true);
    }
    Ok(kind)
}

/// The protocol names of the ALPN extension of the ClientHello in `payload`.
pub fn client_hello_alpn(payload: &[u8]) -> Result<Vec<&[u8]>, bool> {
    let ext = match client_hello_extension(payload, 16) {
        Sni::Found(data) => data,
        Sni::Absent => return Ok(Vec::new()),
        Sni::Incomplete => return Err(true),
    };
    let mut r = Reader { buf: ext, pos: 0 };
    let mut names = Vec::new();
    let Some(list_len) = r.u16() else {
        return Ok(names);
    };
    let Some(list) = r.take(list_len) else {
        return Ok(names);
    };
    let mut r = Reader { buf: list, pos: 0 };
    while let Some(n) = r.u8() {
        match r.take(n) {
            Some(name) => names.push(name),
            None => break,
        }
    }
    Ok(names)
}

/// The data of extension `kind` of the ClientHello (`Found`), reusing [`Sni`]'s states.
fn client_hello_extension(payload: &[u8], kind: usize) -> Sni<'_> {
    if payload.len() < 5 {
        return Sni::Incomplete;
    }
    if payload.first() != Some(&22) || payload.get(1) != Some(&3) {
        return Sni::Absent;
    }
    let mut r = Reader {
        buf: payload,
        pos: 3,
    };
    let Some(record_len) = r.u16() else {
        return Sni::Incomplete;
    };
    let Some(record) = r.take(record_len) else {
        return Sni::Incomplete;
    };
    hello_extension(record, kind).unwrap_or(Sni::Absent)
}

fn hello_extension(record: &[u8], wanted: usize) -> Option<Sni<'_>> {
    let mut r = Reader {
        buf: record,
        pos: 0,
    };
    if r.u8()? != 1 {
        return Some(Sni::Absent);
    }
    let len = r.u24()?;
    let body = r.take(len)?;
    let mut r = Reader { buf: body, pos: 0 };
    r.take(2 + 32)?;
    let sid = r.u8()?;
    r.take(sid)?;
    let suites = r.u16()?;
    r.take(suites)?;
    let comp = r.u8()?;
    r.take(comp)?;
    let Some(ext_len) = r.u16() else {
        return Some(Sni::Absent);
    };
    let exts = r.take(ext_len)?;
    let mut r = Reader { buf: exts, pos: 0 };
    while let (Some(kind), Some(len)) = (r.u16(), r.u16()) {
        let data = r.take(len)?;
        if kind == wanted {
            return Some(Sni::Found(data));
        }
    }
    Some(Sni::Absent)
}

/// Finds the SNI in the first TLS record of `payload`.
pub fn client_hello_sni(payload: &[u8]) -> Sni<'_> {
    if payload.len() < 5 {
        return Sni::Incomplete;
    }
    // Record: type 22 (handshake), version 3.x, length.
    if payload.first() != Some(&22) || payload.get(1) != Some(&3) {
        return Sni::Absent;
    }
    let mut r = Reader {
        buf: payload,
        pos: 3,
    };
    let Some(record_len) = r.u16() else {
        return Sni::Incomplete;
    };
    let Some(record) = r.take(record_len) else {
        return Sni::Incomplete;
    };
    parse_hello(record).unwrap_or(Sni::Absent)
}

fn parse_hello(record: &[u8]) -> Option<Sni<'_>> {
    let mut r = Reader {
        buf: record,
        pos: 0,
    };
    if r.u8()? != 1 {
        return Some(Sni::Absent);
    }
    let len = r.u24()?;
    let body = r.take(len)?;
    let mut r = Reader { buf: body, pos: 0 };
    r.take(2 + 32)?; // version, random
    let sid = r.u8()?;
    r.take(sid)?;
    let suites = r.u16()?;
    r.take(suites)?;
    let comp = r.u8()?;
    r.take(comp)?;
    let ext_len = match r.u16() {
        Some(l) => l,
        None => return Some(Sni::Absent),
    };
    let exts = r.take(ext_len)?;
    let mut r = Reader { buf: exts, pos: 0 };
    while let (Some(kind), Some(len)) = (r.u16(), r.u16()) {
        let data = r.take(len)?;
        if kind != 0 {
            continue;
        }
        let mut s = Reader { buf: data, pos: 0 };
        let list_len = s.u16()?;
        let list = s.take(list_len)?;
        let mut s = Reader { buf: list, pos: 0 };
        while let Some(name_type) = s.u8() {
            let n = s.u16()?;
            let name = s.take(n)?;
            if name_type == 0 {
                return Some(Sni::Found(name));
            }
        }
    }
    Some(Sni::Absent)
}

#[cfg(test)]
pub(crate) fn client_hello(name: &str) -> Vec<u8> {
    let host = name.as_bytes();
    let mut sni = Vec::new();
    let list_len = host.len() + 3;
    sni.extend_from_slice(&(list_len as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(host.len() as u16).to_be_bytes());
    sni.extend_from_slice(host);
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(&sni);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0u8; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one suite
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![22, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_type_and_alpn_wait_for_the_whole_record() {
        let hello = client_hello("www.example.com");
        assert_eq!(hello_type(&hello), Ok(1));
        assert_eq!(hello_type(&hello[..7]), Err(true));
        assert_eq!(hello_type(b"GET / HTTP/1.1\r\n"), Err(false));
        assert_eq!(client_hello_alpn(&hello), Ok(Vec::new()));
        assert_eq!(client_hello_alpn(&hello[..20]), Err(true));
    }

    #[test]
    fn finds_the_server_name_once_the_record_is_complete() {
        let hello = client_hello("www.example.com");
        assert_eq!(client_hello_sni(&hello), Sni::Found(b"www.example.com"));
        assert_eq!(client_hello_sni(&hello[..hello.len() - 3]), Sni::Incomplete);
        assert_eq!(client_hello_sni(b"GET / HTTP/1.1\r\n"), Sni::Absent);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = client_hello_sni(&bytes);
            let mut framed = vec![22, 3, 1];
            framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            framed.extend_from_slice(&bytes);
            let _ = client_hello_sni(&framed);
        }
    }
}
