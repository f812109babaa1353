//! The environment preflight of `sluice -c` (spec section 5, issue 4): a catalogue of broken
//! environments, each a small configuration run through the real binary, plus a healthy one
//! that must draw no warning at all. Where the answer depends on who runs the check, the
//! binary is also run as `nobody` (through `setpriv`).

mod common;
use common::{free_port, Dir, Run};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Global lines that silence the advisory root warnings (R5.13); none are needed (and `uid 0`
/// would be an identity change) when the tests do not run as root.
fn quiet_global() -> Vec<&'static str> {
    if is_root() {
        vec!["chroot /", "uid 0"]
    } else {
        Vec::new()
    }
}

/// A configuration: `global` lines, then a frontend on `port` with `frontend` lines, and a
/// backend with `backend` lines (a local server unless given).
fn config(global: &[&str], port: u16, frontend: &[&str], backend: &[&str]) -> String {
    let mut text = String::from("global\n");
    for line in global {
        text.push_str(&format!("    {line}\n"));
    }
    text.push_str(
        "\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n",
    );
    text.push_str(&format!("\nfrontend f\n    bind 127.0.0.1:{port}\n"));
    for line in frontend {
        text.push_str(&format!("    {line}\n"));
    }
    text.push_str("    default_backend b\n\nbackend b\n");
    if backend.is_empty() {
        text.push_str(&format!("    server s1 127.0.0.1:{}\n", free_port()));
    }
    for line in backend {
        text.push_str(&format!("    {line}\n"));
    }
    text
}

/// The 1-based line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("'{needle}' not in\n{text}"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Asserts one diagnostic: its first line has `label`, `[file:line]` and every text of
/// `reasons`, and a `help:` line follows it.
#[track_caller]
fn assert_finding(run: &Run, label: &str, at: &str, reasons: &[&str]) {
    let lines = run.stderr_lines();
    let Some(index) = lines.iter().position(|l| {
        l.starts_with(label)
            && l.contains(&format!("parsing [{at}] : "))
            && reasons.iter().all(|r| l.contains(r))
    }) else {
        panic!("no {label} at [{at}] with {reasons:?} in:\n{}", run.stderr);
    };
    let help = lines[index + 1..]
        .iter()
        .take_while(|l| l.starts_with("   | "))
        .any(|l| l.starts_with("   | help: "));
    assert!(
        help,
        "no help line after\n{}\nin:\n{}",
        lines[index], run.stderr
    );
}

#[track_caller]
fn assert_error(run: &Run, at: &str, reasons: &[&str]) {
    assert_eq!(run.code, 1, "{run:?}");
    assert_finding(run, "[ALERT]", at, reasons);
    assert!(
        run.stderr.contains("Fatal errors found in configuration."),
        "{}",
        run.stderr
    );
}

#[track_caller]
fn assert_warning(run: &Run, at: &str, reasons: &[&str]) {
    assert_eq!(run.code, 0, "{run:?}");
    assert_finding(run, "[WARNING]", at, reasons);
    assert_eq!(run.stdout, "Warnings were found.\n", "{run:?}");
}

/// Runs a one-file check of `text` with `args` before `-f`.
fn check(text: &str, args: &[&str]) -> Run {
    let dir = Dir::new();
    dir.write("h.cfg", text);
    let mut all: Vec<&str> = vec!["-c"];
    all.extend(args);
    all.extend(["-f", "h.cfg"]);
    dir.run(&all)
}

// ---- chroot ----------------------------------------------------------------------------

#[test]
fn t5_1_missing_chroot_by_policy() {
    let text = config(
        &["chroot /nonexistent-sluice-jail", "uid 0"],
        free_port(),
        &[],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        "h.cfg:2",
        &[
            "'chroot' : directory '/nonexistent-sluice-jail' does not exist",
            "No such file or directory",
        ],
    );
    assert!(run
        .stderr
        .contains("Error(s) found in configuration file : h.cfg"));

    let run = check(&text, &["--check-env=warn"]);
    assert_warning(&run, "h.cfg:2", &["does not exist"]);
    assert!(run.stderr.contains("--check-env=warn"), "{}", run.stderr);
    // A warning under -dW still fails: the policy cannot hide a problem from zero-warning.
    assert_eq!(check(&text, &["--check-env=warn", "-dW"]).code, 1);

    let run = check(&text, &["--check-env=off"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run:?}"
    );
}

#[test]
fn check_env_policy_can_come_from_the_environment() {
    let text = config(&["chroot /dummydir", "uid 0"], free_port(), &[], &[]);
    let dir = Dir::new();
    dir.write("h.cfg", &text);
    let args = ["-c", "-f", "h.cfg"];
    let run = dir.run_with_env(&args, None, &[("SLUICE_CHECK_ENV", "warn")]);
    assert_warning(&run, "h.cfg:2", &["does not exist"]);
    let run = dir.run_with_env(&args, None, &[("SLUICE_CHECK_ENV", "off")]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
    // The command line wins over the variable.
    let run = dir.run_with_env(
        &["-c", "--check-env=strict", "-f", "h.cfg"],
        None,
        &[("SLUICE_CHECK_ENV", "off")],
    );
    assert_error(&run, "h.cfg:2", &["does not exist"]);
    // A value Sluice does not know keeps the strict policy.
    let run = dir.run_with_env(&args, None, &[("SLUICE_CHECK_ENV", "lenient")]);
    assert_error(&run, "h.cfg:2", &["does not exist"]);
}

#[test]
fn t5_2_chroot_that_is_a_file() {
    let text = config(&["chroot /etc/passwd", "uid 0"], free_port(), &[], &[]);
    let run = check(&text, &[]);
    assert_error(
        &run,
        "h.cfg:2",
        &[
            "'chroot' : '/etc/passwd' is not a directory",
            "Not a directory",
        ],
    );
}

#[test]
fn chroot_writable_by_everyone_is_a_warning() {
    if !is_root() {
        eprintln!("skipped: a chroot is an error when not started as root");
        return;
    }
    let jail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(jail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let chroot = format!("chroot {}", jail.path().display());
    let text = config(&[&chroot, "uid 0"], free_port(), &[], &[]);
    let run = check(&text, &[]);
    assert_warning(&run, "h.cfg:2", &["is writable by every user", "no jail"]);
}

// ---- identities ------------------------------------------------------------------------

#[test]
fn t5_6_unknown_user() {
    let text = config(
        &["chroot /", "user nosuchuser-sluice", "group root"],
        free_port(),
        &[],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        "h.cfg:3",
        &["'user' : no such user 'nosuchuser-sluice' in the passwd database"],
    );
}

#[test]
fn empty_uid_from_an_unset_variable_names_the_variable() {
    let text = config(&["chroot /", "uid \"$NOPE_UID\""], free_port(), &[], &[]);
    let dir = Dir::new();
    dir.write("h.cfg", &text);
    let run = dir.run(&["-c", "-f", "h.cfg"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines = run.stderr_lines();
    let alert = lines
        .iter()
        .position(|l| {
            l.starts_with("[ALERT]") && l.contains("parsing [h.cfg:3]: argument number 1")
        })
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(lines[alert].contains("is empty"), "{}", run.stderr);
    assert!(
        lines[alert..]
            .iter()
            .any(|l| l.starts_with("   | help: ") && l.contains("'NOPE_UID' is not set")),
        "{}",
        run.stderr
    );
}

#[test]
fn t5_7_user_without_group_warns_about_the_gid() {
    if !is_root() {
        eprintln!("skipped: changing to 'nobody' is only possible as root");
        return;
    }
    let Some(_) = passwd_entry("nobody") else {
        eprintln!("skipped: no 'nobody' user on this machine");
        return;
    };
    let text = config(&["chroot /", "user nobody"], free_port(), &[], &[]);
    let run = check(&text, &[]);
    assert_warning(
        &run,
        "h.cfg:3",
        &["'user' : 'nobody' is set without 'group'"],
    );
}

// ---- files and sockets written at start ---------------------------------------------------

#[test]
fn t5_3_missing_pidfile_directory() {
    let mut global = quiet_global();
    global.push("pidfile /nonexistent-sluice/dir/h.pid");
    let text = config(&global, free_port(), &[], &[]);
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "pidfile")),
        &[
            "'pidfile' : cannot create '/nonexistent-sluice/dir/h.pid'",
            "directory '/nonexistent-sluice/dir' does not exist",
        ],
    );
}

#[test]
fn t5_3_missing_pidfile_directory_from_the_command_line() {
    let text = config(&quiet_global(), free_port(), &[], &[]);
    let run = check(&text, &["-p", "/nonexistent-sluice/dir/h.pid"]);
    assert_eq!(run.code, 1, "{run:?}");
    // No configuration line: the message has no `parsing [...]` part.
    assert!(
        run.stderr_lines().iter().any(|l| l.starts_with("[ALERT]")
            && l.contains(" : '-p' : cannot create '/nonexistent-sluice/dir/h.pid'")
            && l.contains("No such file or directory")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("   | help: create it"),
        "{}",
        run.stderr
    );
}

#[test]
fn t5_4_missing_stats_socket_directory() {
    let mut global = quiet_global();
    global.push("stats socket /nonexistent-sluice/dir/admin.sock mode 600 level admin");
    let text = config(&global, free_port(), &[], &[]);
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "stats socket")),
        &["/nonexistent-sluice/dir", "No such file or directory"],
    );
}

// ---- files read at start ----------------------------------------------------------------

#[test]
fn missing_certificate() {
    let port = free_port();
    let text = config(&quiet_global(), port, &[], &[]).replace(
        &format!("bind 127.0.0.1:{port}\n"),
        &format!("bind 127.0.0.1:{port} ssl crt /nonexistent-sluice/site.pem\n"),
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, " crt ")),
        &[
            "'crt' : certificate '/nonexistent-sluice/site.pem' does not exist",
            "No such file or directory",
        ],
    );
}

#[test]
fn missing_errorfile() {
    let text = config(
        &quiet_global(),
        free_port(),
        &["errorfile 503 /nonexistent-sluice/503.http"],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "errorfile 503")),
        &[
            "'errorfile' : error file '/nonexistent-sluice/503.http' does not exist",
            "No such file or directory",
        ],
    );
}

#[test]
fn errorfile_that_is_not_an_http_response() {
    let dir = Dir::new();
    let page = dir.write("503.html", "<h1>down</h1>\n");
    let line = format!("errorfile 503 {}", page.display());
    let text = config(&quiet_global(), free_port(), &[&line], &[]);
    dir.write("h.cfg", &text);
    let run = dir.run(&["-c", "-f", "h.cfg"]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "errorfile 503")),
        &["'errorfile'", "is not an HTTP response"],
    );
}

#[test]
fn missing_acl_pattern_file() {
    let text = config(
        &quiet_global(),
        free_port(),
        &[
            "acl blocked src -f /nonexistent-sluice/blocked.lst",
            "http-request deny if blocked",
        ],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "-f /nonexistent")),
        &[
            "'acl -f' : pattern file '/nonexistent-sluice/blocked.lst' does not exist",
            "No such file or directory",
        ],
    );
}

#[test]
fn missing_map_file_in_a_rule() {
    let text = config(
        &quiet_global(),
        free_port(),
        &["http-request set-header X-Pool %[req.hdr(host),lower,map_dom(/nonexistent-sluice/pools.map,default)]"],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "map_dom")),
        &[
            "'map' : map file '/nonexistent-sluice/pools.map' does not exist",
            "No such file or directory",
        ],
    );
}

#[test]
fn relative_files_follow_default_path_config() {
    // The errorfile sits beside the configuration, which is read from another directory.
    let dir = Dir::new();
    dir.write(
        "conf/errors/503.http",
        "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ndown\n",
    );
    let mut global = quiet_global();
    global.push("default-path config");
    let text = config(
        &global,
        free_port(),
        &["errorfile 503 errors/503.http"],
        &[],
    );
    dir.write("conf/h.cfg", &text);
    let run = dir.run(&["-c", "-f", "conf/h.cfg"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run:?}"
    );
    // Without default-path, the same line names ./errors/503.http, which is missing.
    let text = text.replace("    default-path config\n", "");
    dir.write("conf/h.cfg", &text);
    let run = dir.run(&["-c", "-f", "conf/h.cfg"]);
    assert_error(
        &run,
        &format!("conf/h.cfg:{}", line_of(&text, "errorfile 503")),
        &["'errors/503.http' does not exist"],
    );
}

// ---- listeners --------------------------------------------------------------------------

#[test]
fn port_in_use_names_the_program_and_its_pid() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let text = config(&quiet_global(), port, &[], &[]);
    let run = check(&text, &[]);
    let pid = format!("pid {}", std::process::id());
    if is_root() {
        assert_error(
            &run,
            &format!("h.cfg:{}", line_of(&text, "bind 127.0.0.1")),
            &[
                &format!("tcp port {port} on 127.0.0.1 is already in use"),
                &pid,
                "Address already in use",
            ],
        );
    } else {
        // The holder is this test, of the same user: it can still be named.
        assert!(run.stderr.contains(&pid), "{}", run.stderr);
    }
    drop(holder);
}

#[test]
fn t5_5_foreign_bind_address() {
    if std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind").is_ok_and(|v| v.trim() == "1")
    {
        eprintln!("skipped: net.ipv4.ip_nonlocal_bind=1 lets any address be bound here");
        return;
    }
    let text = config(
        &quiet_global(),
        free_port(),
        &["bind 192.0.2.55:18097"],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "192.0.2.55")),
        &[
            "address 192.0.2.55 is not configured on this host",
            "Cannot assign requested address",
        ],
    );

    let text = text.replace("bind 192.0.2.55:18097", "bind 192.0.2.55:18097 transparent");
    let run = check(&text, &[]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{run:?}"
    );
    let text = text.replace(" transparent", " freebind");
    assert_eq!(check(&text, &[]).code, 0);
}

#[test]
fn same_address_in_two_proxies() {
    let port = free_port();
    let text = format!(
        "{}\nfrontend g\n    bind 127.0.0.1:{port}\n    default_backend b\n",
        config(&quiet_global(), port, &[], &[])
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", text.lines().count() - 1),
        &["already bound by proxy 'f'"],
    );
}

#[test]
fn t5_9_fd_that_is_not_open_is_a_warning_in_check() {
    let text = config(&quiet_global(), free_port(), &["bind fd@99"], &[]);
    let run = check(&text, &[]);
    assert_warning(
        &run,
        &format!("h.cfg:{}", line_of(&text, "fd@99")),
        &[
            "'bind fd@99' : cannot use file descriptor 99",
            "Bad file descriptor",
        ],
    );
}

// ---- servers ----------------------------------------------------------------------------

#[test]
fn t5_8_unresolvable_server_with_and_without_dr() {
    let text = config(
        &quiet_global(),
        free_port(),
        &[],
        &["server s1 nonexistent.invalid:80"],
    );
    let at = format!("h.cfg:{}", line_of(&text, "nonexistent.invalid"));
    let run = check(&text, &[]);
    assert_error(
        &run,
        &at,
        &["'server b/s1' : could not resolve address 'nonexistent.invalid'"],
    );
    let run = check(&text, &["-dr"]);
    assert_warning(
        &run,
        &at,
        &["could not resolve address", "disabling server"],
    );
    // init-addr none says the same in the configuration.
    let text = text.replace(
        "nonexistent.invalid:80",
        "nonexistent.invalid:80 init-addr libc,none",
    );
    assert_warning(&check(&text, &[]), &at, &["disabling server"]);
}

#[test]
fn unknown_backend_is_reported_without_environment_noise() {
    // A semantic error: the environment is not checked, so the missing chroot is not listed.
    let text = config(
        &["chroot /nonexistent-sluice-jail", "uid 0"],
        free_port(),
        &["use_backend nosuch if { path_beg /x }"],
        &[],
    );
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "use_backend")),
        &["unable to find required use_backend: 'nosuch'"],
    );
    assert!(!run.stderr.contains("chroot"), "{}", run.stderr);
}

// ---- limits ------------------------------------------------------------------------------

#[test]
fn ulimit_n_above_what_the_kernel_allows() {
    let mut global = quiet_global();
    global.push("ulimit-n 2147483647");
    let text = config(&global, free_port(), &[], &[]);
    let run = check(&text, &[]);
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "ulimit-n")),
        &["'ulimit-n' : cannot raise the file descriptor limit to 2147483647"],
    );
}

// ---- advisory root warnings (R5.13) --------------------------------------------------------

#[test]
fn root_advisories_without_a_global_section_point_at_line_0_of_the_first_file() {
    if !is_root() {
        eprintln!("skipped: the advisories are only given when started as root");
        return;
    }
    let dir = Dir::new();
    let port = free_port();
    dir.write(
        "a.cfg",
        &format!(
            "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\
             \nfrontend f\n    bind 127.0.0.1:{port}\n    default_backend b\n"
        ),
    );
    dir.write(
        "b.cfg",
        &format!("backend b\n    server s1 127.0.0.1:{}\n", free_port()),
    );
    let run = dir.run(&["-c", "-f", "a.cfg", "-f", "b.cfg"]);
    // Advisory: counted neither by `Warnings were found.` nor by -dW.
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{run:?}");
    assert_finding(
        &run,
        "[WARNING]",
        "a.cfg:0",
        &["started as root without any 'chroot'"],
    );
    assert_finding(
        &run,
        "[WARNING]",
        "a.cfg:0",
        &["without any 'user' or 'uid'"],
    );
    assert_eq!(
        dir.run(&["-c", "-dW", "-f", "a.cfg", "-f", "b.cfg"]).code,
        0
    );

    let run = dir.run(&["-c", "--json", "-f", "a.cfg", "-f", "b.cfg"]);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let items = value.as_array().expect("an array");
    for code in ["root-without-chroot", "root-without-user"] {
        let item = items
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} in {}", run.stdout));
        assert_eq!(
            (&item["file"], &item["line"], &item["column"]),
            (&"a.cfg".into(), &0.into(), &serde_json::Value::Null),
            "{item}"
        );
    }

    let run = dir.run(&["-c", "--diag-format=rich", "-f", "a.cfg", "-f", "b.cfg"]);
    assert!(run.stderr.contains("--> a.cfg:0\n"), "{}", run.stderr);

    // With a `global` section they point at it, as before.
    dir.write("g.cfg", "global\n    maxconn 100\n");
    let run = dir.run(&["-c", "-f", "g.cfg", "-f", "a.cfg", "-f", "b.cfg"]);
    assert_finding(
        &run,
        "[WARNING]",
        "g.cfg:1",
        &["started as root without any 'chroot'"],
    );
}

// ---- a healthy configuration ----------------------------------------------------------------

#[test]
fn healthy_configuration_draws_no_warning() {
    if !is_root() {
        eprintln!(
            "skipped: a configuration that changes user is only healthy when started as root"
        );
        return;
    }
    let (Some(_), true) = (passwd_entry("nobody"), group_exists("nogroup")) else {
        eprintln!("skipped: no 'nobody' user or 'nogroup' group on this machine");
        return;
    };
    let dir = Dir::new();
    // The jail: root's, enterable by the workers, writable by nobody but root.
    let jail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(jail.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let errorfile = dir.write(
        "errors/503.http",
        "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\ndown\n",
    );
    let acl = dir.write("blocked.lst", "192.0.2.0/24\n");
    let map = dir.write("pools.map", "example.com web\n");
    let global = [
        format!("chroot {}", jail.path().display()),
        "user nobody".to_string(),
        "group nogroup".to_string(),
        format!("pidfile {}/h.pid", dir.path().display()),
        // No `stats socket`: it is ignored with a warning until the runtime API exists.
        "maxconn 1000".to_string(),
    ];
    let global: Vec<&str> = global.iter().map(String::as_str).collect();
    let frontend = [
        format!("errorfile 503 {}", errorfile.display()),
        format!("acl blocked src -f {}", acl.display()),
        "http-request deny if blocked".to_string(),
        format!(
            "http-request set-header X-Pool %[req.hdr(host),lower,map({},none)]",
            map.display()
        ),
    ];
    let frontend: Vec<&str> = frontend.iter().map(String::as_str).collect();
    let text = config(
        &global,
        free_port(),
        &frontend,
        &["server s1 localhost:8080"],
    );
    dir.write("h.cfg", &text);
    let run = dir.run(&["-c", "-f", "h.cfg"]);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{text}\n{run:?}"
    );
    // And -dW agrees: nothing to count.
    assert_eq!(dir.run(&["-c", "-dW", "-f", "h.cfg"]).code, 0);
}

#[test]
fn log_socket_missing_inside_the_jail() {
    if !is_root() {
        eprintln!("skipped: a chroot is an error when not started as root");
        return;
    }
    let jail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(jail.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chroot = format!("chroot {}", jail.path().display());
    let text = config(
        &[&chroot, "uid 0", "log /dev/log local0"],
        free_port(),
        &[],
        &[],
    );
    let run = check(&text, &[]);
    assert_warning(
        &run,
        "h.cfg:4",
        &["'log' : '/dev/log' is opened after the chroot"],
    );
}

// ---- unprivileged runs --------------------------------------------------------------------

/// Runs sluice as uid/gid 65534 with no groups and no capabilities, or says why it cannot.
fn run_as_nobody(dir: &Dir, args: &[&str]) -> Option<Run> {
    if !is_root() {
        eprintln!("skipped: running as another user needs root");
        return None;
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(setpriv) = setpriv else {
        eprintln!("skipped: setpriv (util-linux) is not installed");
        return None;
    };
    // The files must be readable by nobody.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let output = Command::new(setpriv)
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
            env!("CARGO_BIN_EXE_sluice"),
        ])
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(Run::from(output))
}

#[test]
fn unprivileged_privileged_port() {
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .unwrap_or(1024);
    if start <= 80 {
        eprintln!("skipped: ip_unprivileged_port_start={start} lets anyone bind port 80");
        return;
    }
    let text = config(&[], 80, &[], &[]);
    let dir = Dir::new();
    dir.write("h.cfg", &text);
    let Some(run) = run_as_nobody(&dir, &["-c", "-f", "h.cfg"]) else {
        return;
    };
    assert_error(
        &run,
        &format!("h.cfg:{}", line_of(&text, "bind 127.0.0.1:80")),
        &["port 80 is privileged and uid 65534 has no CAP_NET_BIND_SERVICE"],
    );
    // As root the same configuration passes (if nothing else holds port 80).
    if TcpListener::bind("127.0.0.1:80").is_ok() {
        assert_eq!(dir.run(&["-c", "-f", "h.cfg"]).code, 0);
    }
}

#[test]
fn unprivileged_chroot_and_identity_change() {
    let jail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(jail.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let chroot = format!("chroot {}", jail.path().display());
    let text = config(&[&chroot, "uid 0", "gid 0"], free_port(), &[], &[]);
    let dir = Dir::new();
    dir.write("h.cfg", &text);
    let Some(run) = run_as_nobody(&dir, &["-c", "-f", "h.cfg"]) else {
        return;
    };
    assert_error(
        &run,
        "h.cfg:2",
        &[
            "'chroot' : cannot chroot to",
            "running as uid 65534 without CAP_SYS_CHROOT",
        ],
    );
    assert_finding(
        &run,
        "[ALERT]",
        "h.cfg:3",
        &["cannot switch to uid 0", "without CAP_SETUID"],
    );
    // As root the same lines are fine.
    let run = dir.run(&["-c", "-f", "h.cfg"]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");
}

#[test]
fn unprivileged_pidfile_in_a_root_directory() {
    let dir = Dir::new();
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).unwrap();
    std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pidfile = format!("pidfile {}/h.pid", run_dir.display());
    let text = config(&[&pidfile], free_port(), &[], &[]);
    dir.write("h.cfg", &text);
    let Some(run) = run_as_nobody(&dir, &["-c", "-f", "h.cfg"]) else {
        return;
    };
    assert_error(
        &run,
        "h.cfg:2",
        &["'pidfile' : cannot create", "uid 65534 cannot write"],
    );
}

#[test]
fn unprivileged_ulimit_above_the_hard_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    let wanted = limit.rlim_max.saturating_add(1000);
    if wanted > nr_open || wanted > i32::MAX as u64 {
        eprintln!(
            "skipped: the hard limit {} is too close to fs.nr_open",
            limit.rlim_max
        );
        return;
    }
    let ulimit = format!("ulimit-n {wanted}");
    let text = config(&[&ulimit], free_port(), &[], &[]);
    let dir = Dir::new();
    dir.write("h.cfg", &text);
    let Some(run) = run_as_nobody(&dir, &["-c", "-f", "h.cfg"]) else {
        return;
    };
    assert_error(
        &run,
        "h.cfg:2",
        &[
            &format!("above the hard limit {}", limit.rlim_max),
            "no CAP_SYS_RESOURCE",
        ],
    );
    // Root may raise its hard limit when it holds CAP_SYS_RESOURCE (not in every container).
    let run = dir.run(&["-c", "-f", "h.cfg"]);
    if has_capability(24) {
        assert!(!run.stderr.contains("[ALERT]"), "{run:?}");
    } else {
        assert_error(&run, "h.cfg:2", &["uid 0 has no CAP_SYS_RESOURCE"]);
    }
}

/// Whether this process holds capability number `bit` (`CapEff` of /proc/self/status).
fn has_capability(bit: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
            u64::from_str_radix(line["CapEff:".len()..].trim(), 16).ok()
        })
        .is_some_and(|caps| caps & (1 << bit) != 0)
}

// ---- system databases ----------------------------------------------------------------------

fn passwd_entry(name: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .map(String::from)
}

fn group_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/group")
        .map(|g| g.lines().any(|l| l.split(':').next() == Some(name)))
        .unwrap_or(false)
}
