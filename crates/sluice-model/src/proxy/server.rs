//! `server <name> <address>[:port] [options]` and `default-server [options]`.

use crate::address::{self, Address, Use};
use crate::catalogue::{self, Admission, Place};
use crate::spanned::Spanned;
use crate::statement::{self, Failure, Parsed};
use sluice_config::keywords::Table;
use sluice_config::{Category, Diagnostic, Diagnostics, Location, Statement};
use std::time::Duration;

/// Server options without a value (manual section 5.2).
const FLAGS: &[&str] = &[
    "agent-check",
    "allow-0rtt",
    "backup",
    "check",
    "check-reuse-pool",
    "check-send-proxy",
    "check-sni-auto",
    "check-ssl",
    "check-via-socks4",
    "disabled",
    "enabled",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-agent-check",
    "no-backup",
    "no-check",
    "no-check-reuse-pool",
    "no-check-sni-auto",
    "no-check-ssl",
    "no-renegotiate",
    "no-send-proxy",
    "no-send-proxy-v2",
    "no-send-proxy-v2-ssl",
    "no-send-proxy-v2-ssl-cn",
    "no-sni-auto",
    "no-ssl",
    "no-ssl-reuse",
    "no-sslv3",
    "no-tfo",
    "no-tls-tickets",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "no-verifyhost",
    "non-stick",
    "renegotiate",
    "send-proxy",
    "send-proxy-v2",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "sni-auto",
    "ssl",
    "ssl-reuse",
    "stick",
    "strict-maxconn",
    "tfo",
    "tls-tickets",
];

/// Server options with one value.
const WITH_VALUE: &[&str] = &[
    "addr",
    "agent-addr",
    "agent-inter",
    "agent-port",
    "agent-send",
    "alpn",
    "ca-file",
    "cc",
    "check-alpn",
    "check-pool-conn-name",
    "check-proto",
    "check-sni",
    "ciphers",
    "ciphersuites",
    "client-sigalgs",
    "cookie",
    "crl-file",
    "crt",
    "curves",
    "downinter",
    "error-limit",
    "fall",
    "fastinter",
    "guid",
    "hash-key",
    "healthcheck",
    "id",
    "idle-ping",
    "init-addr",
    "init-state",
    "inter",
    "ktls",
    "log-bufsize",
    "log-proto",
    "max-reuse",
    "maxconn",
    "maxqueue",
    "minconn",
    "namespace",
    "npn",
    "observe",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "pool-conn-name",
    "pool-low-conn",
    "pool-max-conn",
    "pool-purge-delay",
    "port",
    "proto",
    "proxy-v2-options",
    "quic-cc-algo",
    "redir",
    "resolve-net",
    "resolve-opts",
    "resolve-prefer",
    "resolvers",
    "rise",
    "shard",
    "sigalgs",
    "slowstart",
    "sni",
    "socks4",
    "source",
    "ssl-max-ver",
    "ssl-min-ver",
    "tcp-md5sig",
    "tcp-ut",
    "track",
    "verify",
    "verifyhost",
    "weight",
    "ws",
    "set-proxy-v2-tlv-fmt",
];

/// Largest server weight.
pub const MAX_WEIGHT: u64 = 256;

/// One `server` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub name: String,
    /// `None` when the address could not be used (already reported).
    pub address: Address,
    pub options: ServerOptions,
    pub location: Location,
}

/// Server options; `default-server` lines fill the same structure, and servers start from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    pub check: bool,
    pub backup: bool,
    pub disabled: bool,
    pub ssl: bool,
    pub send_proxy: bool,
    /// `send-proxy-v2` (and its `-ssl`/`-ssl-cn` forms): the binary header.
    pub send_proxy_v2: bool,
    /// `proxy-v2-options` (and `send-proxy-v2-ssl`/`-ssl-cn`): the TLVs the v2 header carries.
    pub proxy_v2_options: ProxyV2Options,
    /// `set-proxy-v2-tlv-fmt(<id>) <fmt>`: custom TLVs, as (type, log-format text), in order.
    pub proxy_v2_tlvs: Vec<(u8, Spanned<String>)>,
    pub inter: Option<Duration>,
    pub fastinter: Option<Duration>,
    pub downinter: Option<Duration>,
    pub rise: Option<u64>,
    pub fall: Option<u64>,
    pub weight: Option<Spanned<u64>>,
    pub maxconn: Option<Spanned<u64>>,
    pub minconn: Option<Spanned<u64>>,
    pub maxqueue: Option<u64>,
    pub cookie: Option<Spanned<String>>,
    /// Health-check port (`port N`).
    pub check_port: Option<u16>,
    pub verify: Option<String>,
    pub init_addr: Option<Spanned<String>>,
    pub resolvers: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub crt: Option<Spanned<String>>,
    pub crl_file: Option<Spanned<String>>,
    pub track: Option<Spanned<String>>,
    pub sni: Option<String>,
    /// Where the `sni` keyword was written (for `checks::server_sni`).
    pub sni_location: Option<Location>,
    /// `init-state`: the state a checked server starts in (`None`: HAProxy's default, up
    /// with one failure taking it down).
    pub init_state: Option<InitState>,
    /// `pool-max-conn`: most idle connections kept for the server (-1: no limit, 0: none).
    pub pool_max_conn: Option<i64>,
    /// `pool-purge-delay`: how often half of the server's unused idle connections are
    /// closed (0: none are kept).
    pub pool_purge_delay: Option<Duration>,
    /// `pool-low-conn`: idle connections below which a thread does not take another
    /// thread's.
    pub pool_low_conn: Option<u64>,
    /// Other options as written: name, value, location.
    pub other: Vec<(String, Option<String>, Location)>,
}

/// What `proxy-v2-options` adds to the PROXY v2 header sent to a server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyV2Options {
    /// `ssl`: the client's TLS details (`PP2_TYPE_SSL`).
    pub ssl: bool,
    /// `cert-cn`: the client certificate's common name.
    pub cert_cn: bool,
    /// `ssl-cipher`: the cipher in use.
    pub ssl_cipher: bool,
    /// `cert-sig`: the signature algorithm of the certificate.
    pub cert_sig: bool,
    /// `cert-key`: the key algorithm of the certificate.
    pub cert_key: bool,
    /// `authority`: the host name the client asked for (`PP2_TYPE_AUTHORITY`).
    pub authority: bool,
    /// `crc32c`: a checksum of the header (`PP2_TYPE_CRC32C`).
    pub crc32c: bool,
    /// `unique-id`: the stream's unique ID (`PP2_TYPE_UNIQUE_ID`).
    pub unique_id: bool,
}

impl ProxyV2Options {
    /// Adds the option named `name`; `false` when there is no such option. The certificate
    /// and cipher options imply `ssl`, as in HAProxy.
    pub fn add(&mut self, name: &str) -> bool {
        match name {
            "ssl" => self.ssl = true,
            "cert-cn" => self.cert_cn = true,
            "ssl-cipher" => self.ssl_cipher = true,
            "cert-sig" => self.cert_sig = true,
            "cert-key" => self.cert_key = true,
            "authority" => self.authority = true,
            "crc32c" => self.crc32c = true,
            "unique-id" => self.unique_id = true,
            _ => return false,
        }
        self.ssl |= self.cert_cn || self.ssl_cipher || self.cert_sig || self.cert_key;
        true
    }
}

/// The TLV type of `set-proxy-v2-tlv-fmt(<id>)`: a number from 0 to 255, decimal, hex
/// (`0x`) or octal (leading `0`), as `strtoul` reads it.
pub fn tlv_type_of(keyword: &str) -> Result<u8, String> {
    let inner = keyword
        .strip_prefix("set-proxy-v2-tlv-fmt(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("'{keyword}' : expects set-proxy-v2-tlv-fmt(<TLV ID>)"))?;
    let t = inner.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8)
    } else {
        t.parse::<u64>()
    };
    match parsed {
        Ok(v) => {
            u8::try_from(v).map_err(|_| format!("'{keyword}' : the maximum allowed TLV ID is 255"))
        }
        Err(_) => Err(format!("'{keyword}' : could not convert TLV ID")),
    }
}

/// `init-state` values other than `none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitState {
    /// Up; `fall` failures take it down.
    FullyUp,
    /// Up; one failure takes it down.
    Up,
    /// Down; one success brings it up.
    Down,
    /// Down; `rise` successes bring it up.
    FullyDown,
}

/// Parses `server <name> <addr> [options]`, starting from the proxy's `default-server` values.
pub fn parse(
    stmt: &Statement,
    defaults: &ServerOptions,
    diags: &mut Diagnostics,
) -> Parsed<Server> {
    let (Some(name), Some(addr)) = (stmt.words.get(1), stmt.words.get(2)) else {
        return Err(Diagnostic::error(
            Category::Syntax,
            "server-arguments-missing",
            format!("'{}' expects <name> and <addr>[:<port>] as arguments.", stmt.keyword()),
        )
        .at(stmt.location)
        .help("write 'server <name> <address>[:<port>] [options]', e.g. 'server web1 10.0.0.1:80 check'")
        .into());
    };
    let address = address::parse(&addr.text, Use::Server).map_err(|e| {
        Failure::from(
            Diagnostic::error(
                Category::Syntax,
                "address-invalid",
                format!("'server {}' : {}", name.text, e.message),
            )
            .at(stmt.word_location(2))
            .help(e.help),
        )
    })?;
    let mut options = defaults.clone();
    parse_options(stmt, 3, &mut options, diags)?;
    Ok(Server {
        name: name.text.clone(),
        address,
        options,
        location: stmt.location,
    })
}

/// Most servers one `server-template` line may make (HAProxy has no limit but memory).
const MAX_TEMPLATE_SERVERS: u64 = 65_536;

/// Parses `server-template <prefix> <num | low-high> <fqdn>[:<port>] [options]`: the
/// servers `<prefix><n>` for each number, all with the same address and options.
pub fn parse_template(
    stmt: &Statement,
    defaults: &ServerOptions,
    diags: &mut Diagnostics,
) -> Parsed<Vec<Server>> {
    let (Some(prefix), Some(range), Some(addr)) =
        (stmt.words.get(1), stmt.words.get(2), stmt.words.get(3))
    else {
        return Err(Diagnostic::error(
            Category::Syntax,
            "server-arguments-missing",
            "'server-template' expects <prefix> <num | range> <fqdn>[:<port>] as arguments.",
        )
        .at(stmt.location)
        .help("write e.g. 'server-template web 1-3 app.example.com:80 check resolvers dns init-addr none'")
        .into());
    };
    let numbers = template_range(&range.text).ok_or_else(|| {
        Failure::from(
            Diagnostic::error(
                Category::Syntax,
                "server-template-range",
                format!(
                    "'server-template {}' : invalid range '{}'.",
                    prefix.text, range.text
                ),
            )
            .at(stmt.word_location(2))
            .help(
                "write a count (e.g. '3' for 1 to 3) or a range 'low-high' with 1 <= low <= high",
            ),
        )
    })?;
    let address = address::parse(&addr.text, Use::Server).map_err(|e| {
        Failure::from(
            Diagnostic::error(
                Category::Syntax,
                "address-invalid",
                format!("'server-template {}' : {}", prefix.text, e.message),
            )
            .at(stmt.word_location(3))
            .help(e.help),
        )
    })?;
    let mut options = defaults.clone();
    parse_options(stmt, 4, &mut options, diags)?;
    Ok(numbers
        .map(|n| Server {
            name: format!("{}{n}", prefix.text),
            address: address.clone(),
            options: options.clone(),
            location: stmt.location,
        })
        .collect())
}

/// `N` (1 to N) or `low-high`.
fn template_range(text: &str) -> Option<std::ops::RangeInclusive<u64>> {
    let (low, high) = match text.split_once('-') {
        Some((l, h)) => (l.parse::<u64>().ok()?, h.parse::<u64>().ok()?),
        None => (1, text.parse::<u64>().ok()?),
    };
    (low >= 1 && low <= high && high - low < MAX_TEMPLATE_SERVERS).then_some(low..=high)
}

/// Parses the options from word `start` on into `options`.
pub fn parse_options(
    stmt: &Statement,
    start: usize,
    options: &mut ServerOptions,
    diags: &mut Diagnostics,
) -> Parsed<()> {
    let context = stmt.keyword().to_string();
    let place = Place {
        table: Table::ServerOption,
        context: &context,
    };
    let mut index = start;
    while let Some(word) = stmt.words.get(index) {
        let name = word.text.as_str();
        let location = stmt.word_location(index);
        let flag = FLAGS.contains(&name);
        let valued = WITH_VALUE.contains(&name);
        if catalogue::admit(&place, name, flag || valued, location, diags) == Admission::Reject {
            return Err(Failure::Reported);
        }
        if name.starts_with("set-proxy-v2-tlv-fmt(") {
            let kind = tlv_type_of(name).map_err(|m| {
                Failure::from(
                    Diagnostic::error(Category::Syntax, "value-invalid", m)
                        .at(location)
                        .help("write e.g. 'set-proxy-v2-tlv-fmt(0xE1) %[str(value)]', with a TLV type from 0 to 255"),
                )
            })?;
            // HAProxy takes the next word as the format, an empty one at the end of the line.
            let (text, at) = match stmt.words.get(index + 1) {
                Some(w) => (w.text.clone(), stmt.word_location(index + 1)),
                None => (String::new(), location),
            };
            options.proxy_v2_tlvs.push((kind, Spanned::new(text, at)));
            index += 2;
            continue;
        }
        if flag || !valued && next_is_option(stmt, index + 1) {
            match name {
                "check" => options.check = true,
                "no-check" => options.check = false,
                "backup" => options.backup = true,
                "no-backup" => options.backup = false,
                "disabled" => options.disabled = true,
                "enabled" => options.disabled = false,
                "ssl" => options.ssl = true,
                "no-ssl" => options.ssl = false,
                "send-proxy" => options.send_proxy = true,
                "send-proxy-v2" | "send-proxy-v2-ssl" | "send-proxy-v2-ssl-cn" => {
                    options.send_proxy = true;
                    options.send_proxy_v2 = true;
                    if name != "send-proxy-v2" {
                        options.proxy_v2_options.add("ssl");
                    }
                    if name == "send-proxy-v2-ssl-cn" {
                        options.proxy_v2_options.add("cert-cn");
                    }
                }
                "no-send-proxy"
                | "no-send-proxy-v2"
                | "no-send-proxy-v2-ssl"
                | "no-send-proxy-v2-ssl-cn" => {
                    options.send_proxy = false;
                    options.send_proxy_v2 = false;
                    if name.starts_with("no-send-proxy-v2-ssl") {
                        options.proxy_v2_options.ssl = false;
                    }
                    if name == "no-send-proxy-v2-ssl-cn" {
                        options.proxy_v2_options.cert_cn = false;
                    }
                }
                _ => options.other.push((name.to_string(), None, location)),
            }
            index += 1;
            continue;
        }
        let value = statement::arg(stmt, index + 1, "a value")?;
        let v = value.text.clone();
        let at = stmt.word_location(index + 1);
        let spanned = Spanned::new(v.clone(), at);
        let uint = |min, max, what| statement::uint(stmt, index + 1, min, max, what);
        match name {
            "inter" => options.inter = Some(statement::duration(stmt, index + 1, diags)?),
            "fastinter" => options.fastinter = Some(statement::duration(stmt, index + 1, diags)?),
            "downinter" => options.downinter = Some(statement::duration(stmt, index + 1, diags)?),
            "rise" => options.rise = Some(uint(1, i32::MAX as u64, "rise")?),
            "fall" => options.fall = Some(uint(1, i32::MAX as u64, "fall")?),
            "weight" => {
                let weight = statement::arg(stmt, index + 1, "a weight")?;
                match crate::units::parse_uint(&weight.text, u64::from(u32::MAX)) {
                    Some(w) if w <= MAX_WEIGHT => options.weight = Some(Spanned::new(w, at)),
                    _ => {
                        return Err(Diagnostic::error(
                            Category::Semantic,
                            "server-weight-out-of-range",
                            format!(
                            "weight of server '{}' must be between 0 and {MAX_WEIGHT}, got '{}'",
                            stmt.words.get(1).map(|w| w.as_str()).unwrap_or(""),
                            weight.text
                        ),
                        )
                        .at(at)
                        .help(format!(
                            "write a weight from 0 to {MAX_WEIGHT} (0 sends no traffic)"
                        ))
                        .into())
                    }
                }
            }
            "maxconn" => {
                options.maxconn = Some(Spanned::new(uint(0, i32::MAX as u64, "maxconn")?, at))
            }
            "minconn" => {
                options.minconn = Some(Spanned::new(uint(0, i32::MAX as u64, "minconn")?, at))
            }
            "maxqueue" => options.maxqueue = Some(uint(0, i32::MAX as u64, "maxqueue")?),
            "pool-max-conn" => {
                options.pool_max_conn = Some(if v == "-1" {
                    -1
                } else {
                    uint(0, i32::MAX as u64, "pool-max-conn (or -1: no limit)")? as i64
                })
            }
            "pool-purge-delay" => {
                options.pool_purge_delay = Some(statement::duration(stmt, index + 1, diags)?)
            }
            "pool-low-conn" => {
                options.pool_low_conn = Some(uint(0, i32::MAX as u64, "pool-low-conn")?)
            }
            "port" => {
                options.check_port = Some(uint(1, 65535, "port")? as u16);
            }
            "cookie" => options.cookie = Some(spanned),
            "init-state" => {
                options.init_state = match v.as_str() {
                    "fully-up" => Some(InitState::FullyUp),
                    "up" => Some(InitState::Up),
                    "down" => Some(InitState::Down),
                    "fully-down" => Some(InitState::FullyDown),
                    // HAProxy keeps whatever `default-server` set: `none` changes nothing.
                    "none" => options.init_state,
                    _ => {
                        return Err(statement::syntax_error(
                            stmt,
                            index + 1,
                            "value-invalid",
                            format!(
                                "'init-state' takes 'fully-up', 'up', 'down', 'fully-down' or 'none' (got '{v}')."
                            ),
                            "write e.g. 'init-state down' to keep the server out until its first check passes",
                        )
                        .into())
                    }
                }
            }
            "verify" => {
                if !matches!(v.as_str(), "none" | "required") {
                    return Err(statement::syntax_error(
                        stmt,
                        index + 1,
                        "value-invalid",
                        format!("'verify' only supports 'none' and 'required' (got '{v}')."),
                        "write 'verify none' or 'verify required'",
                    )
                    .into());
                }
                options.verify = Some(v)
            }
            "init-addr" => options.init_addr = Some(spanned),
            "resolvers" => options.resolvers = Some(spanned),
            "ca-file" => options.ca_file = Some(spanned),
            "crt" => options.crt = Some(spanned),
            "crl-file" => options.crl_file = Some(spanned),
            "track" => options.track = Some(spanned),
            "sni" => {
                options.sni = Some(v);
                options.sni_location = Some(location);
            }
            "source" => {
                // `source <addr> [usesrc <addr>] [interface <name>]`
                options.other.push((name.to_string(), Some(v), location));
                index += 2;
                while let Some(next) = stmt.words.get(index) {
                    if next.text == "usesrc" || next.text == "interface" {
                        index += 2;
                    } else {
                        break;
                    }
                }
                continue;
            }
            "observe" | "on-error" => {
                let allowed: &[&str] = if name == "observe" {
                    &["none", "layer4", "layer7"]
                } else {
                    &["fastinter", "fail-check", "sudden-death", "mark-down"]
                };
                if !allowed.contains(&v.as_str()) {
                    return Err(statement::syntax_error(
                        stmt,
                        index + 1,
                        "server-option-value",
                        format!("'{name}' expects one of {}, got '{v}'", allowed.join(", ")),
                        format!("write '{name} {}'", allowed.last().copied().unwrap_or("")),
                    )
                    .into());
                }
                options.other.push((name.to_string(), Some(v), location));
            }
            "proxy-v2-options" => {
                for option in v.split(',') {
                    if !options.proxy_v2_options.add(option) {
                        return Err(statement::syntax_error(
                            stmt,
                            index + 1,
                            "value-invalid",
                            format!("'proxy-v2-options' : unknown option '{option}'"),
                            "write options among ssl, cert-cn, ssl-cipher, cert-sig, cert-key, authority, crc32c and unique-id, separated by commas",
                        )
                        .into());
                    }
                }
            }
            "error-limit" | "agent-port" => {
                let max = if name == "agent-port" {
                    65535
                } else {
                    i32::MAX as u64
                };
                uint(1, max, name)?;
                options.other.push((name.to_string(), Some(v), location));
            }
            "agent-inter" => {
                statement::duration(stmt, index + 1, diags)?;
                options.other.push((name.to_string(), Some(v), location));
            }
            "proto" => {
                // The multiplexers Sluice speaks to servers (HAProxy also has fcgi, quic).
                if !matches!(v.as_str(), "h1" | "h2") {
                    return Err(statement::syntax_error(
                        stmt,
                        index + 1,
                        "value-invalid",
                        format!(
                            "'proto' : MUX protocol '{v}' is not available for server lines (Sluice speaks 'h1' and 'h2')."
                        ),
                        "write 'proto h2' for HTTP/2 to the server, or remove the option",
                    )
                    .into());
                }
                options.other.push((name.to_string(), Some(v), location));
            }
            _ => options.other.push((name.to_string(), Some(v), location)),
        }
        index += 2;
    }
    Ok(())
}

fn next_is_option(stmt: &Statement, index: usize) -> bool {
    match stmt.words.get(index) {
        None => true,
        Some(w) => FLAGS.contains(&w.as_str()) || WITH_VALUE.contains(&w.as_str()),
    }
}
