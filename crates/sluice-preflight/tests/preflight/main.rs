//! Preflight against real directories, users, sockets and names on this machine.
//! Simulated unprivileged runs use a hand-made `Identity`; tests that need root say so and
//! are skipped with a printed reason elsewhere.

mod common;

/// chroot: missing, a file, writable, a symlink, not permitted, not searchable.
mod chroot;
/// Files read at start: missing, unreadable, PEM and errorfile shapes.
mod files;
/// The healthy configuration: no diagnostic at all.
mod healthy;
/// user / group / uid / gid.
mod identity;
/// ulimit-n and maxconn.
mod limits;
/// bind addresses and ports, fd@.
mod listeners;
/// --check-env policy, security advisories, log sockets in the jail.
mod policy;
/// Server name resolution and init-addr.
mod servers;
/// pidfile and UNIX sockets.
mod sockets;
