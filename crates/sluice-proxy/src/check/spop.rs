//! `option spop-check`: the check of a stream processing offload agent (SPOA). Sluice sends
//! the HAPROXY-HELLO frame an SPOE engine opens a connection with, marked as a health check,
//! and reads the agent's AGENT-HELLO: a supported version and a frame size make the agent
//! healthy, as with HAProxy.

use sluice_rules::varint;

/// Frame types.
const HAPROXY_HELLO: u8 = 1;
const AGENT_HELLO: u8 = 101;
const AGENT_DISCONNECT: u8 = 103;
/// The flag of a frame's last (here: only) fragment.
const FIN: u32 = 1;
/// Data types (the low 4 bits of a type byte; a boolean's value is bit 4).
const T_NULL: u8 = 0;
const T_BOOL: u8 = 1;
const T_INT32: u8 = 2;
const T_UINT32: u8 = 3;
const T_INT64: u8 = 4;
const T_UINT64: u8 = 5;
const T_IPV4: u8 = 6;
const T_IPV6: u8 = 7;
const T_STR: u8 = 8;
const T_BIN: u8 = 9;
const BOOL_TRUE: u8 = 0x10;

/// The protocol version Sluice speaks, as its number (`2.0` is 2000).
const VERSION: u32 = 2000;
/// The largest frame Sluice reads (a 16 kB buffer less the length).
const MAX_FRAME_SIZE: u64 = 16380;
/// The smallest frame size an agent may announce.
const MIN_FRAME_SIZE: u64 = 256;

/// Why an AGENT-HELLO is refused: the SPOP error reasons, in HAProxy's words.
pub const INVALID: &str = "invalid frame received";
const NO_VERSION: &str = "version value not found";
const NO_FRAME_SIZE: &str = "max-frame-size value not found";
const BAD_VERSION: &str = "unsupported version";
const BAD_FRAME_SIZE: &str = "max-frame-size too big or too small";

/// The HAPROXY-HELLO frame of a health check, with its 4-byte length in front.
pub fn hello_request() -> Vec<u8> {
    let mut frame = vec![HAPROXY_HELLO];
    frame.extend_from_slice(&FIN.to_be_bytes());
    frame.extend_from_slice(&[0, 0]); // stream-id and frame-id: 0
    put_str(&mut frame, b"supported-versions");
    frame.push(T_STR);
    put_str(&mut frame, b"2.0");
    put_str(&mut frame, b"max-frame-size");
    frame.push(T_UINT32);
    varint::put(&mut frame, MAX_FRAME_SIZE);
    put_str(&mut frame, b"capabilities");
    frame.push(T_STR);
    put_str(&mut frame, b"");
    put_str(&mut frame, b"healthcheck");
    frame.push(T_BOOL | BOOL_TRUE);
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(&frame);
    out
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    varint::put(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Reads the agent's reply frame (without its length): `Ok` for an AGENT-HELLO Sluice can
/// talk to, else why not.
pub fn agent_hello(frame: &[u8]) -> Result<(), String> {
    let mut r = Reader(frame);
    let kind = r.byte().ok_or(INVALID)?;
    let flags = r.take(4).ok_or(INVALID)?;
    let flags = u32::from_be_bytes([flags[0], flags[1], flags[2], flags[3]]);
    // Stream and frame ids: both 0 on a HELLO.
    if r.byte() != Some(0) || r.byte() != Some(0) {
        return Err(INVALID.into());
    }
    if kind == AGENT_DISCONNECT {
        return Err(disconnect_reason(r));
    }
    if kind != AGENT_HELLO || flags & FIN == 0 {
        return Err(INVALID.into());
    }
    let mut version = false;
    let mut frame_size = false;
    while !r.0.is_empty() {
        let key = r.string().filter(|k| !k.is_empty()).ok_or(INVALID)?;
        let kind = r.byte().ok_or(INVALID)?;
        match key {
            b"version" => {
                if kind & 0x0f != T_STR {
                    return Err(INVALID.into());
                }
                let v = r.string().ok_or(INVALID)?;
                if parse_version(v) != Some(VERSION) {
                    return Err(BAD_VERSION.into());
                }
                version = true;
            }
            b"max-frame-size" => {
                if !matches!(kind & 0x0f, T_INT32 | T_UINT32 | T_INT64 | T_UINT64) {
                    return Err(INVALID.into());
                }
                let size = r.varint().ok_or(INVALID)?;
                if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&size) {
                    return Err(BAD_FRAME_SIZE.into());
                }
                frame_size = true;
            }
            _ => r.skip_value(kind).ok_or(INVALID)?,
        }
    }
    if !version {
        return Err(NO_VERSION.into());
    }
    if !frame_size {
        return Err(NO_FRAME_SIZE.into());
    }
    Ok(())
}

/// The `message` of an AGENT-DISCONNECT, else its status code.
fn disconnect_reason(mut r: Reader<'_>) -> String {
    let mut message = None;
    let mut code = None;
    while !r.0.is_empty() {
        let (Some(key), Some(kind)) = (r.string(), r.byte()) else {
            break;
        };
        match (key, kind & 0x0f) {
            (b"message", T_STR) => {
                message = r.string().map(|m| String::from_utf8_lossy(m).into_owned());
            }
            (b"status-code", T_INT32 | T_UINT32 | T_INT64 | T_UINT64) => code = r.varint(),
            _ => {
                if r.skip_value(kind).is_none() {
                    break;
                }
            }
        }
    }
    match (message, code) {
        (Some(m), _) if !m.is_empty() => m,
        (_, Some(c)) => format!("disconnected by agent (status code {c})"),
        _ => "disconnected by agent".into(),
    }
}

/// `major.minor` as `major * 1000 + minor`.
fn parse_version(v: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(v).ok()?.trim();
    let (major, minor) = text.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    let minor: u32 = minor.parse().ok()?;
    (minor < 1000).then(|| major.saturating_mul(1000).saturating_add(minor))
}

/// A cursor over a frame.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.0.get(..n)?;
        self.0 = self.0.get(n..)?;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let (v, used) = varint::get(self.0).ok()?;
        self.0 = self.0.get(used..)?;
        Some(v)
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    fn skip_value(&mut self, kind: u8) -> Option<()> {
        match kind & 0x0f {
            T_NULL | T_BOOL => {}
            T_INT32 | T_UINT32 | T_INT64 | T_UINT64 => {
                self.varint()?;
            }
            T_IPV4 => {
                self.take(4)?;
            }
            T_IPV6 => {
                self.take(16)?;
            }
            T_STR | T_BIN => {
                self.string()?;
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_hello_is_haproxys_size() {
        let req = hello_request();
        assert_eq!(req.len(), 82);
        assert_eq!(&req[..4], &[0, 0, 0, 0x4e]);
        assert_eq!(req[4], HAPROXY_HELLO);
    }

    #[test]
    fn agent_hellos() {
        let ok = unhex("65 00000001 0000 0776657273696F6E 0803322E30 0E6D61782D6672616D652D73697A65 03FCF006 0C6361706162696C6974696573 0800");
        assert_eq!(agent_hello(&ok), Ok(()));
        assert_eq!(agent_hello(&[]).unwrap_err(), INVALID);
        assert_eq!(
            agent_hello(&unhex("65 00000000 0000")).unwrap_err(),
            INVALID
        );
        let old = unhex("65 00000001 0000 0776657273696F6E 0803312E30");
        assert_eq!(agent_hello(&old).unwrap_err(), BAD_VERSION);
        let no_size = unhex("65 00000001 0000 0776657273696F6E 0803322E30");
        assert_eq!(agent_hello(&no_size).unwrap_err(), NO_FRAME_SIZE);
    }
}
