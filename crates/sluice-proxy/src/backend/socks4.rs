//! `socks4 <addr>:<port>` on a server line: connections (and, with `check-via-socks4`,
//! health checks) reach the server through a SOCKS4 proxy, as HAProxy's do. After the TCP
//! connection to the proxy, a CONNECT request names the server (IPv4 only in SOCKS4) with
//! HAProxy's user ID, and the proxy's 8-byte reply must grant it (`0x5A`).

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The user ID HAProxy sends, so that proxies configured for it accept Sluice alike.
const USER_ID: &[u8] = b"HAProxy\0";

/// The CONNECT request for `target`.
fn request(target: SocketAddr) -> io::Result<[u8; 16]> {
    let SocketAddr::V4(v4) = target else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SOCKS4 reaches IPv4 addresses only",
        ));
    };
    let mut out = [0u8; 16];
    out[0] = 4; // version
    out[1] = 1; // CONNECT
    out[2..4].copy_from_slice(&v4.port().to_be_bytes());
    out[4..8].copy_from_slice(&v4.ip().octets());
    out[8..].copy_from_slice(USER_ID);
    Ok(out)
}

/// Asks the proxy `stream` is connected to for a tunnel to `target`.
pub async fn connect_through(stream: &mut TcpStream, target: SocketAddr) -> io::Result<()> {
    stream.write_all(&request(target)?).await?;
    let mut reply = [0u8; 8];
    stream.read_exact(&mut reply).await?;
    match reply {
        [0, 0x5A, ..] => Ok(()),
        [_, status, ..] => Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("the SOCKS4 proxy refused the connection (status 0x{status:02X})"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_the_server_and_haproxys_user_id() {
        let r = request("10.1.2.3:8080".parse().expect("address")).expect("ipv4");
        assert_eq!(&r[..8], &[4, 1, 0x1F, 0x90, 10, 1, 2, 3]);
        assert_eq!(&r[8..], b"HAProxy\0");
        assert!(request("[::1]:80".parse().expect("address")).is_err());
    }

    #[test]
    fn replies_grant_or_refuse() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            for (reply, ok) in [
                ([0u8, 0x5A, 0, 0, 0, 0, 0, 0], true),
                ([0, 0x5B, 0, 0, 0, 0, 0, 0], false),
            ] {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr = l.local_addr().expect("addr");
                let proxy = tokio::spawn(async move {
                    let (mut s, _) = l.accept().await.expect("accept");
                    let mut req = [0u8; 16];
                    s.read_exact(&mut req).await.expect("request");
                    s.write_all(&reply).await.expect("reply");
                    req
                });
                let mut c = TcpStream::connect(addr).await.expect("connect");
                let r = connect_through(&mut c, "192.0.2.7:80".parse().expect("address")).await;
                assert_eq!(r.is_ok(), ok);
                let req = proxy.await.expect("proxy");
                assert_eq!(&req[4..8], &[192, 0, 2, 7]);
            }
        });
    }
}
