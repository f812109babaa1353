//! Lines that are not traffic logs (health-check results, server state changes): sent to a
//! proxy's `log` targets (and the global ones under `log global`) with the proxy's tag, from
//! whichever thread reports them. These are rare, so each [`Direct`] owns its sockets and is
//! used under a lock by its caller.

use super::target::{self, Identity, Sock, Spec};
use super::time::Cache;
use super::{defaults_of, last_other, program_name, system_hostname, word};
use sluice_model::{Model, Proxy};
use std::io;
use std::time::SystemTime;

/// One proxy's targets, sockets and identity.
pub struct Direct {
    specs: Vec<Spec>,
    socks: Vec<Sock>,
    tag: String,
    hostname: String,
    pid: u32,
    clock: Cache,
    msg: Vec<u8>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("specs", &self.specs)
            .field("tag", &self.tag)
            .finish()
    }
}

impl Direct {
    /// The logging of `proxy`: `None` when it has no log target.
    pub fn build(model: &Model, proxy: &Proxy) -> io::Result<Option<Direct>> {
        let g = &model.global;
        let send_hostname = g
            .other
            .iter()
            .rev()
            .find(|s| s.keyword() == "log-send-hostname");
        let hostname = match send_hostname.and_then(|s| word(s, 1)) {
            Some(h) => h.to_string(),
            None => system_hostname(),
        };
        let lines = proxy.logs.iter().chain(if proxy.log_global {
            g.logs.iter()
        } else {
            [].iter()
        });
        let mut specs: Vec<Spec> = Vec::new();
        let outputs = super::Outputs::current();
        for t in lines {
            let spec = Spec::resolve(t, send_hostname.is_some(), &outputs)
                .map_err(|e| io::Error::new(e.kind(), format!("{} : {e}", proxy.describe())))?;
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
        if specs.is_empty() {
            return Ok(None);
        }
        let global_tag = g
            .other
            .iter()
            .rev()
            .find(|s| s.keyword() == "log-tag")
            .and_then(|s| word(s, 1))
            .map_or_else(program_name, str::to_string);
        let tag = last_other(proxy, defaults_of(model, proxy), "log-tag")
            .and_then(|s| word(s, 1))
            .map_or(global_tag, str::to_string);
        Ok(Some(Direct {
            socks: specs.iter().map(Sock::new).collect(),
            specs,
            tag,
            hostname,
            pid: std::process::id(),
            clock: Cache::default(),
            msg: Vec::with_capacity(256),
        }))
    }

    /// Sends `text` at syslog `level` (0 emerg to 7 debug) to every target that takes it.
    /// Returns how many targets took it.
    pub fn send(&mut self, level: u8, text: &str) -> usize {
        let now = SystemTime::now();
        let id = Identity {
            tag: &self.tag,
            pid: self.pid,
            hostname: &self.hostname,
            sd: None,
        };
        let mut sent = 0;
        let line = target::Line {
            level,
            facility: None,
            now,
            id: &id,
            meta: None,
            body: text.as_bytes(),
        };
        for (spec, sock) in self.specs.iter().zip(self.socks.iter_mut()) {
            if target::deliver(spec, sock, &line, &mut self.msg, &mut self.clock) == Some(true) {
                sent += 1;
            }
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    #[test]
    fn sends_to_the_backend_targets_with_tag_and_level() {
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        rx.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let port = rx.local_addr().expect("addr").port();
        let text = format!(
            "global\n  log-tag hc\ndefaults\n  mode tcp\nbackend be1\n  log 127.0.0.1:{port} daemon notice\n  server s1 127.0.0.1:1\nbackend be2\n  server s1 127.0.0.1:1\n"
        );
        let mut sources = sluice_config::SourceMap::new();
        sources.add("h.cfg", text.into_bytes());
        let mut env = sluice_config::Environment::empty();
        let (tree, _) =
            sluice_config::read_config(&sources, &mut env, &sluice_config::ReadOptions::default());
        let (model, _) = sluice_model::build(&tree, &Default::default());
        let be1 = model.backend("be1").expect("be1");
        let be2 = model.backend("be2").expect("be2");
        assert!(Direct::build(&model, be2).expect("build").is_none());
        let mut d = Direct::build(&model, be1).expect("build").expect("targets");
        // info (6) is below the target's level: not sent.
        assert_eq!(d.send(6, "quiet"), 0);
        assert_eq!(d.send(1, "Server be1/s1 is DOWN"), 1);
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).expect("recv");
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        // daemon (3) * 8 + alert (1)
        assert!(line.starts_with("<25>"), "{line}");
        assert!(
            line.ends_with(&format!(
                " hc[{}]: Server be1/s1 is DOWN\n",
                std::process::id()
            )),
            "{line}"
        );
    }
}
