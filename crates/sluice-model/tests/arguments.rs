//! Extra arguments: HAProxy 3.4 checks how many words most keywords take (`too_many_args()`)
//! and refuses the rest; some keywords ignore what follows, and then the model must too.
//! Each row is a keyword with a line HAProxy accepts and, where HAProxy refuses extra words,
//! a line it refuses with its message, the word the error points at and the code.

use sluice_config::{read_str, Category, Diagnostic, ReadOptions, Severity};
use sluice_model::{build, BuildOptions};

fn language_errors(text: &str) -> Vec<Diagnostic> {
    let (tree, read) = read_str("t.cfg", text, &ReadOptions::default());
    let (_, diags) = build(&tree, &BuildOptions::default());
    read.items
        .into_iter()
        .chain(diags)
        .filter(|d| {
            d.severity == Severity::Error
                && matches!(d.category, Category::Syntax | Category::Semantic)
        })
        .collect()
}

/// The configuration with `line` in a global section or in a `listen` proxy; returns the
/// text and the line number of `line`.
fn config(section: Section, line: &str) -> (String, u32) {
    match section {
        Section::Global => (
            format!(
                "global\n    {line}\ndefaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n    timeout server 5s\n\
                 listen l\n    bind :80\n    server s1 10.0.0.2:80\n"
            ),
            2,
        ),
        Section::Listen => (
            format!(
                "defaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n    timeout server 5s\n\
                 listen l\n    bind :80\n    server s1 10.0.0.2:80\n    {line}\n"
            ),
            9,
        ),
    }
}

#[derive(Clone, Copy, Debug)]
enum Section {
    Global,
    Listen,
}

use Section::{Global, Listen};

/// A refused line: the line, the message HAProxy prints, the word pointed at.
struct Refused {
    line: &'static str,
    message: &'static str,
    word: &'static str,
}

const fn no(line: &'static str, message: &'static str, word: &'static str) -> Option<Refused> {
    Some(Refused {
        line,
        message,
        word,
    })
}

/// (section, line HAProxy accepts, line HAProxy refuses or `None` when it ignores extras).
fn table() -> Vec<(Section, &'static str, Option<Refused>)> {
    vec![
        // global
        (Global, "daemon", no("daemon off", "'daemon' cannot handle unexpected argument 'off'.", "off")),
        (Global, "quiet", no("quiet yes", "'quiet' cannot handle unexpected argument 'yes'.", "yes")),
        (Global, "zero-warning", no("zero-warning 1", "'zero-warning' cannot handle unexpected argument '1'.", "1")),
        (Global, "master-worker", no("master-worker yes", "'master-worker' only supports 'no-exit-on-failure' option.", "yes")),
        (Global, "master-worker no-exit-on-failure", no("master-worker no-exit-on-failure x", "'master-worker' cannot handle unexpected argument 'x'.", "x")),
        (Global, "nbthread 2", no("nbthread 2 3", "'nbthread' cannot handle unexpected argument '3'.", "3")),
        (Global, "maxconn 10", no("maxconn 10 20", "'maxconn' cannot handle unexpected argument '20'.", "20")),
        (Global, "ulimit-n 4096", no("ulimit-n 4096 2", "'ulimit-n' cannot handle unexpected argument '2'.", "2")),
        (Global, "chroot /", no("chroot / x", "'chroot' cannot handle unexpected argument 'x'.", "x")),
        (Global, "pidfile /run/h.pid", no("pidfile /run/h.pid x", "'pidfile' cannot handle unexpected argument 'x'.", "x")),
        (Global, "user root", no("user root x", "'user' cannot handle unexpected argument 'x'.", "x")),
        (Global, "group root", no("group root x", "'group' cannot handle unexpected argument 'x'.", "x")),
        (Global, "uid 0", no("uid 0 1", "'uid' cannot handle unexpected argument '1'.", "1")),
        (Global, "gid 0", no("gid 0 1", "'gid' cannot handle unexpected argument '1'.", "1")),
        (Global, "node lb1", no("node lb1 lb2", "'node' cannot handle unexpected argument 'lb2'.", "lb2")),
        (Global, "log-tag web", no("log-tag web x", "'log-tag' cannot handle unexpected argument 'x'.", "x")),
        (Global, "tune.bufsize 16384", no("tune.bufsize 16384 x", "'tune.bufsize' cannot handle unexpected argument 'x'.", "x")),
        (Global, "ca-base /etc/ssl", no("ca-base /etc/ssl x", "'ca-base' cannot handle unexpected argument 'x'.", "x")),
        // `description` takes the rest of the line; these ignore what follows their value.
        (Global, "description two words and more", None),
        (Global, "hard-stop-after 1s x", None),
        (Global, "server-state-base /var/lib x", None),
        (Global, "server-state-file state x", None),
        (Global, "default-path config x", None),
        // proxies
        (Listen, "mode http", no("mode http x", "'mode' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "maxconn 100", no("maxconn 10 20", "'maxconn' cannot handle unexpected argument '20'.", "20")),
        (Listen, "retries 3", no("retries 3 4", "'retries' cannot handle unexpected argument '4'.", "4")),
        (Listen, "backlog 10", no("backlog 10 20", "'backlog' cannot handle unexpected argument '20'.", "20")),
        (Listen, "fullconn 10", no("fullconn 10 20", "'fullconn' cannot handle unexpected argument '20'.", "20")),
        (Listen, "disabled", no("disabled x", "'disabled' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "enabled", no("enabled x", "'enabled' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "default_backend l", no("default_backend l x", "'default_backend' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "timeout client 5s", no("timeout client 5s x", "'timeout client' : unexpected extra argument 'x' after value '5s'.", "x")),
        (Listen, "balance roundrobin x", None),
        (Listen, "balance leastconn x", None),
        (Listen, "balance uri len 10 depth 2 whole path-only", no("balance uri x", "balance uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got 'x').", "x")),
        (Listen, "balance url_param id check_post", no("balance url_param id x", "balance url_param only accepts 'check_post' modifier (got 'x').", "x")),
        (Listen, "balance hdr(host) use_domain_only", no("balance hdr(host) x", "balance hdr(host) only accepts 'use_domain_only' modifier (got 'x').", "x")),
        (Listen, "balance hash req.cookie(id)", no("balance hash req.cookie(id) x", "balance hash takes no other argument (got 'x').", "x")),
        (Listen, "cookie SRV insert indirect nocache domain .a.com maxidle 1h attr SameSite=None httponly secure", no("cookie SRV insert x", "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.", "x")),
        (Listen, "errorfile 503 /dev/null x", None),
        (Listen, "log-tag a b", None),
        (Listen, "tcp-request inspect-delay 1s x", None),
        (Listen, "description two words and more", None),
        (Listen, "option httplog clf", no("option httplog foo", "keyword 'httplog' only supports option 'clf'.", "foo")),
        (Listen, "option httplog", no("option httplog clf x", "'option httplog' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "option tcplog clf", no("option tcplog x", "keyword 'tcplog' only supports option 'clf'.", "x")),
        (Listen, "option httpslog x", None),
        (Listen, "option dontlognull", no("option dontlognull x", "'option dontlognull' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "no option http-server-close", no("no option http-server-close x", "'option http-server-close' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "option tcp-check", no("option tcp-check x", "'option tcp-check' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "option forwardfor except 127.0.0.0/8 header X-Client if-none", no("option forwardfor if-none x", "'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.", "x")),
        (Listen, "option originalto except 127.0.0.0/8 header X-Orig", no("option originalto header X x", "'option originalto' only supports optional values: 'except' and 'header'.", "x")),
        (Listen, "option mysql-check user u post-41", no("option mysql-check user u post-41 x", "'option mysql-check' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "option pgsql-check user u", no("option pgsql-check user u x", "'option pgsql-check' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "option smtpchk HELO a.com", no("option smtpchk HELO a.com x", "'option smtpchk' cannot handle unexpected argument 'x'.", "x")),
        (Listen, "option redispatch 1 2", None),
        (Listen, "log 127.0.0.1 local0 info notice", no("log 127.0.0.1 local0 info notice x", "log : cannot handle unexpected argument 'x'", "x")),
    ]
}

#[test]
fn extra_arguments_are_refused_where_haproxy_refuses_them() {
    for (section, valid, refused) in table() {
        let (text, _) = config(section, valid);
        let errors = language_errors(&text);
        assert!(errors.is_empty(), "{valid}: {errors:?}");
        let Some(refused) = refused else { continue };
        let (text, line) = config(section, refused.line);
        let errors = language_errors(&text);
        let found = errors
            .iter()
            .find(|d| d.location.is_some_and(|l| l.line == line))
            .unwrap_or_else(|| panic!("{}: no error on line {line}: {errors:?}", refused.line));
        assert_eq!(found.code, "argument-unexpected", "{}", refused.line);
        assert_eq!(found.category, Category::Syntax, "{}", refused.line);
        assert_eq!(found.message, refused.message, "{}", refused.line);
        // The error points at the first extra word (4 columns of indentation).
        let offset = refused
            .line
            .rfind(&format!(" {}", refused.word))
            .map_or(0, |i| i + 1);
        let location = found.location.unwrap_or_else(|| panic!("{}", refused.line));
        assert_eq!(location.column as usize, 4 + offset + 1, "{}", refused.line);
        assert_eq!(
            location.len as usize,
            refused.word.len(),
            "{}",
            refused.line
        );
        let help = found.help.as_deref().unwrap_or("");
        assert!(help.contains(refused.word), "{}: {help}", refused.line);
    }
}

#[test]
fn daemon_help_says_how_to_run_in_the_foreground() {
    let (text, _) = config(Global, "daemon off");
    let errors = language_errors(&text);
    let help = errors
        .first()
        .and_then(|d| d.help.clone())
        .unwrap_or_default();
    assert!(
        help.starts_with("remove 'off': 'daemon' takes no argument"),
        "{help}"
    );
    assert!(help.contains("foreground"), "{help}");
}

#[test]
fn no_and_default_only_before_options_the_matrix_marks_negatable() {
    for line in [
        "no option http-keep-alive",
        "default option redispatch",
        "no option dontlognull",
    ] {
        let (text, _) = config(Section::Listen, line);
        assert!(language_errors(&text).is_empty(), "{line}");
    }
    for (line, option) in [
        ("no option httplog", "httplog"),
        ("default option forwardfor", "forwardfor"),
        ("no option httpchk", "httpchk"),
    ] {
        let (text, at) = config(Section::Listen, line);
        let errors = language_errors(&text);
        assert_eq!(errors.len(), 1, "{line}: {errors:?}");
        let e = &errors[0];
        assert_eq!(e.code, "option-not-negatable");
        assert_eq!(
            e.message,
            format!("negation/default is not supported for option '{option}'.")
        );
        assert_eq!(e.location.map(|l| l.line), Some(at));
        assert!(e.help.is_some());
    }
}

#[test]
fn httpchk_takes_a_host_after_the_version_and_nothing_more() {
    // HAProxy 3.x: `option httpchk <method> <uri> <version> <host>`.
    let (text, _) = config(
        Section::Listen,
        "option httpchk GET /health HTTP/1.1 www.example.com",
    );
    assert!(language_errors(&text).is_empty());
    let (text, at) = config(
        Section::Listen,
        "option httpchk GET /health HTTP/1.1 www.example.com extra",
    );
    let errors = language_errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "argument-unexpected");
    assert_eq!(errors[0].location.map(|l| l.line), Some(at));
    // Headers hidden in the version word stay HAProxy's own error.
    let (text, _) = config(
        Section::Listen,
        "option httpchk GET /health HTTP/1.1\\r\\nHost:\\ x",
    );
    let errors = language_errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "httpchk-hidden-headers");
}

#[test]
fn thread_groups_takes_one_number_within_haproxys_limit() {
    for (line, accepted) in [
        ("thread-groups 1", true),
        ("thread-groups 16", true),
        ("thread-groups 0", false),
        ("thread-groups 17", false),
        ("thread-groups 1 2", false),
    ] {
        let (text, at) = config(Global, line);
        let errors = language_errors(&text);
        assert_eq!(errors.is_empty(), accepted, "{line}: {errors:?}");
        if !accepted {
            assert_eq!(errors[0].location.map(|l| l.line), Some(at), "{line}");
        }
    }
    // More than one group runs as one: said, not refused.
    let (text, _) = config(Global, "thread-groups 2");
    let (tree, _) = read_str("t.cfg", &text, &ReadOptions::default());
    let (_, diags) = build(&tree, &BuildOptions::default());
    assert!(diags
        .iter()
        .any(|d| d.code == "thread-groups-single" && d.severity == Severity::Warning));
}
