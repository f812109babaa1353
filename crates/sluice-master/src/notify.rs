//! systemd's notify protocol for `-Ws` (spec R6.7): one datagram per state change to
//! `$NOTIFY_SOCKET`, a path or an abstract name written with a leading `@`.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The systemd notification target, if any.
#[derive(Debug, Default)]
pub struct Notifier {
    target: Option<String>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` when `enabled` (`-Ws`); the variable is then removed so that
    /// workers never talk to systemd themselves.
    pub fn from_env(enabled: bool) -> Self {
        let target = std::env::var("NOTIFY_SOCKET").ok();
        std::env::remove_var("NOTIFY_SOCKET");
        Self {
            target: if enabled { target } else { None },
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `payload` (`KEY=value` lines); failures are ignored, as systemd may be gone.
    pub fn send(&self, payload: &str) {
        let Some(target) = &self.target else {
            return;
        };
        let address = match target.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(target),
        };
        if let (Ok(socket), Ok(address)) = (UnixDatagram::unbound(), address) {
            let _ = socket.send_to_addr(payload.as_bytes(), &address);
        }
    }

    pub fn ready(&self, master_pid: u32) {
        self.send(&format!("READY=1\nMAINPID={master_pid}\nSTATUS=Ready.\n"));
    }

    pub fn reloading(&self) {
        let usec = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1_000)
            .unwrap_or(0);
        self.send(&format!(
            "RELOADING=1\nSTATUS=Reloading Configuration.\nMONOTONIC_USEC={usec}\n"
        ));
    }

    pub fn reload_failed(&self) {
        self.send("READY=1\nSTATUS=Reload failed!\n");
    }

    pub fn master_reload_failed(&self) {
        self.send(
            "READY=1\nSTATUS=Reload failed (master failed to load or to parse new configuration)!\n",
        );
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstract_socket_receives() {
        let name = format!("sluice-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let listener = UnixDatagram::bind_addr(&addr).expect("bind");
        let notifier = Notifier {
            target: Some(format!("@{name}")),
        };
        notifier.ready(42);
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=42\nSTATUS=Ready.\n");
    }
}
