//! The table of sample fetches and converters: name, arguments, types and where each is
//! valid. Adding one is an entry here, a function in [`fetch`](super::fetch) or
//! [`conv`](super::conv), and a test.
//!
//! The keyword catalogue of `sluice-config` lists every HAProxy name with its support
//! status; a test below checks that each entry here exists there.

use super::client_hello as tls;
use super::conv as c;
use super::fetch as f;
use super::headers as h;
use super::internal as i;
use super::payload as p;
use super::state as st;
use super::time as t;
use super::{Arg, Fetched, SampleType, Value};
use crate::message::SampleSource;
use crate::pattern::MatchMethod;
use SampleType::{Any, Bin, Bool, Ip, Meth, Sint, Str};

/// Where a fetch can find its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Valid(u8);

impl Valid {
    /// Connection and process state: valid everywhere.
    pub const CONN: Valid = Valid(1);
    /// Buffered request payload (`tcp-request content`, HTTP request rules).
    pub const PAYLOAD: Valid = Valid(2);
    /// The HTTP request.
    pub const REQ: Valid = Valid(4);
    /// The HTTP response.
    pub const RES: Valid = Valid(8);
    /// Buffered response payload (`tcp-response content`).
    pub const RES_PAYLOAD: Valid = Valid(16);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Valid) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether a bit of `other` is set.
    pub fn intersects(self, other: Valid) -> bool {
        self.0 & other.0 != 0
    }

    /// Words for an error message.
    pub fn describe(self) -> &'static str {
        if self.contains(Valid::REQ) && self.contains(Valid::RES) {
            "HTTP headers"
        } else if self.contains(Valid::REQ) {
            "HTTP request headers"
        } else if self.contains(Valid::RES) {
            "HTTP response headers"
        } else if self.contains(Valid::PAYLOAD) {
            "the request buffer contents"
        } else if self.contains(Valid::RES_PAYLOAD) {
            "the response buffer contents"
        } else {
            "the connection"
        }
    }
}

impl std::ops::BitOr for Valid {
    type Output = Valid;
    fn bitor(self, rhs: Valid) -> Valid {
        Valid(self.0 | rhs.0)
    }
}

/// What an argument must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Any text.
    Str,
    /// An integer.
    Int,
    /// An integer or a variable name.
    IntOrVar,
    /// A variable name.
    Var,
    /// A regex.
    Regex,
    /// A backend name (checked against the configuration).
    Backend,
    /// `<backend>/<server>` (checked against the configuration).
    Server,
    /// `[<backend>/]<server>`: checked when the backend is named, else a server of the
    /// stream's backend.
    ServerRef,
    /// A map file (loaded at compile time).
    MapFile,
    /// An IPv4 mask (length or dotted quad).
    Mask4,
    /// An IPv6 prefix length.
    Mask6,
    /// A named ACL, maybe negated with `!` (`acl()`).
    Acl,
    /// A time unit: `s`, `ms` or `us`.
    TimeUnit,
    /// Not written: the configuration's frontends, filled in when compiled.
    Frontends,
    /// The name of a `userlist` section (checked against the configuration).
    Userlist,
}

impl ArgKind {
    /// Words for an error message.
    pub fn describe(self) -> &'static str {
        match self {
            ArgKind::Str => "a string",
            ArgKind::Int => "an integer",
            ArgKind::IntOrVar => "an integer or a variable",
            ArgKind::Var => "a variable name",
            ArgKind::Regex => "a regex",
            ArgKind::Backend => "a backend name",
            ArgKind::Server => "<backend>/<server>",
            ArgKind::ServerRef => "[<backend>/]<server>",
            ArgKind::MapFile => "a map file",
            ArgKind::Mask4 => "an IPv4 mask",
            ArgKind::Mask6 => "an IPv6 mask",
            ArgKind::Acl => "an ACL name",
            ArgKind::TimeUnit => "a time unit",
            ArgKind::Frontends => "the frontends",
            ArgKind::Userlist => "a userlist name",
        }
    }

    /// Whether the configuration supplies the argument rather than the user.
    pub fn is_implicit(self) -> bool {
        self == ArgKind::Frontends
    }
}

/// One argument slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSpec {
    /// What it must be.
    pub kind: ArgKind,
    /// Whether it must be given.
    pub required: bool,
}

const fn req(kind: ArgKind) -> ArgSpec {
    ArgSpec {
        kind,
        required: true,
    }
}

const fn opt(kind: ArgKind) -> ArgSpec {
    ArgSpec {
        kind,
        required: false,
    }
}

const NONE: &[ArgSpec] = &[];
const STR: &[ArgSpec] = &[req(ArgKind::Str)];
const OPT_STR: &[ArgSpec] = &[opt(ArgKind::Str)];
const HDR: &[ArgSpec] = &[opt(ArgKind::Str), opt(ArgKind::Int)];
const OPT_INT: &[ArgSpec] = &[opt(ArgKind::Int)];
const INT: &[ArgSpec] = &[req(ArgKind::Int)];
const INT_OR_VAR: &[ArgSpec] = &[req(ArgKind::IntOrVar)];
const OPT_BACKEND: &[ArgSpec] = &[opt(ArgKind::Backend)];
const CHUNKED: &[ArgSpec] = &[req(ArgKind::Str), req(ArgKind::Int), opt(ArgKind::Int)];
const MAP: &[ArgSpec] = &[req(ArgKind::MapFile), opt(ArgKind::Str)];
const URL_PARAM: &[ArgSpec] = &[opt(ArgKind::Str), opt(ArgKind::Str), opt(ArgKind::Str)];
const MAP_KEY: &[ArgSpec] = &[req(ArgKind::MapFile)];
const FRONTENDS: &[ArgSpec] = &[req(ArgKind::Frontends)];
const USERLIST: &[ArgSpec] = &[req(ArgKind::Userlist)];
const TIME_FORMAT: &[ArgSpec] = &[req(ArgKind::Str), opt(ArgKind::IntOrVar)];
const OFFSET_UNIT: &[ArgSpec] = &[opt(ArgKind::IntOrVar), opt(ArgKind::TimeUnit)];
const OPT_UNIT: &[ArgSpec] = &[opt(ArgKind::TimeUnit)];
/// `<bits>,<nonce>,<key>,<aead_tag>[,<aad>]`: texts or variable names.
const AES_GCM: &[ArgSpec] = &[
    req(ArgKind::Int),
    req(ArgKind::Str),
    req(ArgKind::Str),
    req(ArgKind::Str),
    opt(ArgKind::Str),
];
/// `[<backend>/]<server>`: checked when the backend is named, else looked up when run.
const SRV_REF: &[ArgSpec] = &[req(ArgKind::ServerRef)];
const DUMP_VARS: &[ArgSpec] = &[opt(ArgKind::Str), opt(ArgKind::Str), opt(ArgKind::Str)];
const PAYLOAD_ARGS: &[ArgSpec] = &[req(ArgKind::Int), req(ArgKind::Int)];
const PAYLOAD_LV_ARGS: &[ArgSpec] = &[req(ArgKind::Int), req(ArgKind::Int), opt(ArgKind::Str)];
const BODY_PARAM: &[ArgSpec] = &[opt(ArgKind::Str), opt(ArgKind::Str)];
const ACLS: &[ArgSpec] = &[
    req(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
    opt(ArgKind::Acl),
];

/// Signature of a fetch: emits its values (several when `all` and the fetch is
/// multi-valued) until `emit` returns true.
pub type FetchFn =
    for<'a> fn(&'a [Arg], &'a dyn SampleSource, bool, &mut dyn FnMut(Value<'a>) -> bool) -> Fetched;

/// Checks or rewrites a converter's compiled arguments.
pub type PrepareFn = fn(&mut [Arg]) -> Result<(), String>;

/// Signature of a converter.
pub type ConvFn = for<'a> fn(&'a [Arg], Value<'a>, &'a dyn SampleSource) -> Option<Value<'a>>;

/// A sample fetch.
#[derive(Debug)]
pub struct FetchDef {
    /// Name as written.
    pub name: &'static str,
    /// Arguments.
    pub args: &'static [ArgSpec],
    /// Output type.
    pub output: SampleType,
    /// Where it is valid.
    pub valid: Valid,
    /// The implementation.
    pub eval: FetchFn,
}

/// A converter.
#[derive(Debug)]
pub struct ConvDef {
    /// Name as written.
    pub name: &'static str,
    /// Arguments.
    pub args: &'static [ArgSpec],
    /// Input type (the sample is cast to it).
    pub input: SampleType,
    /// Output type (`Any`: same as the input).
    pub output: SampleType,
    /// For map converters: the match method and value type.
    pub map: Option<(MatchMethod, SampleType)>,
    /// Checks or rewrites the compiled arguments.
    pub prepare: Option<PrepareFn>,
    /// A value from it is final even on contents that may still grow (`fix_is_valid`
    /// tells "invalid" without waiting for more bytes; no value means "cannot tell yet").
    pub settles: bool,
    /// The implementation.
    pub eval: ConvFn,
}

const fn fe(
    name: &'static str,
    args: &'static [ArgSpec],
    output: SampleType,
    valid: Valid,
    eval: FetchFn,
) -> FetchDef {
    FetchDef {
        name,
        args,
        output,
        valid,
        eval,
    }
}

const fn cv(
    name: &'static str,
    args: &'static [ArgSpec],
    input: SampleType,
    output: SampleType,
    eval: ConvFn,
) -> ConvDef {
    ConvDef {
        name,
        args,
        input,
        output,
        map: None,
        prepare: None,
        settles: false,
        eval,
    }
}

const fn mp(
    name: &'static str,
    method: MatchMethod,
    input: SampleType,
    out: SampleType,
) -> ConvDef {
    ConvDef {
        name,
        args: MAP,
        input,
        output: out,
        map: Some((method, out)),
        prepare: None,
        settles: false,
        eval: c::map,
    }
}

/// `map_<match>_key`: the matched entry's key, as a string (values are not read).
const fn mk(name: &'static str, method: MatchMethod, input: SampleType) -> ConvDef {
    ConvDef {
        args: MAP_KEY,
        eval: c::map_key,
        ..mp(name, method, input, Str)
    }
}

const CONN: Valid = Valid::CONN;
const REQ: Valid = Valid::REQ;
const RES: Valid = Valid::RES;
const HTTP: Valid = Valid(Valid::REQ.0 | Valid::RES.0);
const PAYLOAD: Valid = Valid::PAYLOAD;
const RES_PAYLOAD: Valid = Valid::RES_PAYLOAD;
/// Either buffer, by the direction of the rule set (`payload`).
const EITHER_PAYLOAD: Valid = Valid(Valid::PAYLOAD.0 | Valid::RES_PAYLOAD.0);

/// Every sample fetch Sluice implements. Aliases (`urlp`, `cook`, `req_ssl_sni`...) are
/// entries of their own.
pub static FETCHES: &[FetchDef] = &[
    fe("always_false", NONE, Bool, CONN, f::always_false),
    fe("always_true", NONE, Bool, CONN, f::always_true),
    fe("avg_queue", OPT_BACKEND, Sint, CONN, f::avg_queue),
    fe("base", NONE, Str, REQ, f::base),
    fe("be_connect_timeout", NONE, Sint, CONN, f::connect_timeout),
    fe("be_id", NONE, Sint, CONN, f::be_id),
    fe("be_conn", OPT_BACKEND, Sint, CONN, f::be_conn),
    fe("be_max_retries", NONE, Sint, CONN, f::be_max_retries),
    fe("be_name", NONE, Str, CONN, f::be_name),
    fe("be_queue_timeout", NONE, Sint, CONN, f::queue_timeout),
    fe("be_server_timeout", NONE, Sint, CONN, f::server_timeout),
    fe("be_tarpit_timeout", NONE, Sint, CONN, f::tarpit_timeout),
    fe("be_tunnel_timeout", NONE, Sint, CONN, f::tunnel_timeout),
    fe("bc_reused", NONE, Bool, CONN, f::bc_reused),
    fe("bin", STR, Bin, CONN, f::bin_const),
    fe("bool", &[req(ArgKind::Str)], Bool, CONN, f::bool_const),
    fe("capture.req.hdr", INT, Str, HTTP, f::capture_req_hdr),
    fe("capture.req.method", NONE, Str, HTTP, f::capture_req_method),
    fe("capture.req.uri", NONE, Str, HTTP, f::capture_req_uri),
    fe("capture.req.ver", NONE, Str, HTTP, f::capture_req_ver),
    fe("capture.res.hdr", INT, Str, HTTP, f::capture_res_hdr),
    fe("capture.res.ver", NONE, Str, HTTP, f::capture_res_ver),
    fe("cook", OPT_STR, Str, REQ, h::req_cook),
    fe("connslots", OPT_BACKEND, Sint, CONN, f::connslots),
    fe(
        "cur_client_timeout",
        NONE,
        Sint,
        CONN,
        f::cur_client_timeout,
    ),
    fe(
        "cur_connect_timeout",
        NONE,
        Sint,
        CONN,
        f::cur_connect_timeout,
    ),
    fe("cur_max_retries", NONE, Sint, CONN, f::cur_max_retries),
    fe("cur_queue_timeout", NONE, Sint, CONN, f::cur_queue_timeout),
    fe(
        "cur_server_timeout",
        NONE,
        Sint,
        CONN,
        f::cur_server_timeout,
    ),
    fe(
        "cur_tarpit_timeout",
        NONE,
        Sint,
        CONN,
        f::cur_tarpit_timeout,
    ),
    fe(
        "cur_tunnel_timeout",
        NONE,
        Sint,
        CONN,
        f::cur_tunnel_timeout,
    ),
    fe("date", OFFSET_UNIT, Sint, CONN, t::date),
    fe("dst", NONE, Ip, CONN, f::dst),
    fe("dst_port", NONE, Sint, CONN, f::dst_port),
    fe("env", STR, Str, CONN, f::env),
    fe("fc_dst", NONE, Ip, CONN, f::fc_dst),
    fe("fc_dst_port", NONE, Sint, CONN, f::fc_dst_port),
    fe("fc_fackets", NONE, Sint, CONN, f::fc_fackets),
    fe("fc_lost", NONE, Sint, CONN, f::fc_lost),
    fe("fc_reordering", NONE, Sint, CONN, f::fc_reordering),
    fe(
        "fc_pp_authority",
        NONE,
        Str,
        CONN,
        super::pp::fc_pp_authority,
    ),
    fe("fc_pp_tlv", STR, Str, CONN, super::pp::fc_pp_tlv),
    fe(
        "fc_pp_unique_id",
        NONE,
        Str,
        CONN,
        super::pp::fc_pp_unique_id,
    ),
    fe("fc_retrans", NONE, Sint, CONN, f::fc_retrans),
    fe("fc_rtt", OPT_STR, Sint, CONN, f::fc_rtt),
    fe("fc_rttvar", OPT_STR, Sint, CONN, f::fc_rttvar),
    fe("fc_sacked", NONE, Sint, CONN, f::fc_sacked),
    fe("fc_src", NONE, Ip, CONN, f::fc_src),
    fe("fc_src_port", NONE, Sint, CONN, f::fc_src_port),
    fe("fc_unacked", NONE, Sint, CONN, f::fc_unacked),
    fe("fe_client_timeout", NONE, Sint, CONN, f::client_timeout),
    fe("fe_id", NONE, Sint, CONN, f::fe_id),
    fe("fe_name", NONE, Str, CONN, f::fe_name),
    fe("fe_tarpit_timeout", NONE, Sint, CONN, st::fe_tarpit_timeout),
    fe("hdr", HDR, Str, HTTP, f::hdr),
    fe("hdr_cnt", OPT_STR, Sint, HTTP, f::hdr_cnt),
    fe("hdr_ip", HDR, Ip, HTTP, f::hdr_ip),
    fe("hdr_val", HDR, Sint, HTTP, f::hdr_val),
    fe("hostname", NONE, Str, CONN, f::hostname),
    fe("http_auth", USERLIST, Bool, REQ, super::auth::http_auth),
    fe("http_auth_bearer", OPT_STR, Str, REQ, f::http_auth_bearer),
    fe(
        "http_auth_group",
        USERLIST,
        Str,
        REQ,
        super::auth::http_auth_group,
    ),
    fe(
        "http_auth_pass",
        NONE,
        Str,
        REQ,
        super::auth::http_auth_pass,
    ),
    fe(
        "http_auth_type",
        NONE,
        Str,
        REQ,
        super::auth::http_auth_type,
    ),
    fe(
        "http_auth_user",
        NONE,
        Str,
        REQ,
        super::auth::http_auth_user,
    ),
    fe("http_first_req", NONE, Bool, CONN, f::http_first_req),
    fe("int", INT, Sint, CONN, f::int_const),
    fe("ipv4", STR, Ip, CONN, f::ip_const),
    fe("ipv6", STR, Ip, CONN, f::ip_const),
    fe("method", NONE, Meth, REQ, f::method),
    fe("nbsrv", OPT_BACKEND, Sint, CONN, f::nbsrv),
    fe("path", NONE, Str, REQ, f::path),
    fe("query", NONE, Str, REQ, f::query),
    fe("queue", OPT_BACKEND, Sint, CONN, f::queue),
    fe("rand", OPT_INT, Sint, CONN, f::rand),
    fe("uuid", OPT_INT, Str, CONN, f::uuid),
    fe("req.cook", OPT_STR, Str, REQ, h::req_cook),
    fe("req.fhdr", HDR, Str, REQ, f::req_fhdr),
    fe("req.fhdr_cnt", OPT_STR, Sint, REQ, f::req_fhdr_cnt),
    fe("req.hdr", HDR, Str, REQ, f::req_hdr),
    fe("req.hdr_cnt", OPT_STR, Sint, REQ, f::req_hdr_cnt),
    fe("req.hdr_ip", HDR, Ip, REQ, f::req_hdr_ip),
    fe("req.hdr_val", HDR, Sint, REQ, f::req_hdr_val),
    fe("req.len", NONE, Sint, PAYLOAD, p::req_len),
    fe(
        "req.payload",
        &[req(ArgKind::Int), req(ArgKind::Int)],
        Bin,
        PAYLOAD,
        p::req_payload,
    ),
    fe(
        "req.payload_lv",
        &[req(ArgKind::Int), req(ArgKind::Int), opt(ArgKind::Str)],
        Bin,
        PAYLOAD,
        p::req_payload_lv,
    ),
    fe("req.proto_http", NONE, Bool, REQ, f::req_proto_http),
    fe("req.ssl_alpn", NONE, Str, PAYLOAD, f::req_ssl_alpn),
    fe(
        "req.ssl_hello_type",
        NONE,
        Sint,
        PAYLOAD,
        f::req_ssl_hello_type,
    ),
    fe("req.ssl_sni", NONE, Str, PAYLOAD, f::req_ssl_sni),
    fe("req.ver", NONE, Str, REQ, f::req_ver),
    fe("req_len", NONE, Sint, PAYLOAD, p::req_len),
    fe(
        "req_ssl_hello_type",
        NONE,
        Sint,
        PAYLOAD,
        f::req_ssl_hello_type,
    ),
    fe("req_ssl_sni", NONE, Str, PAYLOAD, f::req_ssl_sni),
    fe("req_ver", NONE, Str, REQ, f::req_ver),
    fe("res.fhdr", HDR, Str, RES, f::res_fhdr),
    fe("res.hdr", HDR, Str, RES, f::res_hdr),
    fe("res.hdr_cnt", OPT_STR, Sint, RES, f::res_hdr_cnt),
    fe("res.hdr_val", HDR, Sint, RES, f::res_hdr_val),
    fe("res.ver", NONE, Str, RES, f::res_ver),
    fe("resp_ver", NONE, Str, RES, f::res_ver),
    fe("shdr", HDR, Str, RES, f::res_hdr),
    fe("so_name", NONE, Str, CONN, f::so_name),
    fe("src", NONE, Ip, CONN, f::src),
    fe("src_port", NONE, Sint, CONN, f::src_port),
    fe(
        "srv_is_up",
        &[req(ArgKind::Server)],
        Bool,
        CONN,
        f::srv_is_up,
    ),
    fe("srv_id", NONE, Sint, CONN, f::srv_id),
    fe("srv_name", NONE, Str, CONN, f::srv_name),
    fe("ssl_fc", NONE, Bool, CONN, f::ssl_fc),
    fe("ssl_fc_alpn", NONE, Str, CONN, f::ssl_fc_alpn),
    fe("ssl_fc_has_sni", NONE, Bool, CONN, f::ssl_fc_has_sni),
    fe("ssl_fc_sni", NONE, Str, CONN, f::ssl_fc_sni),
    fe("status", NONE, Sint, RES, f::status),
    fe("str", STR, Str, CONN, f::str_const),
    fe("unique-id", NONE, Str, CONN, f::unique_id),
    fe(
        "txn.sess_term_state",
        NONE,
        Str,
        CONN,
        f::txn_sess_term_state,
    ),
    fe("txn.status", NONE, Sint, CONN, f::txn_status),
    fe("url", NONE, Str, REQ, f::url),
    fe("url_param", URL_PARAM, Str, REQ, f::url_param),
    fe("urlp", URL_PARAM, Str, REQ, f::url_param),
    fe(
        "var",
        &[req(ArgKind::Var), opt(ArgKind::Str)],
        Any,
        CONN,
        f::var,
    ),
    // Cookies, header blocks, request line forms, constants (sample/headers.rs).
    fe("baseq", NONE, Str, REQ, h::baseq),
    fe("cook_cnt", OPT_STR, Sint, REQ, h::req_cook_cnt),
    fe("cook_val", OPT_STR, Sint, REQ, h::req_cook_val),
    fe("meth", STR, Meth, CONN, h::meth_const),
    fe("pathq", NONE, Str, REQ, h::pathq),
    fe("req.cook_cnt", OPT_STR, Sint, REQ, h::req_cook_cnt),
    fe("req.cook_names", OPT_STR, Str, REQ, h::req_cook_names),
    fe("req.cook_val", OPT_STR, Sint, REQ, h::req_cook_val),
    fe("req.hdr_names", OPT_STR, Str, REQ, h::req_hdr_names),
    fe("req.hdrs", NONE, Str, REQ, h::req_hdrs),
    fe("req.hdrs_bin", NONE, Bin, REQ, h::req_hdrs_bin),
    fe("res.cook", OPT_STR, Str, RES, h::res_cook),
    fe("res.cook_cnt", OPT_STR, Sint, RES, h::res_cook_cnt),
    fe("res.cook_names", OPT_STR, Str, RES, h::res_cook_names),
    fe("res.cook_val", OPT_STR, Sint, RES, h::res_cook_val),
    fe("res.hdr_names", OPT_STR, Str, RES, h::res_hdr_names),
    fe("res.hdrs", NONE, Str, RES, h::res_hdrs),
    fe("res.hdrs_bin", NONE, Bin, RES, h::res_hdrs_bin),
    fe("base32", NONE, Sint, REQ, h::base32),
    fe("base32+src", NONE, Bin, REQ, h::base32_src),
    fe("url32+src", NONE, Bin, REQ, h::url32_src),
    fe(
        "req.ssl_cipherlist",
        NONE,
        Bin,
        PAYLOAD,
        tls::req_ssl_cipherlist,
    ),
    fe("req.ssl_ec_ext", NONE, Bool, PAYLOAD, tls::req_ssl_ec_ext),
    fe(
        "req.ssl_keyshare_groups",
        NONE,
        Bin,
        PAYLOAD,
        tls::req_ssl_keyshare_groups,
    ),
    fe("req.ssl_sigalgs", NONE, Bin, PAYLOAD, tls::req_ssl_sigalgs),
    fe("req.ssl_st_ext", NONE, Sint, PAYLOAD, tls::req_ssl_st_ext),
    fe(
        "req.ssl_supported_groups",
        NONE,
        Bin,
        PAYLOAD,
        tls::req_ssl_supported_groups,
    ),
    fe("req.ssl_ver", NONE, Sint, PAYLOAD, tls::req_ssl_ver),
    fe("req_ssl_ver", NONE, Sint, PAYLOAD, tls::req_ssl_ver),
    fe("rdp_cookie", OPT_STR, Str, PAYLOAD, h::req_rdp_cookie),
    fe(
        "rdp_cookie_cnt",
        OPT_STR,
        Sint,
        PAYLOAD,
        h::req_rdp_cookie_cnt,
    ),
    fe("req.rdp_cookie", OPT_STR, Str, PAYLOAD, h::req_rdp_cookie),
    fe(
        "req.rdp_cookie_cnt",
        OPT_STR,
        Sint,
        PAYLOAD,
        h::req_rdp_cookie_cnt,
    ),
    fe("url32", NONE, Sint, REQ, h::url32),
    fe("url_ip", NONE, Ip, REQ, h::url_ip),
    fe("url_port", NONE, Sint, REQ, h::url_port),
    fe("urlp_val", URL_PARAM, Sint, REQ, h::urlp_val),
    fe("scook", OPT_STR, Str, RES, h::res_cook),
    fe("scook_cnt", OPT_STR, Sint, RES, h::res_cook_cnt),
    fe("scook_val", OPT_STR, Sint, RES, h::res_cook_val),
    fe("req_proto_http", NONE, Bool, REQ, f::req_proto_http),
    fe("res.fhdr_cnt", OPT_STR, Sint, RES, f::res_fhdr_cnt),
    fe("res.hdr_ip", HDR, Ip, RES, f::res_hdr_ip),
    fe("shdr_cnt", OPT_STR, Sint, RES, f::res_hdr_cnt),
    fe("shdr_ip", HDR, Ip, RES, f::res_hdr_ip),
    fe("shdr_val", HDR, Sint, RES, f::res_hdr_val),
    // Process, proxy and rule state (sample/internal.rs), dates (sample/time.rs).
    fe("acl", ACLS, Bool, CONN, i::acl),
    fe("date_us", NONE, Sint, CONN, t::date_us),
    fe("dst_is_local", NONE, Bool, CONN, i::dst_is_local),
    fe("dump_all_vars", DUMP_VARS, Str, CONN, i::dump_all_vars),
    fe("fc_dst_is_local", NONE, Bool, CONN, i::fc_dst_is_local),
    fe("fc_src_is_local", NONE, Bool, CONN, i::fc_src_is_local),
    fe("fe_defbe", FRONTENDS, Str, CONN, i::fe_defbe),
    fe("internal.strm.is_htx", NONE, Bool, CONN, i::strm_is_htx),
    fe("pid", NONE, Sint, CONN, i::pid),
    fe("quic_enabled", NONE, Bool, CONN, i::quic_enabled),
    fe("src_is_local", NONE, Bool, CONN, i::src_is_local),
    fe("tgroup", NONE, Sint, CONN, i::tgroup),
    fe("thread", NONE, Sint, CONN, i::thread),
    fe("uptime", NONE, Sint, CONN, i::uptime),
    // Buffer contents and bodies (sample/payload.rs).
    fe(
        "payload",
        PAYLOAD_ARGS,
        Bin,
        EITHER_PAYLOAD,
        p::rules_payload,
    ),
    fe(
        "payload_lv",
        PAYLOAD_LV_ARGS,
        Bin,
        EITHER_PAYLOAD,
        p::rules_payload_lv,
    ),
    fe("res.len", NONE, Sint, RES_PAYLOAD, p::res_len),
    fe(
        "res.ssl_hello_type",
        NONE,
        Sint,
        RES_PAYLOAD,
        p::res_ssl_hello_type,
    ),
    fe(
        "rep_ssl_hello_type",
        NONE,
        Sint,
        RES_PAYLOAD,
        p::res_ssl_hello_type,
    ),
    fe(
        "res.payload",
        PAYLOAD_ARGS,
        Bin,
        RES_PAYLOAD,
        p::res_payload,
    ),
    fe(
        "res.payload_lv",
        PAYLOAD_LV_ARGS,
        Bin,
        RES_PAYLOAD,
        p::res_payload_lv,
    ),
    fe("wait_end", NONE, Bool, CONN, p::wait_end),
    fe("last_rule_file", NONE, Str, CONN, p::last_rule_file),
    fe("last_rule_line", NONE, Sint, CONN, p::last_rule_line),
    fe("req.body", NONE, Bin, REQ, p::req_body),
    fe("req.body_len", NONE, Sint, REQ, p::req_body_len),
    fe("req.body_size", NONE, Sint, REQ, p::req_body_size),
    fe("req.body_param", BODY_PARAM, Str, REQ, p::req_body_param),
    fe("res.body", NONE, Bin, RES, p::res_body),
    fe("res.body_len", NONE, Sint, RES, p::res_body_len),
    fe("res.body_size", NONE, Sint, RES, p::res_body_size),
    // Proxy, server and connection state, dates, scheduler (sample/state.rs).
    fe("accept_date", OPT_UNIT, Sint, CONN, st::accept_date),
    fe("act_conn", NONE, Sint, CONN, st::act_conn),
    fe("bc_be_queue", NONE, Sint, CONN, st::bc_be_queue),
    fe("bc_dst", NONE, Ip, CONN, st::bc_dst),
    fe("bc_dst_port", NONE, Sint, CONN, st::bc_dst_port),
    fe("bc_err_name", NONE, Str, CONN, st::bc_err_name),
    fe("bc_http_major", NONE, Sint, CONN, st::bc_http_major),
    fe("bc_nb_streams", NONE, Sint, CONN, st::bc_nb_streams),
    fe("bc_rtt", OPT_STR, Sint, CONN, st::bc_rtt),
    fe("bc_rttvar", OPT_STR, Sint, CONN, st::bc_rttvar),
    fe("bc_src", NONE, Ip, CONN, st::bc_src),
    fe("bc_src_port", NONE, Sint, CONN, st::bc_src_port),
    fe("bc_srv_queue", NONE, Sint, CONN, st::bc_srv_queue),
    fe("be_conn_free", OPT_BACKEND, Sint, CONN, st::be_conn_free),
    fe("be_sess_rate", OPT_BACKEND, Sint, CONN, st::be_sess_rate),
    fe("cpu_calls", NONE, Sint, CONN, st::task_counter),
    fe("cpu_ns_avg", NONE, Sint, CONN, st::task_counter),
    fe("cpu_ns_tot", NONE, Sint, CONN, st::task_counter),
    fe("cpu_usage_grp", NONE, Sint, CONN, st::cpu_usage_proc),
    fe("cpu_usage_proc", NONE, Sint, CONN, st::cpu_usage_proc),
    fe("cpu_usage_thr", NONE, Sint, CONN, st::cpu_usage_thr),
    fe("dst_conn", NONE, Sint, CONN, st::dst_conn),
    fe("fc_err_name", NONE, Str, CONN, st::fc_err_name),
    fe("fc_http_major", NONE, Sint, CONN, st::fc_http_major),
    fe("fc_glitches", NONE, Sint, CONN, st::fc_glitches),
    fe("fc_nb_streams", NONE, Sint, CONN, st::fc_nb_streams),
    fe("fc_rcvd_proxy", NONE, Bool, CONN, st::fc_rcvd_proxy),
    fe("fe_conn", OPT_STR, Sint, CONN, st::fe_conn),
    fe("fe_req_rate", OPT_STR, Sint, CONN, st::fe_req_rate),
    fe("fe_sess_rate", OPT_STR, Sint, CONN, st::fe_sess_rate),
    fe("lat_ns_avg", NONE, Sint, CONN, st::task_counter),
    fe("lat_ns_tot", NONE, Sint, CONN, st::task_counter),
    fe("req.timer.hdr", NONE, Sint, CONN, st::req_timer_hdr),
    fe("req.timer.idle", NONE, Sint, CONN, st::req_timer_idle),
    fe("req.timer.tq", NONE, Sint, CONN, st::req_timer_tq),
    fe("request_date", OPT_UNIT, Sint, CONN, st::request_date),
    fe("res.comp", NONE, Bool, RES, st::res_comp),
    fe("res.comp_algo", NONE, Str, RES, st::res_comp_algo),
    fe("res.timer.hdr", NONE, Sint, CONN, st::res_timer_hdr),
    fe("server_status", NONE, Sint, RES, st::server_status),
    fe("so_id", NONE, Sint, CONN, st::so_id),
    fe("srv_conn", SRV_REF, Sint, CONN, st::srv_conn),
    fe("srv_conn_free", SRV_REF, Sint, CONN, st::srv_conn_free),
    fe("srv_iweight", SRV_REF, Sint, CONN, st::srv_iweight),
    fe("srv_queue", SRV_REF, Sint, CONN, st::srv_queue),
    fe("srv_sess_rate", SRV_REF, Sint, CONN, st::srv_sess_rate),
    fe("srv_uweight", SRV_REF, Sint, CONN, st::srv_uweight),
    fe("srv_weight", SRV_REF, Sint, CONN, st::srv_weight),
    fe("stopping", NONE, Bool, CONN, st::stopping),
];

/// Every converter Sluice implements.
pub static CONVERTERS: &[ConvDef] = &[
    cv("add", INT_OR_VAR, Sint, Sint, c::add),
    ConvDef {
        prepare: Some(c::prepare_add_item),
        ..cv(
            "add_item",
            &[req(ArgKind::Str), opt(ArgKind::Var), opt(ArgKind::Str)],
            Str,
            Str,
            c::add_item,
        )
    },
    cv("and", INT_OR_VAR, Sint, Sint, c::and),
    cv("b64dec", NONE, Str, Bin, c::b64dec),
    cv("base2", NONE, Bin, Str, c::base2),
    cv("base64", NONE, Bin, Str, c::base64),
    cv("capture-req", INT, Str, Str, c::capture_req),
    cv("capture-res", INT, Str, Str, c::capture_res),
    ConvDef {
        prepare: Some(c::prepare_chunked),
        ..cv("be2dec", CHUNKED, Bin, Str, c::be2dec)
    },
    ConvDef {
        prepare: Some(c::prepare_chunked),
        ..cv(
            "be2hex",
            &[opt(ArgKind::Str), opt(ArgKind::Int), opt(ArgKind::Int)],
            Bin,
            Str,
            c::be2hex,
        )
    },
    cv("bool", NONE, Sint, Bool, c::to_bool),
    cv(
        "bytes",
        &[req(ArgKind::IntOrVar), opt(ArgKind::IntOrVar)],
        Bin,
        Bin,
        c::bytes,
    ),
    cv(
        "concat",
        &[opt(ArgKind::Str), opt(ArgKind::Var), opt(ArgKind::Str)],
        Str,
        Str,
        c::concat,
    ),
    cv("cpl", NONE, Sint, Sint, c::cpl),
    cv("cut_crlf", NONE, Str, Str, c::cut_crlf),
    cv("crc32", OPT_INT, Bin, Sint, c::crc32),
    cv("crc32c", OPT_INT, Bin, Sint, c::crc32c),
    ConvDef {
        prepare: Some(c::prepare_digest),
        ..cv("digest", STR, Bin, Bin, c::digest)
    },
    cv("div", INT_OR_VAR, Sint, Sint, c::div),
    cv("djb2", OPT_INT, Bin, Sint, c::djb2),
    cv("even", NONE, Sint, Bool, c::even),
    cv(
        "field",
        &[req(ArgKind::Int), req(ArgKind::Str), opt(ArgKind::Int)],
        Str,
        Str,
        c::field,
    ),
    ConvDef {
        settles: true,
        ..cv("fix_is_valid", NONE, Bin, Bool, c::fix_is_valid)
    },
    ConvDef {
        prepare: Some(c::prepare_fix_tag),
        ..cv("fix_tag_value", STR, Bin, Bin, c::fix_tag_value)
    },
    cv("hex", NONE, Bin, Str, c::hex),
    cv("hex2i", NONE, Bin, Sint, c::hex2i),
    cv("host_only", NONE, Str, Str, c::host_only),
    cv("htonl", NONE, Sint, Bin, c::htonl),
    cv(
        "iif",
        &[req(ArgKind::Str), req(ArgKind::Str)],
        Bool,
        Str,
        c::iif,
    ),
    ConvDef {
        prepare: Some(c::prepare_ipmask),
        ..cv(
            "ipmask",
            &[req(ArgKind::Mask4), opt(ArgKind::Mask6)],
            Ip,
            Ip,
            c::ipmask,
        )
    },
    ConvDef {
        prepare: Some(c::prepare_json),
        ..cv("json", OPT_STR, Str, Str, c::json)
    },
    ConvDef {
        prepare: Some(c::prepare_chunked),
        ..cv("le2dec", CHUNKED, Bin, Str, c::le2dec)
    },
    cv(
        "language",
        &[req(ArgKind::Str), opt(ArgKind::Str)],
        Str,
        Str,
        c::language,
    ),
    cv("length", NONE, Str, Sint, c::length),
    cv("lower", NONE, Str, Str, c::lower),
    cv("ltrim", STR, Str, Str, c::ltrim),
    mp("map", MatchMethod::Str, Str, Str),
    mp("map_beg", MatchMethod::Beg, Str, Str),
    mp("map_beg_int", MatchMethod::Beg, Str, Sint),
    mp("map_dir", MatchMethod::Dir, Str, Str),
    mp("map_dir_int", MatchMethod::Dir, Str, Sint),
    mp("map_dom", MatchMethod::Dom, Str, Str),
    mp("map_dom_int", MatchMethod::Dom, Str, Sint),
    mp("map_end", MatchMethod::End, Str, Str),
    mp("map_end_int", MatchMethod::End, Str, Sint),
    mp("map_int", MatchMethod::Int, Sint, Str),
    mp("map_int_int", MatchMethod::Int, Sint, Sint),
    mp("map_ip", MatchMethod::Ip, Ip, Str),
    mp("map_ip_int", MatchMethod::Ip, Ip, Sint),
    mp("map_ip_ip", MatchMethod::Ip, Ip, Ip),
    mp("map_reg", MatchMethod::Reg, Str, Str),
    mp("map_reg_int", MatchMethod::Reg, Str, Sint),
    ConvDef {
        eval: c::map_regm,
        ..mp("map_regm", MatchMethod::Reg, Str, Str)
    },
    mp("map_str", MatchMethod::Str, Str, Str),
    mp("map_str_int", MatchMethod::Str, Str, Sint),
    mp("map_str_ip", MatchMethod::Str, Str, Ip),
    mp("map_sub", MatchMethod::Sub, Str, Str),
    mp("map_sub_int", MatchMethod::Sub, Str, Sint),
    cv("mod", INT_OR_VAR, Sint, Sint, c::modulo),
    cv("mul", INT_OR_VAR, Sint, Sint, c::mul),
    cv("neg", NONE, Sint, Sint, c::neg),
    cv("not", NONE, Sint, Bool, c::not),
    cv("odd", NONE, Sint, Bool, c::odd),
    cv("or", INT_OR_VAR, Sint, Sint, c::or),
    cv(
        "param",
        &[req(ArgKind::Str), opt(ArgKind::Str)],
        Str,
        Str,
        c::param,
    ),
    cv("port_only", NONE, Str, Sint, c::port_only),
    ConvDef {
        prepare: Some(c::prepare_regsub),
        ..cv(
            "regsub",
            &[req(ArgKind::Regex), req(ArgKind::Str), opt(ArgKind::Str)],
            Str,
            Str,
            c::regsub,
        )
    },
    cv("rtrim", STR, Str, Str, c::rtrim),
    cv("sdbm", OPT_INT, Bin, Sint, c::sdbm),
    cv("sha1", NONE, Bin, Bin, c::sha1),
    ConvDef {
        prepare: Some(c::prepare_sha2),
        ..cv("sha2", OPT_INT, Bin, Bin, c::sha2)
    },
    cv("strcmp", &[req(ArgKind::Var)], Str, Sint, c::strcmp),
    cv("sub", INT_OR_VAR, Sint, Sint, c::sub),
    cv("ub64dec", NONE, Str, Bin, c::ub64dec),
    cv("ub64enc", NONE, Bin, Str, c::ub64enc),
    cv("upper", NONE, Str, Str, c::upper),
    cv("url_dec", OPT_INT, Str, Str, c::url_dec),
    cv("url_enc", OPT_STR, Str, Str, c::url_enc),
    cv(
        "word",
        &[req(ArgKind::Int), req(ArgKind::Str), opt(ArgKind::Int)],
        Str,
        Str,
        c::word,
    ),
    cv("wt6", OPT_INT, Bin, Sint, c::wt6),
    cv("xor", INT_OR_VAR, Sint, Sint, c::xor),
    cv("xxh3", OPT_INT, Bin, Sint, c::xxh3),
    cv("xxh32", OPT_INT, Bin, Sint, c::xxh32),
    cv("xxh64", OPT_INT, Bin, Sint, c::xxh64),
    // Map outputs HAProxy has beside the ones above: addresses and the matched key.
    mp("map_beg_ip", MatchMethod::Beg, Str, Ip),
    mp("map_dir_ip", MatchMethod::Dir, Str, Ip),
    mp("map_dom_ip", MatchMethod::Dom, Str, Ip),
    mp("map_end_ip", MatchMethod::End, Str, Ip),
    mp("map_int_ip", MatchMethod::Int, Sint, Ip),
    mp("map_reg_ip", MatchMethod::Reg, Str, Ip),
    mp("map_sub_ip", MatchMethod::Sub, Str, Ip),
    mk("map_beg_key", MatchMethod::Beg, Str),
    mk("map_dir_key", MatchMethod::Dir, Str),
    mk("map_dom_key", MatchMethod::Dom, Str),
    mk("map_end_key", MatchMethod::End, Str),
    mk("map_int_key", MatchMethod::Int, Sint),
    mk("map_ip_key", MatchMethod::Ip, Ip),
    mk("map_reg_key", MatchMethod::Reg, Str),
    mk("map_str_key", MatchMethod::Str, Str),
    mk("map_sub_key", MatchMethod::Sub, Str),
    // Dates (sample/time.rs).
    cv("http_date", OFFSET_UNIT, Sint, Str, t::http_date),
    cv("ltime", TIME_FORMAT, Sint, Str, t::ltime),
    cv("ms_ltime", TIME_FORMAT, Sint, Str, t::ms_ltime),
    cv("ms_utime", TIME_FORMAT, Sint, Str, t::ms_utime),
    cv("us_ltime", TIME_FORMAT, Sint, Str, t::us_ltime),
    cv("us_utime", TIME_FORMAT, Sint, Str, t::us_utime),
    cv("utime", TIME_FORMAT, Sint, Str, t::utime),
    // Proxy state and characters (sample/internal.rs).
    cv("fe_exists", FRONTENDS, Str, Bool, i::fe_exists),
    ConvDef {
        prepare: Some(i::prepare_has_ctl),
        ..cv("has_ctl", OPT_STR, Bin, Bool, i::has_ctl)
    },
    ConvDef {
        prepare: Some(super::json::prepare_json_query),
        ..cv(
            "json_query",
            &[req(ArgKind::Str), opt(ArgKind::Str)],
            // Any input keeps a binary document whole; the value may be a string, an
            // integer or a boolean, typed as a string so that any converter can follow.
            Any,
            Str,
            super::json::json_query,
        )
    },
    ConvDef {
        prepare: Some(super::mqtt::prepare_mqtt_field),
        ..cv(
            "mqtt_field_value",
            &[req(ArgKind::Str), req(ArgKind::Str)],
            Bin,
            Str,
            super::mqtt::mqtt_field_value,
        )
    },
    ConvDef {
        settles: true,
        ..cv("mqtt_is_valid", NONE, Bin, Bool, super::mqtt::mqtt_is_valid)
    },
    cv("nbsrv", NONE, Str, Sint, i::nbsrv_conv),
    // RFC 7239 `Forwarded` values (sample/rfc7239.rs). Node parts are addresses or
    // numbers when they can be, text otherwise: typed as strings.
    ConvDef {
        prepare: Some(super::rfc7239::prepare_field),
        ..cv(
            "rfc7239_field",
            STR,
            Str,
            Str,
            super::rfc7239::rfc7239_field,
        )
    },
    cv(
        "rfc7239_is_valid",
        NONE,
        Str,
        Bool,
        super::rfc7239::rfc7239_is_valid,
    ),
    cv("rfc7239_n2nn", NONE, Str, Str, super::rfc7239::rfc7239_n2nn),
    cv("rfc7239_n2np", NONE, Str, Str, super::rfc7239::rfc7239_n2np),
    cv("rfc7239_nn", NONE, Any, Str, super::rfc7239::rfc7239_nn),
    cv("rfc7239_np", NONE, Any, Str, super::rfc7239::rfc7239_np),
    cv("srv_is_up", NONE, Str, Bool, i::srv_is_up_conv),
    // AES-GCM (sample/aes_gcm.rs).
    ConvDef {
        prepare: Some(super::aes_gcm::prepare_dec),
        ..cv(
            "aes_gcm_dec",
            AES_GCM,
            Bin,
            Bin,
            super::aes_gcm::aes_gcm_dec,
        )
    },
    ConvDef {
        prepare: Some(super::aes_gcm::prepare_enc),
        ..cv(
            "aes_gcm_enc",
            AES_GCM,
            Bin,
            Bin,
            super::aes_gcm::aes_gcm_enc,
        )
    },
    // Stream state (sample/state.rs).
    cv(
        "debug",
        &[opt(ArgKind::Str), opt(ArgKind::Str)],
        Any,
        Any,
        st::debug,
    ),
    cv("srv_queue", NONE, Str, Sint, st::srv_queue_conv),
    ConvDef {
        prepare: Some(st::prepare_when),
        ..cv(
            "when",
            &[req(ArgKind::Str), opt(ArgKind::Acl)],
            Any,
            Any,
            st::when,
        )
    },
];

/// Stands for a fetch HAProxy accepts and Sluice ignores (a warning says so): no value.
pub static IGNORED_FETCH: FetchDef = fe(
    "(ignored)",
    &[opt(ArgKind::Str), opt(ArgKind::Str), opt(ArgKind::Str)],
    Str,
    CONN,
    f::nothing,
);

/// Stands for a converter HAProxy accepts and Sluice ignores: no value.
pub static IGNORED_CONVERTER: ConvDef = cv(
    "(ignored)",
    &[opt(ArgKind::Str), opt(ArgKind::Str), opt(ArgKind::Str)],
    Any,
    Str,
    c::nothing,
);

/// The fetch named `name`.
pub fn fetch(name: &str) -> Option<&'static FetchDef> {
    FETCHES
        .iter()
        .find(|d| d.name == name)
        .or_else(|| super::stick::fetch(name))
}

/// The converter named `name`.
pub fn converter(name: &str) -> Option<&'static ConvDef> {
    CONVERTERS
        .iter()
        .find(|d| d.name == name)
        .or_else(|| super::stick::converter(name))
}

/// ACL-only criteria: `<fetch>_<suffix>` is the fetch with a default match method
/// (`path_beg`, `hdr_dom`...), or a cast for `_ip`/`_val`.
pub static ACL_SUFFIXES: &[(&str, AclDerived)] = &[
    ("_beg", AclDerived::Match(MatchMethod::Beg)),
    ("_end", AclDerived::Match(MatchMethod::End)),
    ("_sub", AclDerived::Match(MatchMethod::Sub)),
    ("_reg", AclDerived::Match(MatchMethod::Reg)),
    ("_dir", AclDerived::Match(MatchMethod::Dir)),
    ("_dom", AclDerived::Match(MatchMethod::Dom)),
    ("_len", AclDerived::Match(MatchMethod::Len)),
    ("_ip", AclDerived::Match(MatchMethod::Ip)),
    ("_val", AclDerived::Match(MatchMethod::Int)),
];

/// ACL-only names of fetches (HAProxy's ACL keywords that are no sample fetch).
pub static ACL_ALIASES: &[(&str, &str)] = &[
    ("req_rdp_cookie", "req.rdp_cookie"),
    ("req_rdp_cookie_cnt", "req.rdp_cookie_cnt"),
];

/// What an ACL-only suffix means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclDerived {
    /// The fetch with this default match method.
    Match(MatchMethod),
}

/// Splits an ACL-only criterion (`path_beg`) into its fetch name and match method, when
/// `name` is not itself a fetch.
pub fn acl_criterion(name: &str) -> Option<(&'static FetchDef, MatchMethod)> {
    if let Some(def) = fetch(name) {
        return Some((def, default_method(def.output)));
    }
    if let Some(def) = ACL_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .and_then(|(_, fetch_name)| fetch(fetch_name))
    {
        return Some((def, default_method(def.output)));
    }
    ACL_SUFFIXES.iter().find_map(|(suffix, derived)| {
        let base = name.strip_suffix(suffix)?;
        let def = fetch(base)?;
        let AclDerived::Match(m) = derived;
        Some((def, *m))
    })
}

/// The default match method for an output type.
pub fn default_method(t: SampleType) -> MatchMethod {
    match t {
        SampleType::Bool => MatchMethod::Bool,
        SampleType::Sint => MatchMethod::Int,
        SampleType::Ip => MatchMethod::Ip,
        SampleType::Bin => MatchMethod::Bin,
        _ => MatchMethod::Str,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_config::keywords::{Support, Table};

    fn catalogue(table: Table, name: &str) -> Option<Support> {
        table
            .keywords()
            .iter()
            .find(|k| k.name == name)
            .map(|k| k.support)
    }

    #[test]
    fn every_entry_is_a_haproxy_keyword() {
        for def in FETCHES {
            assert!(
                catalogue(Table::SampleFetch, def.name).is_some(),
                "fetch '{}' is not in the keyword catalogue",
                def.name
            );
        }
        for def in CONVERTERS {
            assert!(
                catalogue(Table::Converter, def.name).is_some(),
                "converter '{}' is not in the keyword catalogue",
                def.name
            );
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = FETCHES.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FETCHES.len());
        let mut names: Vec<_> = CONVERTERS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CONVERTERS.len());
    }

    #[test]
    fn acl_criteria_derive_from_fetches() {
        let (def, m) = acl_criterion("path_beg").unwrap();
        assert_eq!((def.name, m), ("path", MatchMethod::Beg));
        let (def, m) = acl_criterion("hdr_ip").unwrap();
        assert_eq!((def.name, m), ("hdr_ip", MatchMethod::Ip));
        let (def, m) = acl_criterion("shdr_ip").unwrap();
        assert_eq!((def.name, m), ("shdr_ip", MatchMethod::Ip));
        let (def, m) = acl_criterion("scook_beg").unwrap();
        assert_eq!((def.name, m), ("scook", MatchMethod::Beg));
        let (def, m) = acl_criterion("hdr_cnt").unwrap();
        assert_eq!((def.name, m), ("hdr_cnt", MatchMethod::Int));
        let (def, m) = acl_criterion("req.hdr_cnt").unwrap();
        assert_eq!((def.name, m), ("req.hdr_cnt", MatchMethod::Int));
        assert!(acl_criterion("nope_beg").is_none());
    }
}
