//! Real sockets on 127.0.0.1: a proxy started from config text on a listener the test binds
//! itself (passed as `fd@N`), tiny backends written with std, and a blocking client.
#![allow(dead_code)]

use sluice_config::{read_str, ReadOptions};
use sluice_model::{build, BuildOptions};
use sluice_proxy::{BoundListeners, StopHandle, Worker};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy.
pub struct Proxy {
    pub addr: SocketAddr,
    pub stop: StopHandle,
    pub worker: Option<Worker>,
}

impl Proxy {
    /// Starts the config; `@FE@` is replaced by `fd@N` of a listener bound here.
    pub fn start(text: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let fd = listener.into_raw_fd();
        let text = text.replace("@FE@", &format!("fd@{fd}"));
        let (tree, diags) = read_str("test.cfg", &text, &ReadOptions::default());
        let (model, more) = build(&tree, &BuildOptions::default());
        let errors: Vec<_> = diags
            .iter()
            .chain(more.iter())
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        assert!(errors.is_empty(), "config errors: {errors:?}");
        let listeners = BoundListeners::bind_all(&model).expect("listeners");
        let worker = Worker::start(Arc::new(model), listeners).expect("worker");
        Proxy {
            addr,
            stop: worker.stop_handle(),
            worker: Some(worker),
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect to proxy");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        s
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.hard_stop();
        if let Some(w) = self.worker.take() {
            w.wait();
        }
    }
}

/// How a test backend answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 with its name as body (content-length).
    Name,
    /// 200 echoing the request body, chunked when the request was chunked.
    Echo,
    /// Waits this long, then answers like `Name`.
    Slow(u64),
}

/// A tiny HTTP/1.1 backend with counters.
pub struct Backend {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
    pub heads: Arc<Mutex<Vec<String>>>,
}

impl Backend {
    pub fn start(name: &'static str, behaviour: Behaviour) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind backend");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (c, r, h) = (connections.clone(), requests.clone(), heads.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (r, h) = (r.clone(), h.clone());
                std::thread::spawn(move || serve(stream, name, behaviour, r, h));
            }
        });
        Backend {
            addr,
            connections,
            requests,
            heads,
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A parsed message: head lines and body.
#[derive(Debug, Default)]
pub struct Message {
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn status(&self) -> u16 {
        self.start
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// Reads one message; `None` at a clean end of stream. `no_body`: a response to HEAD.
pub fn read_message<R: BufRead>(r: &mut R, is_response: bool) -> Option<Message> {
    let mut m = Message::default();
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    m.start = line.trim_end().to_string();
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':')?;
        m.headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    if m.header("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        m.chunked = true;
        loop {
            line.clear();
            r.read_line(&mut line).ok()?;
            let size = usize::from_str_radix(line.trim_end().split(';').next()?, 16).ok()?;
            if size == 0 {
                line.clear();
                r.read_line(&mut line).ok()?;
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk).ok()?;
            m.body.extend_from_slice(&chunk);
            let mut crlf = [0; 2];
            r.read_exact(&mut crlf).ok()?;
        }
    } else if let Some(n) = m
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        m.body = vec![0; n];
        r.read_exact(&mut m.body).ok()?;
    } else if is_response && m.status() != 204 && m.status() != 304 {
        r.read_to_end(&mut m.body).ok()?;
    }
    Some(m)
}

fn serve(
    stream: TcpStream,
    name: &str,
    behaviour: Behaviour,
    requests: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
) {
    let Ok(mut w) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    while let Some(req) = read_message(&mut r, false) {
        requests.fetch_add(1, Ordering::SeqCst);
        let mut head = req.start.clone();
        for (n, v) in &req.headers {
            head.push_str(&format!("\n{n}: {v}"));
        }
        if let Ok(mut h) = heads.lock() {
            h.push(head);
        }
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let out = match behaviour {
            Behaviour::Echo if req.chunked => {
                let mut out = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                for part in req.body.chunks(7000) {
                    out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    out.extend_from_slice(part);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
                out
            }
            Behaviour::Echo => {
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                    req.body.len()
                )
                .into_bytes();
                out.extend_from_slice(&req.body);
                out
            }
            Behaviour::Name | Behaviour::Slow(_) => {
                if let Behaviour::Slow(ms) = behaviour {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nx-server: {name}\r\n\r\n{name}",
                    name.len()
                )
                .into_bytes()
            }
        };
        if w.write_all(&out).is_err() || close {
            return;
        }
    }
}

/// Sends one request and reads the response on `s`.
pub fn request(s: &mut TcpStream, raw: &[u8]) -> Option<Message> {
    s.write_all(raw).ok()?;
    let mut r = BufReader::new(s.try_clone().ok()?);
    read_message(&mut r, true)
}

/// A port nothing listens on.
pub fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

pub const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout http-request 5s\n";
