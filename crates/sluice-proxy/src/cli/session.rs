//! The accept loop of a stats socket and one session per client.
//!
//! A session reads a line (within `stats timeout`), runs its commands in order and writes
//! their answers, each followed by an empty line. In the default, non-interactive mode the
//! connection then closes; `prompt` keeps it open (with a `> ` prompt in prompt mode) until
//! `quit`, the end of the input or the idle timeout.

use super::dispatch::{self, Mode, Session};
use super::{parse, Level, Runtime};
use crate::listener::accept::Listener;
use crate::stream::Ctx;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Semaphore;

/// Longest payload after a `<<` line.
const MAX_PAYLOAD: usize = 128 * 1024;

/// How long a client may take to read an answer.
const WRITE_LIMIT: Duration = Duration::from_secs(10);

/// Accepts clients of one stats socket until the worker stops; each session is a task of
/// this thread. `maxconn`: most sessions at once on this socket.
pub async fn serve(
    listener: Listener,
    level: Level,
    maxconn: Option<usize>,
    rt: Arc<Runtime>,
    ctx: Rc<Ctx>,
) {
    let limit = maxconn.map(|m| Arc::new(Semaphore::new(m.clamp(1, Semaphore::MAX_PERMITS))));
    let line_limit = rt.plan.bufsize.max(1024);
    loop {
        if ctx.stopping() {
            return;
        }
        let permit = match &limit {
            Some(l) => tokio::select! {
                p = l.clone().acquire_owned() => match p {
                    Ok(p) => Some(p),
                    Err(_) => return,
                },
                _ = ctx.stopped() => continue,
            },
            None => None,
        };
        let accepted = tokio::select! {
            r = accept(&listener) => r,
            _ = ctx.stopped() => continue,
        };
        match accepted {
            Ok(Client::Tcp(s)) => {
                let rt = rt.clone();
                tokio::task::spawn_local(async move {
                    run(s, level, rt, line_limit).await;
                    drop(permit);
                });
            }
            Ok(Client::Unix(s)) => {
                let rt = rt.clone();
                tokio::task::spawn_local(async move {
                    run(s, level, rt, line_limit).await;
                    drop(permit);
                });
            }
            Err(e) => {
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

enum Client {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> io::Result<Client> {
    match listener {
        Listener::Tcp(l) => Ok(Client::Tcp(l.accept().await?.0)),
        Listener::Unix(l) => Ok(Client::Unix(l.accept().await?.0)),
    }
}

/// Reads one line (without its `\n`); `None` at the end of the input. A line longer than
/// `limit` is an error.
async fn read_line<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    limit: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if line.is_empty() { None } else { Some(line) });
        }
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(buf.get(..take).unwrap_or_default());
        r.consume(take);
        if line.len() > limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
        }
        if done {
            line.pop();
            return Ok(Some(line));
        }
    }
}

/// Appends one command's answer: its text, ending with a newline, then the empty line
/// that ends every answer.
fn push_answer(out: &mut String, text: &str) {
    if !text.is_empty() {
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push('\n');
}

fn prompt_text(rt: &Runtime, s: &Session) -> String {
    if s.timed {
        let up = rt.started.elapsed().as_secs();
        format!(
            "[{}:{:02}:{:02}:{:02}]> ",
            up / 86400,
            (up % 86400) / 3600,
            (up % 3600) / 60,
            up % 60
        )
    } else {
        "> ".to_string()
    }
}

/// One client, until it quits, its input ends, or it stays idle for `stats timeout`.
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    level: Level,
    rt: Arc<Runtime>,
    limit: usize,
) {
    let mut io = BufReader::new(stream);
    let mut session = Session::new(level);
    loop {
        let line = match tokio::time::timeout(rt.timeout, read_line(&mut io, limit)).await {
            Ok(Ok(Some(line))) => line,
            Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
                let _ = write(&mut io, "The command line is too long.\n\n").await;
                return;
            }
            _ => return,
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        let (line, payload) = match parse::payload_marker(&line) {
            Some((before, pattern)) => {
                let pattern = pattern.to_string();
                let before = before.to_string();
                match read_payload(&mut io, &pattern, limit, rt.timeout).await {
                    Some(p) => (before, Some(p)),
                    None => return,
                }
            }
            None => (line, None),
        };
        let commands = parse::split_line(&line);
        let count = commands.len();
        let mut out = String::new();
        let mut quit = false;
        for (i, words) in commands.iter().enumerate() {
            let payload = if i + 1 == count {
                payload.as_deref()
            } else {
                None
            };
            let answer = dispatch::execute(&rt, &mut session, words, payload);
            if answer.quit {
                quit = true;
                break;
            }
            push_answer(&mut out, &answer.text);
        }
        if !quit && session.mode == Mode::Prompt {
            if count == 0 {
                out.push('\n');
            }
            out.push_str(&prompt_text(&rt, &session));
        }
        if write(&mut io, &out).await.is_err() {
            return;
        }
        if quit || session.mode == Mode::NonInteractive {
            let _ = io.get_mut().shutdown().await;
            return;
        }
    }
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    text: &str,
) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let w = io.get_mut();
    match tokio::time::timeout(WRITE_LIMIT, async {
        w.write_all(text.as_bytes()).await?;
        w.flush().await
    })
    .await
    {
        Ok(r) => r,
        Err(_) => Err(io::Error::from(io::ErrorKind::TimedOut)),
    }
}

/// The lines after a `<<` line, up to `pattern` (an empty line by default).
async fn read_payload<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
    pattern: &str,
    limit: usize,
    idle: Duration,
) -> Option<String> {
    let mut payload = String::new();
    loop {
        let line = match tokio::time::timeout(idle, read_line(r, limit)).await {
            Ok(Ok(Some(l))) => l,
            Ok(Ok(None)) => return Some(payload),
            _ => return None,
        };
        let line = String::from_utf8_lossy(&line);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line == pattern {
            return Some(payload);
        }
        payload.push_str(line);
        payload.push('\n');
        if payload.len() > MAX_PAYLOAD {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_line;

    #[tokio::test]
    async fn reads_lines_and_limits_them() {
        let data: &[u8] = b"show info\nshow stat";
        let mut r = tokio::io::BufReader::new(data);
        assert_eq!(
            read_line(&mut r, 100).await.ok().flatten(),
            Some(b"show info".to_vec())
        );
        assert_eq!(
            read_line(&mut r, 100).await.ok().flatten(),
            Some(b"show stat".to_vec())
        );
        assert_eq!(read_line(&mut r, 100).await.ok().flatten(), None);
        let long = vec![b'a'; 300];
        let mut r = tokio::io::BufReader::new(&long[..]);
        assert!(read_line(&mut r, 100).await.is_err());
    }
}
