//! Running one check: the rules in order on one connection (a `connect` rule opens a new
//! one), within HAProxy's check timeouts.

use super::context::{CheckContext, CheckSource};
use super::http::{self, Parsed, Response};
use super::rules::{
    Connect, Expect, Field, HttpRequest, Pattern, Proto, Rule, Ruleset, Step, VarValue,
};
use super::{Outcome, Status};
use crate::tls::connector::ServerStream;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Where and how long one server is checked.
#[derive(Clone, Debug)]
pub struct Target {
    /// The check address (`addr` and `port` applied).
    pub addr: SocketAddr,
    /// PROXY header version for checks (`check-send-proxy`, or the server's `send-proxy`
    /// when neither `port` nor `addr` moves the check elsewhere).
    pub send_proxy: Option<u8>,
    /// PROXY version when a `connect` rule asks for one.
    pub proxy_version: u8,
    pub inter: Duration,
    /// `timeout connect`.
    pub connect: Option<Duration>,
    /// `timeout check`.
    pub check: Option<Duration>,
    /// Most bytes read (`tune.bufsize`).
    pub bufsize: usize,
    /// TLS for checks (`check-ssl`, or `ssl` without `port`/`addr`).
    pub tls: Option<crate::tls::connector::Connector>,
    /// `check-sni`: the name checks send (none otherwise).
    pub sni: Option<String>,
    /// `socks4` with `check-via-socks4`: checks go through this SOCKS4 proxy.
    pub socks4: Option<SocketAddr>,
    /// What the check's sample fetches read (log-format values, `set-var`); without it
    /// log-format values are sent as written.
    pub context: Option<CheckContext>,
    /// HTTP checks in HTTP/2 (`check-proto h2`, or the server's `proto h2`), with the HTTP
    /// settings the exchange follows.
    pub h2: Option<sluice_http::Config>,
}

/// Why reading stopped.
enum ReadError {
    Timeout,
    Io(io::Error),
}

struct Session<'a> {
    t: &'a Target,
    stream: Option<ServerStream>,
    buf: Vec<u8>,
    eof: bool,
    deadline: Instant,
    response: Option<Response>,
    /// The rule the check stopped at.
    failed_at: usize,
    /// The last failure came from the connection (refused, reset, timed out), not from
    /// what the server said.
    transport: bool,
    /// The connection sent nothing and closes with a reset (`connect` as the last rule).
    reset_on_close: bool,
    /// The check's variables (`set-var`), for this run.
    vars: sluice_rules::Vars,
    /// The unique ID of this run (`unique-id`), made when something reads it.
    unique_id: sluice_rules::UniqueId,
}

/// Runs `ruleset` against `t`.
pub async fn run(ruleset: &Ruleset, t: &Target) -> Outcome {
    let start = Instant::now();
    let mut s = Session {
        t,
        stream: None,
        buf: Vec::new(),
        eof: false,
        deadline: start + t.inter,
        response: None,
        failed_at: 0,
        transport: false,
        reset_on_close: false,
        vars: sluice_rules::Vars::default(),
        unique_id: sluice_rules::UniqueId::new(),
    };
    let mut outcome = s.rules(&ruleset.rules).await;
    if ruleset.tcp_check && s.transport && !outcome.status.passed() {
        if let (Some(rule), Some(step)) = (
            ruleset.rules.get(s.failed_at),
            ruleset.steps.get(s.failed_at),
        ) {
            outcome.info.push_str(&where_it_failed(rule, step));
        }
    }
    outcome.duration = start.elapsed();
    if s.reset_on_close {
        // The connection-only check: dropped at once, which resets it.
        s.stream = None;
    }
    if let Some(mut stream) = s.stream.take() {
        // A clean close; the check never waits for it.
        let _ = tokio::time::timeout(Duration::from_millis(10), stream.shutdown()).await;
    }
    outcome
}

/// Connects with quick ACKs off (`TCP_QUICKACK` 0), so that the kernel holds back the
/// handshake's last ACK until there is something to send with it.
async fn connect_without_quick_ack(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(&socket).set_quickack(false);
    socket.connect(addr).await
}

impl Session<'_> {
    async fn rules(&mut self, rules: &[Rule]) -> Outcome {
        let mut last = Outcome::new(Status::L4Ok, "");
        let mut i = 0;
        while let Some(rule) = rules.get(i) {
            i += 1;
            let r = match rule {
                Rule::Connect(c) => self.connect(c, rules.get(i).is_none()).await,
                Rule::Send(data) => match self.send(data).await {
                    // The server closed first: the SMTP preset's `QUIT` needs no answer.
                    Err(_) if matches!(rules.get(i), Some(Rule::Expect(e)) if e.close_ends) => {
                        self.eof = true;
                        self.buf.clear();
                        Ok(None)
                    }
                    r => r,
                },
                Rule::Expect(e) => self.expect(e).await,
                Rule::SetVar { name, value } => {
                    self.set_var(name, value);
                    Ok(None)
                }
                Rule::UnsetVar(name) => {
                    self.vars.unset(name);
                    Ok(None)
                }
                Rule::HttpSend(req) => match self.http(&self.request_bytes(req)).await {
                    // No `http-check expect` follows: HAProxy's implicit 2xx/3xx rule.
                    Ok(resp) if !matches!(rules.get(i), Some(Rule::HttpExpect(_))) => {
                        let o = http::default_expect(&resp);
                        if o.status.passed() {
                            Ok(Some(o))
                        } else {
                            Err(o)
                        }
                    }
                    Ok(resp) => Ok(Some(
                        Outcome::new(Status::L7Ok, resp.reason.clone())
                            .with_code(u32::from(resp.status)),
                    )),
                    Err(o) => Err(o),
                },
                Rule::HttpExpect(e) => match &self.response {
                    Some(resp) => http::expect(e, resp).map(Some),
                    None => Err(Outcome::new(Status::L7Rsp, "no HTTP response to check")),
                },
                Rule::Proto(p) => self.proto(p).await,
            };
            match r {
                Ok(Some(o)) => last = o,
                Ok(None) => {}
                Err(o) => {
                    self.failed_at = i - 1;
                    return o;
                }
            }
        }
        last
    }

    /// The request of an `http-check send` with its log-format values rendered.
    fn request_bytes(&self, req: &HttpRequest) -> Vec<u8> {
        let Some(context) = &self.t.context else {
            return req.encode();
        };
        if req.formats.is_empty() && !req.send_state {
            return req.encode();
        }
        let src = CheckSource {
            context,
            vars: &self.vars,
            unique_id: &self.unique_id,
        };
        let mut r = req.clone();
        let mut out = Vec::new();
        for (field, format) in &req.formats {
            format.render(&src, &mut out);
            match field {
                // An empty URI is the root, as with HAProxy.
                Field::Uri if out.is_empty() => r.uri = "/".into(),
                Field::Uri => r.uri = String::from_utf8_lossy(&out).into_owned(),
                Field::Body => r.body = out.clone(),
                Field::Header(i) => {
                    if let Some((_, v)) = r.headers.get_mut(*i) {
                        *v = String::from_utf8_lossy(&out).into_owned();
                    }
                }
            }
        }
        if req.send_state {
            if let Some(state) = super::context::server_state(context) {
                r.headers.push(("X-Haproxy-Server-State".into(), state));
            }
        }
        r.encode()
    }

    /// `set-var` / `set-var-fmt`: an expression without a value leaves the variable as is.
    fn set_var(&mut self, name: &str, value: &VarValue) {
        let Some(context) = &self.t.context else {
            return;
        };
        let src = CheckSource {
            context,
            vars: &self.vars,
            unique_id: &self.unique_id,
        };
        let owned = match value {
            VarValue::Expr(e) => e.eval(&src).map(sluice_rules::Value::into_owned),
            VarValue::Format(f) => {
                let mut out = Vec::new();
                f.render(&src, &mut out);
                Some(sluice_rules::Value::string(out))
            }
        };
        if let Some(v) = owned {
            self.vars.set(name, v.reborrow());
        }
    }

    /// Opens the connection of a `connect` rule; `last`: no rule follows it, so the
    /// check is the connection alone.
    async fn connect(&mut self, c: &Connect, last: bool) -> Result<Option<Outcome>, Outcome> {
        self.stream = None;
        self.reset_on_close = false;
        self.buf.clear();
        self.eof = false;
        let addr = SocketAddr::new(
            c.addr.unwrap_or(self.t.addr.ip()),
            c.port.unwrap_or(self.t.addr.port()),
        );
        // With `timeout check`, the connection gets min(`timeout connect`, `inter`) and
        // the rest of the check `timeout check` from the connection on; without it, `inter`
        // bounds the whole check.
        let limit = match (self.t.check, self.t.connect) {
            (Some(_), Some(c)) => Instant::now() + c.min(self.t.inter),
            _ => self.deadline,
        };
        let socks4 = self.t.socks4;
        let version = self
            .t
            .send_proxy
            .or(c.send_proxy.then_some(self.t.proxy_version));
        // A check that sends nothing, as HAProxy's: the last ACK of the handshake is held
        // back (no quick ACK) and the close is a reset, so the server's kernel never
        // completes the connection and its program never accepts one (a server that
        // serves a single connection keeps it for the traffic).
        let silent = last && socks4.is_none() && version.is_none() && self.t.tls.is_none();
        let opening = async move {
            match socks4 {
                Some(proxy) => {
                    let mut s = TcpStream::connect(proxy).await?;
                    crate::backend::socks4::connect_through(&mut s, addr).await?;
                    Ok(s)
                }
                None if silent => connect_without_quick_ack(addr).await,
                None => TcpStream::connect(addr).await,
            }
        };
        let stream = match tokio::time::timeout_at(limit, opening).await {
            Err(_) => return Err(self.transport(Outcome::new(Status::L4Tout, ""))),
            Ok(Err(e)) => {
                return Err(self.transport(Outcome::new(Status::L4Con, connect_error(&e))))
            }
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        // A zero linger: the close sends a reset.
        self.reset_on_close = silent
            && socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .is_ok();
        if let Some(d) = self.t.check {
            self.deadline = Instant::now() + d;
        }
        self.stream = Some(ServerStream::Plain(stream));
        if let Some(v) = version {
            let mut header = Vec::with_capacity(16);
            if v == 2 {
                crate::proxy_protocol::write_v2(&mut header, None, true, &[]);
            } else {
                crate::proxy_protocol::write_v1(&mut header, None);
            }
            self.write(&header).await?;
        }
        if let Some(tls) = &self.t.tls {
            let Some(ServerStream::Plain(tcp)) = self.stream.take() else {
                return Err(Outcome::new(Status::SockErr, "no connection"));
            };
            let name = self
                .t
                .sni
                .as_deref()
                .and_then(|n| rustls::pki_types::ServerName::try_from(n.to_string()).ok())
                .unwrap_or_else(|| rustls::pki_types::ServerName::IpAddress(addr.ip().into()));
            // The handshake shares the connection's time limit.
            match tokio::time::timeout_at(limit.max(self.deadline), tls.handshake(tcp, name)).await
            {
                Err(_) => return Err(Outcome::new(Status::L6Tout, "")),
                Ok(Err(e)) => return Err(Outcome::new(Status::L6Rsp, e.to_string())),
                Ok(Ok(s)) => self.stream = Some(s),
            }
            self.http2_over(limit.max(self.deadline)).await?;
            return Ok(Some(Outcome::new(Status::L6Ok, "")));
        }
        self.http2_over(limit.max(self.deadline)).await?;
        Ok(Some(Outcome::new(Status::L4Ok, "")))
    }

    /// `check-proto h2` (or the server's `proto h2`): HTTP/2 on the new connection, which
    /// the HTTP check then sees as an HTTP/1.1 one (as the traffic does).
    async fn http2_over(&mut self, limit: Instant) -> Result<(), Outcome> {
        let Some(http) = self.t.h2 else {
            return Ok(());
        };
        let Some(stream) = self.stream.take() else {
            return Err(Outcome::new(Status::SockErr, "no connection"));
        };
        let shake = crate::backend::h2_client::handshake(stream, http, self.t.bufsize, None);
        match tokio::time::timeout_at(limit, Box::pin(shake)).await {
            Err(_) => Err(self.transport(Outcome::new(Status::L7Tout, ""))),
            Ok(Err(e)) => Err(self.transport(Outcome::new(Status::L7Rsp, strerror(&e)))),
            Ok(Ok(h2)) => {
                self.stream = Some(ServerStream::H2(Box::new(h2)));
                Ok(())
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> Result<(), Outcome> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(Outcome::new(Status::SockErr, "no connection"));
        };
        match tokio::time::timeout_at(self.deadline, stream.write_all(data)).await {
            Err(_) => Err(self.transport(Outcome::new(Status::L7Tout, ""))),
            Ok(Err(e)) => Err(self.transport(Outcome::new(Status::L4Con, strerror(&e)))),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn send(&mut self, data: &[u8]) -> Result<Option<Outcome>, Outcome> {
        // Each answer is matched on its own: what came before the question is dropped.
        self.buf.clear();
        self.write(data).await?;
        Ok(None)
    }

    /// Reads more into the buffer; `Ok(false)` at the end of the stream or a full buffer.
    async fn read_more(&mut self) -> Result<bool, ReadError> {
        let room = self.t.bufsize.saturating_sub(self.buf.len());
        let Some(stream) = self.stream.as_mut() else {
            return Ok(false);
        };
        if self.eof || room == 0 {
            return Ok(false);
        }
        let mut chunk = vec![0u8; room.min(16384)];
        match tokio::time::timeout_at(self.deadline, stream.read(&mut chunk)).await {
            Err(_) => Err(ReadError::Timeout),
            Ok(Err(e)) => Err(ReadError::Io(e)),
            Ok(Ok(0)) => {
                self.eof = true;
                Ok(false)
            }
            Ok(Ok(n)) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                Ok(true)
            }
        }
    }

    async fn expect(&mut self, e: &Expect) -> Result<Option<Outcome>, Outcome> {
        loop {
            if e.close_ends && self.eof && self.buf.is_empty() {
                return Ok(None);
            }
            let found = matches(&e.pattern, &self.buf);
            let full = self.buf.len() >= self.t.bufsize;
            let done = self.eof || full;
            // HAProxy waits for more data below `min-recv`, and on a mismatch when no
            // `min-recv` is set.
            let wait = !done
                && (e.min_recv.is_some_and(|m| self.buf.len() < m)
                    || (!found && e.min_recv.is_none()));
            if !wait {
                let code = e
                    .code_from_reply
                    .then(|| {
                        std::str::from_utf8(self.buf.get(..3)?)
                            .ok()?
                            .parse::<u32>()
                            .ok()
                    })
                    .flatten();
                let with_code = |o: Outcome| match code {
                    Some(c) => o.with_code(c),
                    None => o,
                };
                if found != e.negate {
                    let info = match &e.on_success {
                        Some(m) => m.clone(),
                        None if e.success_shows_reply => self.reply_text(e.reply_skip),
                        None => String::new(),
                    };
                    return Ok(Some(with_code(Outcome::new(e.ok, info))));
                }
                return Err(with_code(Outcome::new(e.error, self.mismatch(e))));
            }
            match self.read_more().await {
                Ok(_) => {}
                Err(ReadError::Timeout) => return Err(self.transport(Outcome::new(e.tout, ""))),
                Err(ReadError::Io(_)) if e.close_ends && self.buf.is_empty() => {
                    self.eof = true;
                    return Ok(None);
                }
                Err(ReadError::Io(err)) => {
                    return Err(self.transport(Outcome::new(Status::L4Con, strerror(&err))))
                }
            }
        }
    }

    fn mismatch(&self, e: &Expect) -> String {
        if let Some(m) = &e.on_error {
            return m.clone();
        }
        if e.error_shows_reply {
            return self.reply_text(e.reply_skip);
        }
        let mut msg = if self.buf.is_empty() {
            format!("TCPCHK got an empty response at step {}", e.step)
        } else {
            let what = match &e.pattern {
                Pattern::String(s) => format!(" '{}'", String::from_utf8_lossy(s)),
                Pattern::Binary(_) => " (binary)".into(),
                Pattern::RString(_) => " (regex)".into(),
                Pattern::RBinary(_) => " (binary regex)".into(),
            };
            let verdict = if e.negate {
                "TCPCHK matched unwanted content"
            } else {
                "TCPCHK did not match content"
            };
            format!("{verdict}{what} at step {}", e.step)
        };
        if let Some(comment) = &e.comment {
            msg.push_str(" comment: ");
            msg.push_str(&self.with_groups(&e.pattern, comment));
        }
        msg
    }

    /// `comment` with `\1`..`\9` replaced by the groups the regex matched in the reply
    /// (HAProxy lets a comment quote what the server said).
    fn with_groups(&self, pattern: &Pattern, comment: &str) -> String {
        let hex;
        let (re, subject) = match pattern {
            Pattern::RString(re) => (re, self.buf.as_slice()),
            Pattern::RBinary(re) => {
                hex = hex_upper(&self.buf);
                (re, hex.as_bytes())
            }
            _ => return comment.to_string(),
        };
        let Some(caps) = re.captures(subject) else {
            return comment.to_string();
        };
        let mut out = String::with_capacity(comment.len());
        let mut chars = comment.chars().peekable();
        while let Some(c) = chars.next() {
            let group = chars.peek().and_then(|d| d.to_digit(10));
            match group {
                Some(n) if c == '\\' => {
                    chars.next();
                    if let Some(m) = caps.get(n as usize) {
                        let group = match pattern {
                            // A binary regex matches the reply's hexadecimal form; its
                            // groups are quoted as the bytes they stand for.
                            Pattern::RBinary(_) => unhex(m.as_bytes()),
                            _ => m.as_bytes().to_vec(),
                        };
                        out.push_str(&String::from_utf8_lossy(&group));
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    fn transport(&mut self, o: Outcome) -> Outcome {
        self.transport = true;
        o
    }

    /// The reply's first line after `skip` bytes (and the spaces after them).
    fn reply_text(&self, skip: usize) -> String {
        let rest = self.buf.get(skip..).unwrap_or_default();
        let start = if skip > 0 {
            rest.iter().position(|c| *c != b' ').unwrap_or(rest.len())
        } else {
            0
        };
        first_line(rest.get(start..).unwrap_or_default())
    }

    /// Sends an HTTP request and reads the response.
    async fn http(&mut self, request: &[u8]) -> Result<Response, Outcome> {
        self.send(request).await?;
        self.response = None;
        loop {
            match http::parse(&self.buf, self.eof || self.buf.len() >= self.t.bufsize) {
                Parsed::Done(r) => {
                    self.response = Some(r.clone());
                    return Ok(r);
                }
                Parsed::Invalid(why) => return Err(Outcome::new(Status::L7Rsp, why)),
                Parsed::Partial => {}
            }
            match self.read_more().await {
                Ok(_) => {}
                Err(ReadError::Timeout) => return Err(Outcome::new(Status::L7Tout, "")),
                Err(ReadError::Io(e)) => return Err(Outcome::new(Status::L4Con, strerror(&e))),
            }
        }
    }

    /// Reads until `n` bytes are buffered (or the stream ends).
    async fn fill(&mut self, n: usize) -> Result<(), Outcome> {
        while self.buf.len() < n {
            match self.read_more().await {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(ReadError::Timeout) => return Err(Outcome::new(Status::L7Tout, "")),
                Err(ReadError::Io(e)) => return Err(Outcome::new(Status::L4Con, strerror(&e))),
            }
        }
        Ok(())
    }

    /// One MySQL packet's payload, taken off the buffer.
    async fn mysql_packet(&mut self) -> Result<Vec<u8>, Outcome> {
        self.fill(4).await?;
        let len = match self.buf.get(..3) {
            Some([a, b, c]) => usize::from(*a) | usize::from(*b) << 8 | usize::from(*c) << 16,
            _ => return Err(Outcome::new(Status::L7Rsp, "Not a MySQL reply")),
        };
        self.fill(4 + len).await?;
        let Some(payload) = self.buf.get(4..4 + len).map(<[u8]>::to_vec) else {
            return Err(Outcome::new(Status::L7Rsp, "Truncated MySQL reply"));
        };
        self.buf.drain(..4 + len);
        Ok(payload)
    }

    async fn proto(&mut self, p: &Proto) -> Result<Option<Outcome>, Outcome> {
        match p {
            Proto::Mysql { user, pre41 } => {
                // As HAProxy does, the login goes out at once, before the server's greeting
                // is read.
                if let Some(user) = user {
                    self.write(&mysql_login(user, *pre41)).await?;
                }
                let hello = self.mysql_packet().await?;
                let version = match hello.first() {
                    Some(0x0a) => cstr(hello.get(1..).unwrap_or_default()),
                    Some(0xff) => return Err(mysql_failure(&hello)),
                    _ => return Err(Outcome::new(Status::L7Rsp, "Not a MySQL handshake")),
                };
                if user.is_none() {
                    return Ok(Some(Outcome::new(Status::L7Ok, version)));
                }
                let reply = self.mysql_packet().await?;
                match reply.first() {
                    Some(0x00) => Ok(Some(Outcome::new(Status::L7Ok, version))),
                    Some(0xff) => Err(mysql_failure(&reply)),
                    _ => Err(Outcome::new(Status::L7Rsp, "Unknown MySQL reply")),
                }
            }
            Proto::Pgsql { user } => {
                let mut body = 196608u32.to_be_bytes().to_vec(); // protocol 3.0
                body.extend_from_slice(b"user\0");
                body.extend_from_slice(user.as_bytes());
                body.extend_from_slice(b"\0\0");
                let len = u32::try_from(body.len() + 4).unwrap_or(0);
                let mut msg = len.to_be_bytes().to_vec();
                msg.extend_from_slice(&body);
                self.write(&msg).await?;
                self.fill(9).await?;
                // HAProxy's preset: an error reply (`E`) is an invalid response told by the
                // text from its sixth byte; an authentication request (`R`) of any kind
                // passes; anything else is a wrong status.
                match self.buf.first() {
                    Some(b'R') => Ok(Some(Outcome::new(Status::L7Ok, "PostgreSQL server is ok"))),
                    Some(b'E') => Err(Outcome::new(
                        Status::L7Rsp,
                        cstr(self.buf.get(6..).unwrap_or_default()),
                    )),
                    _ => Err(Outcome::new(Status::L7Sts, "PostgreSQL unknown error")),
                }
            }
            Proto::Ldap => {
                // An anonymous simple bind, message id 1.
                self.write(b"\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00")
                    .await?;
                self.fill(14).await?;
                // Long-form lengths need more than the first 14 bytes: read until the
                // result code is there (or the server stops sending).
                loop {
                    if let Some(r) = ldap_reply(&self.buf) {
                        return r;
                    }
                    let before = self.buf.len();
                    self.fill(before + 1).await?;
                    if self.buf.len() == before {
                        return Err(Outcome::new(Status::L7Rsp, "Not LDAPv3 protocol"));
                    }
                }
            }
            Proto::Spop => {
                self.write(&super::spop::hello_request()).await?;
                // The frame's length, then the frame (or what came before the close).
                self.fill(4).await?;
                let len = match self.buf.get(..4) {
                    Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
                    _ => return Err(Outcome::new(Status::L7Rsp, super::spop::INVALID)),
                };
                let end = usize::try_from(len).map_or(usize::MAX, |l| l.saturating_add(4));
                self.fill(end).await?;
                let frame = self.buf.get(4..end.min(self.buf.len())).unwrap_or_default();
                match super::spop::agent_hello(frame) {
                    Ok(()) => Ok(Some(Outcome::new(Status::L7Ok, "SPOA server is ok"))),
                    Err(why) => Err(Outcome::new(Status::L7Rsp, why)),
                }
            }
        }
    }
}

/// Whether `pattern` occurs in `buf`.
fn matches(pattern: &Pattern, buf: &[u8]) -> bool {
    match pattern {
        Pattern::String(s) | Pattern::Binary(s) => http::contains(buf, s) && !buf.is_empty(),
        Pattern::RString(re) => re.is_match(buf),
        Pattern::RBinary(re) => re.is_match(hex_upper(buf).as_bytes()),
    }
}

fn hex_upper(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02X}");
    }
    s
}

fn first_line(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|c| *c == b'\r' || *c == b'\n')
        .unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(b.get(..end).unwrap_or_default()).into_owned()
}

/// The message of a MySQL error packet (`0xff`, code, [`#` state], message).
fn mysql_error(p: &[u8]) -> String {
    let rest = p.get(3..).unwrap_or_default();
    let rest = if rest.first() == Some(&b'#') {
        rest.get(6..).unwrap_or_default()
    } else {
        rest
    };
    String::from_utf8_lossy(rest).into_owned()
}

/// An error packet as a check result: its code (2 bytes, little endian) and message.
fn mysql_failure(p: &[u8]) -> Outcome {
    let o = Outcome::new(Status::L7Sts, mysql_error(p));
    match p.get(1..3) {
        Some([lo, hi]) => o.with_code(u32::from(*lo) | u32::from(*hi) << 8),
        _ => o,
    }
}

/// The client's login (no password) and a QUIT, as HAProxy sends them.
fn mysql_login(user: &str, pre41: bool) -> Vec<u8> {
    let mut p = Vec::new();
    if pre41 {
        // Capabilities (2 bytes): SECURE_CONNECTION; largest packet (3 bytes): 64 KiB.
        p.extend_from_slice(&[0x00, 0x80, 0x00, 0x00, 0x01]);
    } else {
        // Capabilities (4 bytes): PROTOCOL_41 | SECURE_CONNECTION; largest packet (4
        // bytes): 16 MiB + 32 KiB; charset 0x21 (utf8); 23 reserved bytes.
        p.extend_from_slice(&[0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21]);
        p.extend_from_slice(&[0u8; 23]);
    }
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    p.push(0); // no password
    let len = u32::try_from(p.len()).unwrap_or(0).to_le_bytes();
    let mut out = vec![len[0], len[1], len[2], 1];
    out.extend_from_slice(&p);
    out.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]); // COM_QUIT
    out
}

/// HAProxy's reading of an LDAPv3 bind response; `None` while the bytes it needs have not
/// all arrived.
fn ldap_reply(b: &[u8]) -> Option<Result<Option<Outcome>, Outcome>> {
    let not_ldap = || Err(Outcome::new(Status::L7Rsp, "Not LDAPv3 protocol"));
    if b.first() != Some(&0x30) {
        return Some(not_ldap());
    }
    let long = |x: u8| {
        if x & 0x80 != 0 {
            usize::from(x & 0x7f)
        } else {
            0
        }
    };
    let mut len = long(*b.get(1)?);
    // messageID 1, then a bindResponse.
    if b.get(2 + len..6 + len)? != b"\x02\x01\x01\x61" {
        return Some(not_ldap());
    }
    len += long(*b.get(len + 6)?);
    if b.get(7 + len..9 + len)? != b"\x0a\x01" {
        return Some(not_ldap());
    }
    let code = *b.get(len + 9)?;
    if code != 0 {
        return Some(Err(Outcome::new(
            Status::L7Sts,
            "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9",
        )
        .with_code(u32::from(code))));
    }
    Some(Ok(Some(Outcome::new(Status::L7Ok, "Success").with_code(0))))
}

/// A failed connection's description: errors the `connect()` call itself returns (no route
/// to the network, refused by the local firewall) are socket errors to HAProxy, and the
/// others (refused or reset by the peer) are told as they are.
fn connect_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENETUNREACH | libc::EACCES | libc::EPERM) => {
            format!("General socket error ({})", strerror(e))
        }
        _ => strerror(e),
    }
}

/// The OS error's text without Rust's `(os error N)` (HAProxy prints `strerror`).
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or_default().to_string(),
        None => s,
    }
}

/// HAProxy's account of where a `tcp-check` ruleset failed on its connection: the step, what
/// it was doing and its comment (` at step 2 of tcp-check (expect string 'ok')`).
fn where_it_failed(rule: &Rule, step: &Step) -> String {
    let Some(n) = step.number else {
        return " at initial connection step of tcp-check".into();
    };
    let mut at = format!(" at step {n} of tcp-check");
    match rule {
        Rule::Connect(c) => match c.port {
            Some(p) => at.push_str(&format!(" (connect port {p})")),
            None => at.push_str(" (connect)"),
        },
        Rule::Send(_) | Rule::HttpSend(_) => at.push_str(" (send)"),
        Rule::Expect(e) => match &e.pattern {
            Pattern::String(s) => at.push_str(&format!(
                " (expect string '{}')",
                String::from_utf8_lossy(s)
            )),
            Pattern::Binary(b) => at.push_str(&format!(" (expect binary '{}')", hex_upper(b))),
            Pattern::RString(_) => at.push_str(" (expect regex)"),
            Pattern::RBinary(_) => at.push_str(" (expect binary regex)"),
        },
        Rule::HttpExpect(_) | Rule::Proto(_) | Rule::SetVar { .. } | Rule::UnsetVar(_) => {}
    }
    if let Some(c) = &step.comment {
        at.push_str(&format!(" comment: '{c}'"));
    }
    at
}

/// The bytes of an even-length run of hexadecimal digits (what cannot be read is dropped).
fn unhex(hex: &[u8]) -> Vec<u8> {
    hex.chunks_exact(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_on_the_connection_name_their_step() {
        let connect = Rule::Connect(Connect {
            port: Some(1),
            ..Connect::default()
        });
        let step = |n, c: Option<&str>| Step {
            number: n,
            comment: c.map(str::to_string),
        };
        assert_eq!(
            where_it_failed(&connect, &step(Some(2), None)),
            " at step 2 of tcp-check (connect port 1)"
        );
        assert_eq!(
            where_it_failed(&connect, &step(None, None)),
            " at initial connection step of tcp-check"
        );
        let e = crate::check::rules::expect(Pattern::String(b"valid".to_vec()), 3);
        assert_eq!(
            where_it_failed(&Rule::Expect(e), &step(Some(3), Some("positive check"))),
            " at step 3 of tcp-check (expect string 'valid') comment: 'positive check'"
        );
        assert_eq!(unhex(b"343030"), b"400");
    }

    #[test]
    fn ldap_bind_success_and_failure() {
        let ok = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
        assert!(matches!(ldap_reply(ok), Some(Ok(_))));
        let bad = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00";
        let code = ldap_reply(bad).and_then(|r| r.err()).and_then(|o| o.code);
        assert_eq!(code, Some(0x31));
        assert!(matches!(ldap_reply(b"\x31"), Some(Err(_))));
        // Incomplete: more bytes are needed.
        assert!(ldap_reply(b"\x30").is_none());
        // Four-byte lengths, the result code in a later segment.
        let long = b"\x30\x84\x00\x00\x00\x10\x02\x01\x01\x61\x84\x00\x00\x00\x07\x0a\x01";
        assert!(ldap_reply(long).is_none());
        let mut whole = long.to_vec();
        whole.extend_from_slice(b"\x00\x04\x00\x04\x00");
        assert!(matches!(ldap_reply(&whole), Some(Ok(_))));
    }

    #[test]
    fn mysql_and_pgsql_messages() {
        assert_eq!(
            mysql_error(b"\xff\x15\x04#28000Access denied"),
            "Access denied"
        );
        let login = mysql_login("haproxy", false);
        assert_eq!(usize::from(login[0]) + 4 + 5, login.len());
        // HAProxy's bytes for user `user`, both forms.
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        assert_eq!(
            hex(&mysql_login("user", true)),
            "0B00000100800000017573657200000100000001"
        );
        assert_eq!(
            hex(&mysql_login("user", false)),
            "2600000100820000008000012100000000000000000000000000000000000000000000007573657200000100000001"
        );
        let o = mysql_failure(b"\xff\xe3\x04#08S01Client does not support");
        assert_eq!(
            (o.code, o.info.as_str()),
            (Some(1251), "Client does not support")
        );
    }
}
