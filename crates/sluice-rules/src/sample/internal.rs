//! Process, proxy and rule-state fetches and converters: `pid`, `thread`, `tgroup`,
//! `fe_defbe`, the `*_is_local` family, `dump_all_vars`, `acl()`, and the `fe_exists`,
//! `nbsrv`, `srv_is_up` and `has_ctl` converters.

use super::{Arg, Fetched, Value};
use crate::acl::Tri;
use crate::message::SampleSource;
use std::net::{IpAddr, SocketAddr};

type Emit<'e, 'a> = &'e mut dyn FnMut(Value<'a>) -> bool;
type Out<'a> = Option<Value<'a>>;

/// The frontends of the configuration and their static default backend, handed to
/// `fe_defbe` and `fe_exists` when they are compiled.
#[derive(Debug, Default)]
pub struct Frontends {
    /// Name and `default_backend` (when it is not built per request).
    pub list: Vec<(Box<str>, Option<Box<str>>)>,
}

impl Frontends {
    fn get(&self, name: &str) -> Option<&(Box<str>, Option<Box<str>>)> {
        self.list.iter().find(|(n, _)| n.as_ref() == name)
    }
}

/// `pid`: the process's id (the worker's in master-worker mode).
pub(crate) fn pid<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Sint(i64::from(std::process::id())));
    Fetched::Done
}

/// `internal.strm.is_htx`: whether the stream is in HTTP mode (an HTTP frontend's, or a TCP
/// stream after `switch-mode http`), false on a raw TCP stream.
pub(crate) fn strm_is_htx<'a>(
    _: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Bool(!s.connection().raw_stream()));
    Fetched::Done
}

/// `thread`: the position of the worker thread running the rule. The data plane names its
/// threads `sluice-<n>`; any other thread (tests, checks) counts as the first.
pub(crate) fn thread<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let n = std::thread::current()
        .name()
        .and_then(|n| n.strip_prefix("sluice-"))
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(0);
    emit(Value::Sint(n));
    Fetched::Done
}

/// `tgroup`: Sluice runs a single thread group.
pub(crate) fn tgroup<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Sint(0));
    Fetched::Done
}

/// `quic_enabled`: Sluice has no QUIC transport.
pub(crate) fn quic_enabled<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    emit(Value::Bool(false));
    Fetched::Done
}

/// When the process first compiled rules: its start, near enough for `uptime`.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Notes the start of the process for `uptime` (called when rules are compiled).
pub(crate) fn mark_start() {
    STARTED.get_or_init(|| {
        // Load the local time zone now, while /etc/localtime is reachable (before a
        // chroot), for `ltime`.
        super::time::load_zone();
        std::time::Instant::now()
    });
}

/// `uptime`: seconds since the process started.
pub(crate) fn uptime<'a>(
    _: &'a [Arg],
    _: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let since = STARTED.get_or_init(std::time::Instant::now).elapsed();
    emit(Value::Sint(
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
    ));
    Fetched::Done
}

/// `fe_defbe`: the frontend's default backend, when it is a fixed name.
pub(crate) fn fe_defbe<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(Arg::Frontends(fes)) = args.last() else {
        return Fetched::Done;
    };
    let name = s.connection().frontend_name();
    if let Some(be) = fes.get(name).and_then(|(_, be)| be.as_deref()) {
        emit(Value::string(be.as_bytes().to_vec()));
    }
    Fetched::Done
}

/// Whether `ip` belongs to this host: binding a socket to it succeeds (HAProxy checks the
/// same way). No address means a UNIX socket, which is local.
fn is_local(addr: Option<SocketAddr>) -> bool {
    let Some(addr) = addr else {
        return true;
    };
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

/// The stream's addresses, with what rules changed.
fn addrs(s: &dyn SampleSource) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let c = s.connection();
    match s.changes() {
        Some(ch) => ch.addrs(c.src(), c.dst()),
        None => (c.src(), c.dst()),
    }
}

macro_rules! local_fetches {
    ($($name:ident => $addr:expr;)*) => {$(
        pub(crate) fn $name<'a>(
            _: &'a [Arg],
            s: &'a dyn SampleSource,
            _: bool,
            emit: Emit<'_, 'a>,
        ) -> Fetched {
            let get: fn(&dyn SampleSource) -> Option<SocketAddr> = $addr;
            emit(Value::Bool(is_local(get(s))));
            Fetched::Done
        }
    )*};
}

local_fetches! {
    src_is_local => |s| addrs(s).0;
    dst_is_local => |s| addrs(s).1;
    fc_src_is_local => |s| s.connection().fc_src();
    fc_dst_is_local => |s| s.connection().fc_dst();
}

/// Appends a variable's value as `dump_all_vars` prints it: strings and methods quoted
/// with escapes, binary as `x<hex>`, the rest bare.
fn dump_value(v: &Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Str(s) | Value::Meth(s) => {
            out.push(b'"');
            for &b in s.iter() {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    0x08 => out.extend_from_slice(b"\\b"),
                    0 => out.extend_from_slice(b"\\0"),
                    b => out.push(b),
                }
            }
            out.push(b'"');
        }
        Value::Bin(b) => {
            out.push(b'x');
            for byte in b.iter() {
                out.extend_from_slice(format!("{byte:02x}").as_bytes());
            }
        }
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        other => other.write_to(out),
    }
}

/// `dump_all_vars([<scope>][,<prefix>][,<delimiter>])`: `name=value` for every variable
/// of the scope (all scopes in the order sess, txn, req, res, proc), optionally only the
/// names starting with `prefix` after the scope.
pub(crate) fn dump_all_vars<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let Some(vars) = s.vars() else {
        return Fetched::Done;
    };
    let text = |i: usize| args.get(i).and_then(Arg::text).filter(|t| !t.is_empty());
    let scopes: &[&str] = match text(0) {
        Some(one) => &[one][..],
        None => &["sess", "txn", "req", "res", "proc"],
    };
    let prefix = text(1).unwrap_or("");
    let delim = args
        .get(2)
        .and_then(Arg::bytes)
        .filter(|d| !d.is_empty())
        .unwrap_or(b", ");
    let mut out = Vec::new();
    for scope in scopes {
        for (name, value) in vars.iter() {
            let Some(rest) = name.strip_prefix(*scope).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            if !rest.starts_with(prefix) {
                continue;
            }
            if !out.is_empty() {
                out.extend_from_slice(delim);
            }
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            dump_value(value, &mut out);
        }
    }
    emit(Value::string(out));
    Fetched::Done
}

/// `acl([!]<name>[,...])`: whether all the named ACLs (each maybe negated) match. An ACL
/// that needs data not there yet makes the fetch wait, as in a condition.
pub(crate) fn acl<'a>(
    args: &'a [Arg],
    s: &'a dyn SampleSource,
    _: bool,
    emit: Emit<'_, 'a>,
) -> Fetched {
    let mut all = Tri::Match;
    for arg in args {
        let Arg::Acl(acl, negated) = arg else {
            continue;
        };
        let r = acl.eval(s);
        match if *negated { r.negate() } else { r } {
            Tri::NoMatch => {
                all = Tri::NoMatch;
                break;
            }
            Tri::Miss => all = Tri::Miss,
            Tri::Match => {}
        }
    }
    match all {
        Tri::Miss => Fetched::Miss,
        t => {
            emit(Value::Bool(t == Tri::Match));
            Fetched::Done
        }
    }
}

/// `fe_exists`: whether a frontend has the input's name.
pub(crate) fn fe_exists<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let Some(Arg::Frontends(fes)) = args.last() else {
        return None;
    };
    let name = std::str::from_utf8(v.as_bytes()?).ok()?;
    Some(Value::Bool(fes.get(name).is_some()))
}

/// `nbsrv` as a converter: the usable servers of the backend the input names.
pub(crate) fn nbsrv_conv<'a>(_: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    let name = std::str::from_utf8(v.as_bytes()?).ok()?;
    s.connection().nbsrv(name).map(Value::Sint)
}

/// `srv_is_up` as a converter: `<backend>/<server>`, or a server of the current backend.
pub(crate) fn srv_is_up_conv<'a>(_: &'a [Arg], v: Value<'a>, s: &'a dyn SampleSource) -> Out<'a> {
    let text = std::str::from_utf8(v.as_bytes()?).ok()?;
    let conn = s.connection();
    let (be, srv) = match text.split_once('/') {
        Some((be, srv)) => (be, srv),
        None => (conn.backend_name()?, text),
    };
    conn.srv_is_up(be, srv).map(Value::Bool)
}

/// The control characters `has_ctl` looks for: bit N is byte N for 0x00-0x1F, bit 32 is
/// DEL (0x7F).
const CTL_ANY: i64 = 0x1_ffff_ffff;
/// By default every control character but the tab.
const CTL_DEFAULT: i64 = CTL_ANY & !(1 << 9);
/// The ones HTTP never allows: NUL, LF and CR.
const CTL_HTTP: i64 = (1 << 0) | (1 << 10) | (1 << 13);

/// Turns `has_ctl`'s argument (none, `any`, `http` or a mask) into the mask.
pub(crate) fn prepare_has_ctl(args: &mut [Arg]) -> Result<(), String> {
    let Some(arg) = args.first_mut() else {
        return Ok(());
    };
    let text = match arg {
        Arg::Str(s) => String::from_utf8_lossy(s).trim().to_string(),
        _ => String::new(),
    };
    let mask = match text.as_str() {
        "" => CTL_DEFAULT,
        "any" => CTL_ANY,
        "http" => CTL_HTTP,
        t => {
            let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16),
                None => t.parse::<i64>(),
            };
            match parsed {
                Ok(m) if (0..=CTL_ANY).contains(&m) => m,
                Ok(_) => return Err(format!(
                    "'has_ctl': mask '{t}' has bits beyond the 33 that stand for the control characters"
                )),
                Err(_) => return Err(format!(
                    "'has_ctl': expects 'any', 'http' or a mask of control characters, got '{t}'"
                )),
            }
        }
    };
    *arg = Arg::Int(mask);
    Ok(())
}

/// `has_ctl([<mask>])`: whether the input holds one of the control characters of the mask.
pub(crate) fn has_ctl<'a>(args: &'a [Arg], v: Value<'a>, _: &'a dyn SampleSource) -> Out<'a> {
    let mask = match args.first() {
        Some(Arg::Int(m)) => *m,
        _ => CTL_DEFAULT,
    };
    let found = v.as_bytes()?.iter().any(|&b| {
        let bit = match b {
            0..=0x1f => u32::from(b),
            0x7f => 32,
            _ => return false,
        };
        mask & (1 << bit) != 0
    });
    Some(Value::Bool(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_local_and_documentation_addresses_are_not() {
        assert!(is_local(Some("127.0.0.1:1".parse().unwrap())));
        assert!(!is_local(Some("192.0.2.1:1".parse().unwrap())));
        assert!(is_local(None));
    }

    #[test]
    fn dumped_strings_are_quoted_and_escaped() {
        let mut out = Vec::new();
        dump_value(&Value::str(b"a\"b\\\r\n"), &mut out);
        assert_eq!(out, b"\"a\\\"b\\\\\\r\\n\"");
    }

    #[test]
    fn has_ctl_masks() {
        let mut a = [Arg::Str(b"0x400000000"[..].into())];
        assert!(prepare_has_ctl(&mut a).is_err());
        let mut a = [Arg::Str(b"bogus"[..].into())];
        assert!(prepare_has_ctl(&mut a).is_err());
        let mut a = [Arg::Str(b"http"[..].into())];
        assert!(prepare_has_ctl(&mut a).is_ok());
        assert!(matches!(a[0], Arg::Int(CTL_HTTP)));
    }
}
