//! Who holds a port or a UNIX socket: `/proc/net/{tcp,tcp6,udp,udp6,unix}` give the socket
//! inode, `/proc/PID/fd/*` the processes holding it, `/proc/PID/comm` their names.
//!
//! Best effort: without root, other users' descriptors cannot be read, and sockets of other
//! network namespaces are not listed; the caller then says the owner is unknown.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// A process holding a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// `/proc/PID/comm` (at most 15 bytes), e.g. `nginx`.
    pub name: String,
}

impl Owner {
    /// A running HAProxy or Sluice: during a reload the old generation holds the sockets.
    pub fn is_load_balancer(&self) -> bool {
        self.name.starts_with("haproxy") || self.name.starts_with("sluice")
    }
}

/// Inodes of listening (TCP) or bound (UDP) sockets on `port` whose address overlaps `ip`.
pub fn port_inodes(ip: IpAddr, port: u16, udp: bool) -> Vec<u64> {
    let tables: [&str; 2] = if udp {
        ["/proc/net/udp", "/proc/net/udp6"]
    } else {
        ["/proc/net/tcp", "/proc/net/tcp6"]
    };
    let mut inodes = Vec::new();
    for table in tables {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retr uid timeout inode
            if cols.len() < 10 || (!udp && cols[3] != "0A") {
                continue;
            }
            let Some((addr, p)) = parse_proc_address(cols[1]) else {
                continue;
            };
            if p == port && overlaps(addr, ip) {
                if let Ok(inode) = cols[9].parse::<u64>() {
                    if inode != 0 {
                        inodes.push(inode);
                    }
                }
            }
        }
    }
    inodes
}

/// Inodes of listening UNIX sockets bound at `path`.
pub fn unix_inodes(path: &Path) -> Vec<u64> {
    let Ok(text) = std::fs::read_to_string("/proc/net/unix") else {
        return Vec::new();
    };
    let wanted = path.as_os_str().to_string_lossy();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode Path
            (cols.len() >= 8 && cols[7] == wanted).then(|| cols[6].parse::<u64>().ok())?
        })
        .collect()
}

/// The processes holding any of `inodes`.
pub fn owners(inodes: &[u64]) -> Vec<Owner> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let targets: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let mut found = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .ok()
                .and_then(|l| l.to_str().map(|s| targets.iter().any(|t| t == s)))
                .unwrap_or(false)
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_else(|_| "?".to_string());
            found.push(Owner { pid, name });
        }
    }
    found
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6), as the kernel prints them: each 32-bit
/// word in host byte order.
fn parse_proc_address(text: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Option<Vec<u32>> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect();
    let words = words?;
    let ip = match words.as_slice() {
        [w] => IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Whether a socket bound to `held` conflicts with binding `wanted` (same address, or either
/// a wildcard; IPv4-mapped IPv6 counts as IPv4).
fn overlaps(held: IpAddr, wanted: IpAddr) -> bool {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let (held, wanted) = (norm(held), norm(wanted));
    held == wanted || held.is_unspecified() || wanted.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_endian = "little")]
    fn proc_addresses() {
        assert_eq!(
            parse_proc_address("0100007F:1F90"),
            Some((IpAddr::V4(Ipv4Addr::LOCALHOST), 8080))
        );
        assert_eq!(
            parse_proc_address("00000000000000000000000001000000:0050"),
            Some((IpAddr::V6(Ipv6Addr::LOCALHOST), 80))
        );
    }

    #[test]
    fn this_process_is_found_holding_its_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let inodes = port_inodes(IpAddr::V4(Ipv4Addr::LOCALHOST), port, false);
        assert!(!inodes.is_empty());
        let owners = owners(&inodes);
        assert!(owners.iter().any(|o| o.pid == std::process::id()));
    }
}
