//! Asking the nameservers of a `resolvers` section, over UDP: the same query goes to all of
//! them at once; the first valid answer wins, and when none is valid the last error counts
//! (a slow server may still give a valid answer after a fast one that failed).

use super::message::{self, Answer, Kind, Status};
use super::{Counters, Nameserver};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::time::Instant;

/// One query of `name` (type `kind`) to `nameservers`, waiting at most `wait`. Each
/// nameserver's counters count what it did with it.
pub async fn ask(
    nameservers: &[Nameserver],
    name: &str,
    kind: Kind,
    payload: u16,
    wait: Duration,
) -> Answer {
    let id = query_id();
    let Ok(query) = message::query(id, name, kind, payload) else {
        return Answer::failed(Status::Other);
    };
    // A socket per family, on a port the system picks for each query.
    let v4 = bind_if(nameservers.iter().any(|n| n.addr.is_ipv4()), "0.0.0.0:0").await;
    let v6 = bind_if(nameservers.iter().any(|n| n.addr.is_ipv6()), "[::]:0").await;
    // Whether each nameserver was asked, and has answered.
    let mut pending = vec![false; nameservers.len()];
    for (i, ns) in nameservers.iter().enumerate() {
        let socket = if ns.addr.is_ipv4() { &v4 } else { &v6 };
        let sent = match socket {
            Some(s) => s.send_to(&query, ns.addr).await.is_ok(),
            None => false,
        };
        if sent {
            Counters::add(&ns.counters.sent);
            pending[i] = true;
        } else {
            Counters::add(&ns.counters.snd_error);
        }
    }
    let deadline = Instant::now() + wait;
    let size = usize::from(payload.max(512));
    let mut last: Option<Answer> = None;
    let mut found = None;
    while found.is_none() && pending.iter().any(|p| *p) {
        let got = tokio::time::timeout_at(deadline, receive(&v4, &v6, size, nameservers)).await;
        let Ok(Some((i, bytes))) = got else {
            break;
        };
        let Some(ns) = nameservers.get(i) else {
            continue;
        };
        let Some(mut answer) = message::answer(&bytes, id, name, kind) else {
            // Not the answer to this query: a late one, or garbage.
            Counters::add(&ns.counters.invalid);
            continue;
        };
        if let Some(p) = pending.get_mut(i) {
            *p = false;
        }
        answer.by = Some(i);
        let c = &ns.counters;
        Counters::add(match answer.status {
            Status::Valid => &c.valid,
            Status::Nx => &c.nx,
            Status::Refused => &c.refused,
            Status::Truncated => &c.truncated,
            Status::Timeout | Status::Other => &c.other,
        });
        if answer.status == Status::Valid {
            found = Some(answer);
        } else {
            last = Some(answer);
        }
    }
    // Those that did not answer in time (after a valid answer, they are not waited for).
    if found.is_none() {
        for (ns, _) in nameservers.iter().zip(&pending).filter(|(_, p)| **p) {
            Counters::add(&ns.counters.timeout);
        }
    }
    found
        .or(last)
        .unwrap_or_else(|| Answer::failed(Status::Timeout))
}

async fn bind_if(wanted: bool, at: &str) -> Option<UdpSocket> {
    if wanted {
        UdpSocket::bind(at).await.ok()
    } else {
        None
    }
}

/// The next datagram from one of the nameservers, on either socket, with the position of
/// the nameserver that sent it.
async fn receive(
    v4: &Option<UdpSocket>,
    v6: &Option<UdpSocket>,
    size: usize,
    nameservers: &[Nameserver],
) -> Option<(usize, Vec<u8>)> {
    let mut buf4 = vec![0u8; size];
    let mut buf6 = vec![0u8; size];
    loop {
        let (n, from, buf) = tokio::select! {
            r = recv(v4, &mut buf4) => { let (n, from) = r?; (n, from, &buf4) }
            r = recv(v6, &mut buf6) => { let (n, from) = r?; (n, from, &buf6) }
        };
        // Only the nameservers asked may answer.
        if let Some(i) = nameservers.iter().position(|ns| ns.addr == from) {
            return buf.get(..n).map(|b| (i, b.to_vec()));
        }
    }
}

async fn recv(socket: &Option<UdpSocket>, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await.ok(),
        None => std::future::pending().await,
    }
}

/// A query id nobody on the path can guess easily (the clock's nanoseconds mixed with a
/// counter; the source port is random too).
fn query_id() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = NEXT.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ t;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, OpCode, ResponseCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    use std::net::{IpAddr, Ipv4Addr};

    /// A nameserver that answers each query with `code` and one A record.
    async fn nameserver(code: ResponseCode, ip: Ipv4Addr) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut m = Message::response(q.metadata.id, OpCode::Query);
                m.metadata.response_code = code;
                for query in &q.queries {
                    m.add_query(query.clone());
                    if code == ResponseCode::NoError {
                        m.add_answer(Record::from_rdata(query.name.clone(), 5, RData::A(A(ip))));
                    }
                }
                let _ = socket.send_to(&m.to_vec().expect("encode"), from).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn first_valid_answer_wins() {
        let failing = nameserver(ResponseCode::ServFail, Ipv4Addr::LOCALHOST).await;
        let good = nameserver(ResponseCode::NoError, Ipv4Addr::new(127, 0, 0, 7)).await;
        let servers = [
            Nameserver::new("bad".into(), failing),
            Nameserver::new("good".into(), good),
        ];
        let a = ask(&servers, "app.test", Kind::A, 512, Duration::from_secs(2)).await;
        assert_eq!(a.status, Status::Valid);
        assert_eq!(a.addrs, vec![IpAddr::from([127, 0, 0, 7])]);
        let good = servers[1].counters.listed();
        assert_eq!(good[0], ("sent", 1));
        assert_eq!(good[2], ("valid", 1));
    }

    #[tokio::test]
    async fn errors_and_silence() {
        let nx = nameserver(ResponseCode::NXDomain, Ipv4Addr::LOCALHOST).await;
        let nx = [Nameserver::new("nx".into(), nx)];
        let a = ask(&nx, "gone.test", Kind::A, 512, Duration::from_secs(2)).await;
        assert_eq!(a.status, Status::Nx);
        assert_eq!(nx[0].counters.listed()[7], ("nx", 1));
        // Nobody listens there: the query times out.
        let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let to = silent.local_addr().expect("addr");
        let to = [Nameserver::new("silent".into(), to)];
        let a = ask(&to, "app.test", Kind::A, 512, Duration::from_millis(200)).await;
        assert_eq!(a.status, Status::Timeout);
        assert_eq!(to[0].counters.listed()[8], ("timeout", 1));
    }
}
