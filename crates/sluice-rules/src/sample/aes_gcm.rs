//! `aes_gcm_enc` and `aes_gcm_dec`: AES-GCM over the input, with the nonce, the key, the
//! tag and the additional data given in base64, each as text or as the name of a variable.
//! Encryption stores the tag (base64) in the variable its fourth argument names.
//!
//! The cipher is ring's: 128- and 256-bit keys, 96-bit nonces (what GCM is meant for);
//! HAProxy's OpenSSL also takes 192-bit keys, which are refused when the rule is compiled.

use super::{Arg, Value};
use crate::message::SampleSource;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use std::borrow::Cow;

type Out<'a> = Option<Value<'a>>;

/// Checks `<bits>,<nonce>,<key>,<aead_tag>[,<aad>]`; `tag_is_var`: the tag must name a
/// variable (encryption writes it).
fn prepare(name: &str, args: &mut [Arg], tag_is_var: bool) -> Result<(), String> {
    match args.first() {
        Some(Arg::Int(128 | 256)) => {}
        Some(Arg::Int(192)) => {
            return Err(format!(
                "{name}: 192-bit keys are not supported by Sluice (use 128 or 256)"
            ))
        }
        _ => return Err(format!("{name}: <bits> must be 128, 192 or 256")),
    }
    if tag_is_var {
        let tag = args.get(3).and_then(Arg::text).unwrap_or("");
        super::check_var(tag).map_err(|e| format!("{name}: <aead_tag> must be a variable: {e}"))?;
    }
    Ok(())
}

pub(crate) fn prepare_enc(args: &mut [Arg]) -> Result<(), String> {
    prepare("aes_gcm_enc", args, true)
}

pub(crate) fn prepare_dec(args: &mut [Arg]) -> Result<(), String> {
    prepare("aes_gcm_dec", args, false)
}

/// Whether `text` names a variable (`txn.nonce`): base64 text has no dot.
fn is_var(text: &str) -> bool {
    text.contains('.') && super::check_var(text).is_ok()
}

/// The decoded bytes of argument `i`: its text, or the variable it names, in base64.
fn param(args: &[Arg], i: usize, s: &dyn SampleSource) -> Option<Vec<u8>> {
    let text = args.get(i)?.text()?;
    if is_var(text) {
        let v = super::read_var(s, text.trim())?;
        crate::base64::decode(v.as_bytes()?, false)
    } else {
        crate::base64::decode(text.as_bytes(), false)
    }
}

/// The key of `args` (its length must match `<bits>`).
fn key(args: &[Arg], s: &dyn SampleSource) -> Option<LessSafeKey> {
    let bits = match args.first() {
        Some(Arg::Int(b)) => *b,
        _ => return None,
    };
    let raw = param(args, 2, s)?;
    let algorithm = match (bits, raw.len()) {
        (128, 16) => &AES_128_GCM,
        (256, 32) => &AES_256_GCM,
        _ => return None,
    };
    Some(LessSafeKey::new(UnboundKey::new(algorithm, &raw).ok()?))
}

fn nonce(args: &[Arg], s: &dyn SampleSource) -> Option<Nonce> {
    Nonce::try_assume_unique_for_key(&param(args, 1, s)?).ok()
}

fn aad(args: &[Arg], s: &dyn SampleSource) -> Option<Vec<u8>> {
    match args.get(4) {
        None | Some(Arg::None) => Some(Vec::new()),
        Some(_) => param(args, 4, s),
    }
}

/// `aes_gcm_enc(<bits>,<nonce>,<key>,<aead_tag>[,<aad>])`: the ciphertext; the tag goes
/// to the variable `<aead_tag>`, in base64.
pub(crate) fn aes_gcm_enc<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    let key = key(args, s)?;
    let nonce = nonce(args, s)?;
    let aad = aad(args, s)?;
    let mut data = v.as_bytes()?.to_vec();
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::from(&aad[..]), &mut data)
        .ok()?;
    let var = args.get(3)?.text()?.trim();
    s.vars()?
        .set_deferred(var, Value::string(crate::base64::encode(tag.as_ref())));
    Some(Value::Bin(Cow::Owned(data)))
}

/// `aes_gcm_dec(<bits>,<nonce>,<key>,<aead_tag>[,<aad>])`: the plaintext, nothing when the
/// tag or the additional data do not verify.
pub(crate) fn aes_gcm_dec<'a>(args: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    let key = key(args, s)?;
    let nonce = nonce(args, s)?;
    let aad = aad(args, s)?;
    let tag = param(args, 3, s)?;
    let mut data = v.as_bytes()?.to_vec();
    data.extend_from_slice(&tag);
    let plain = key
        .open_in_place(nonce, Aad::from(&aad[..]), &mut data)
        .ok()?
        .len();
    data.truncate(plain);
    Some(Value::Bin(Cow::Owned(data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{NoConnection, Stream, Vars};

    fn s(t: &str) -> Arg {
        Arg::Str(t.as_bytes().into())
    }

    #[test]
    fn encryption_round_trips_through_the_tag_variable() {
        // "123456789012" and a 16-byte key, in base64.
        let nonce = "MTIzNDU2Nzg5MDEy";
        let key = "Zm9vb2Zvb29mb29vb29vbw==";
        let mut vars = Vars::default();
        let enc_args = [Arg::Int(128), s(nonce), s(key), s("txn.tag"), s("dGVzdAo=")];
        let cipher = {
            let src = Stream {
                vars: Some(&vars),
                ..Stream::tcp(&NoConnection)
            };
            aes_gcm_enc(&enc_args, Value::str(b"hello"), &src)
                .and_then(|v| v.as_bytes().map(<[u8]>::to_vec))
                .expect("encrypted")
        };
        assert_ne!(cipher, b"hello");
        vars.apply_deferred();
        assert!(vars.get("txn.tag").is_some(), "the tag is stored");
        vars.set("txn.key", Value::str(key.as_bytes()));
        let src = Stream {
            vars: Some(&vars),
            ..Stream::tcp(&NoConnection)
        };
        let dec_args = [
            Arg::Int(128),
            s(nonce),
            s("txn.key"),
            s("txn.tag"),
            s("dGVzdAo="),
        ];
        let plain = aes_gcm_dec(&dec_args, Value::Bin(Cow::Borrowed(&cipher)), &src)
            .and_then(|v| v.as_bytes().map(<[u8]>::to_vec));
        assert_eq!(plain.as_deref(), Some(&b"hello"[..]));
        // Other additional data: the tag does not verify.
        let bad = [Arg::Int(128), s(nonce), s(key), s("txn.tag"), s("b3RoZXI=")];
        assert!(aes_gcm_dec(&bad, Value::Bin(Cow::Borrowed(&cipher)), &src).is_none());
    }

    #[test]
    fn arguments_are_checked() {
        let mut args = [Arg::Int(192), s("a"), s("b"), s("txn.t")];
        assert!(prepare_enc(&mut args).is_err());
        let mut args = [Arg::Int(128), s("a"), s("b"), s("notavar")];
        assert!(prepare_enc(&mut args).is_err());
        assert!(prepare_dec(&mut args).is_ok());
    }
}
