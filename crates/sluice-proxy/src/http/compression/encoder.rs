//! The body encoder: gzip (RFC 1952), deflate in the zlib format (RFC 1950) and raw
//! deflate (RFC 1951) with flate2's pure-Rust backend, or identity.
//!
//! The encoder keeps its window (32 KiB) and its tables, about 300 KiB per compressed
//! stream, and never the body: what is fed is flushed out at each [`Encoder::flush`] (a sync
//! flush, as HAProxy does for each buffer), so the client gets data as the server sends it.
//! flate2's pure-Rust backend has a fixed window and memory level: `tune.zlib.windowsize`
//! and `tune.zlib.memlevel` do not apply.

use super::Algorithm;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;
use std::io::{self, Write};

/// One stream's encoder. Its output accumulates inside until taken.
pub enum Encoder {
    Identity(Vec<u8>),
    Gzip(GzEncoder<Vec<u8>>),
    Zlib(ZlibEncoder<Vec<u8>>),
    Raw(DeflateEncoder<Vec<u8>>),
}

impl Encoder {
    /// An encoder for `algo` at deflate level `level` (0 to 9).
    pub fn new(algo: Algorithm, level: u32) -> Encoder {
        let level = Compression::new(level.min(9));
        match algo {
            Algorithm::Identity => Encoder::Identity(Vec::new()),
            Algorithm::Gzip => Encoder::Gzip(GzEncoder::new(Vec::new(), level)),
            Algorithm::Deflate => Encoder::Zlib(ZlibEncoder::new(Vec::new(), level)),
            Algorithm::RawDeflate => Encoder::Raw(DeflateEncoder::new(Vec::new(), level)),
        }
    }

    /// Feeds `input`; the output may wait for [`Encoder::flush`].
    pub fn write(&mut self, input: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Identity(out) => {
                out.extend_from_slice(input);
                Ok(())
            }
            Encoder::Gzip(e) => e.write_all(input),
            Encoder::Zlib(e) => e.write_all(input),
            Encoder::Raw(e) => e.write_all(input),
        }
    }

    /// Everything fed so far as output bytes the client can decode now, moved into `out`.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Encoder::Identity(_) => {}
            Encoder::Gzip(e) => e.flush()?,
            Encoder::Zlib(e) => e.flush()?,
            Encoder::Raw(e) => e.flush()?,
        }
        out.append(self.output());
        Ok(())
    }

    /// Ends the stream (the format's trailer: CRC and length for gzip, Adler-32 for zlib),
    /// moving the last bytes into `out`.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Encoder::Identity(_) => {}
            Encoder::Gzip(e) => e.try_finish()?,
            Encoder::Zlib(e) => e.try_finish()?,
            Encoder::Raw(e) => e.try_finish()?,
        }
        out.append(self.output());
        Ok(())
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Encoder::Identity(out) => out,
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Zlib(e) => e.get_mut(),
            Encoder::Raw(e) => e.get_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
    use std::io::Read;

    fn run(algo: Algorithm, parts: &[&[u8]]) -> Vec<u8> {
        let mut e = Encoder::new(algo, 1);
        let mut out = Vec::new();
        for p in parts {
            e.write(p).expect("write");
            e.flush(&mut out).expect("flush");
        }
        e.finish(&mut out).expect("finish");
        out
    }

    #[test]
    fn every_coding_decodes_to_the_input() {
        let text: Vec<u8> = b"<p>hello compression</p>\n".repeat(2000);
        let parts: Vec<&[u8]> = text.chunks(7000).collect();
        let mut plain = Vec::new();
        GzDecoder::new(&run(Algorithm::Gzip, &parts)[..])
            .read_to_end(&mut plain)
            .expect("gunzip");
        assert_eq!(plain, text);
        plain.clear();
        ZlibDecoder::new(&run(Algorithm::Deflate, &parts)[..])
            .read_to_end(&mut plain)
            .expect("inflate");
        assert_eq!(plain, text);
        plain.clear();
        let raw = run(Algorithm::RawDeflate, &parts);
        assert!(raw.len() < text.len() / 10);
        DeflateDecoder::new(&raw[..])
            .read_to_end(&mut plain)
            .expect("raw inflate");
        assert_eq!(plain, text);
        assert_eq!(run(Algorithm::Identity, &parts), text);
    }

    #[test]
    fn a_flush_gives_what_was_fed() {
        let mut e = Encoder::new(Algorithm::Gzip, 1);
        let mut out = Vec::new();
        e.write(b"first part").expect("write");
        e.flush(&mut out).expect("flush");
        // A sync flush: the bytes so far decode to the input without the end of the stream.
        let mut d = flate2::write::GzDecoder::new(Vec::new());
        d.write_all(&out).expect("decode");
        d.flush().expect("flush");
        assert_eq!(d.get_ref(), b"first part");
    }
}
