//! The keyword catalogue: lookups per table, removed keywords, suggestions, proxy sections.

use sluice_config::keywords::{
    lookup, proxy_keyword_allowed, removed_section, Keyword, Lookup, Removed, Support, Table,
};
use sluice_config::SectionKind;

fn known(table: Table, name: &str) -> &'static Keyword {
    match lookup(table, name) {
        Lookup::Known(keyword) => keyword,
        other => panic!(
            "'{name}' in {}: expected known, got {other:?}",
            table.describe()
        ),
    }
}

fn removed(table: Table, name: &str) -> &'static Removed {
    match lookup(table, name) {
        Lookup::Removed(removed) => removed,
        other => panic!(
            "'{name}' in {}: expected removed, got {other:?}",
            table.describe()
        ),
    }
}

fn suggestion(table: Table, name: &str) -> Option<&'static str> {
    match lookup(table, name) {
        Lookup::Unknown { suggestion } => suggestion,
        other => panic!(
            "'{name}' in {}: expected unknown, got {other:?}",
            table.describe()
        ),
    }
}

const GLOBAL: Table = Table::Section(SectionKind::Global);
const BACKEND: Table = Table::Section(SectionKind::Backend);

#[test]
fn core_keywords_are_supported_in_their_tables() {
    let cases = [
        (GLOBAL, "chroot"),
        (GLOBAL, "setenv"),
        (GLOBAL, "tune.bufsize"),
        (BACKEND, "balance"),
        (Table::Section(SectionKind::Frontend), "bind"),
        (Table::ProxyOption, "httplog"),
        (Table::ProxyOption, "redispatch"),
        (Table::ProxyTimeout, "http-request"),
        (Table::HttpCheck, "expect"),
        (Table::TcpRequest, "inspect-delay"),
        (Table::BindOption, "accept-proxy"),
        (Table::BindOption, "defer-accept"),
        (Table::ServerOption, "check"),
        (Table::ServerOption, "send-proxy-v2"),
        (Table::HttpRequestAction, "set-header"),
        (Table::HttpResponseAction, "set-status"),
        (Table::TcpRequestContentAction, "accept"),
        (Table::SampleFetch, "path_beg"),
        (Table::SampleFetch, "req.ssl_sni"),
        (Table::SampleFetch, "hdr_cnt"),
        (Table::PredefinedAcl, "METH_GET"),
        (Table::Converter, "lower"),
        (Table::Converter, "map_reg"),
    ];
    // The runtime API (crates/sluice-proxy/src/cli/) serves `stats socket`.
    assert_eq!(
        known(Table::GlobalStats, "socket").support,
        Support::Supported
    );
    // The statistics page is served (crates/sluice-proxy/src/stats/); its admin actions
    // are not: see the note at the top of tools/catalogue/overrides.txt.
    assert_eq!(known(Table::ProxyStats, "uri").support, Support::Supported);
    assert!(matches!(
        known(Table::ProxyStats, "admin").support,
        Support::Ignored(_)
    ));
    // TLS is rustls's, on both sides; versions below TLS 1.2 stay out of reach.
    assert!(matches!(
        known(Table::BindOption, "ssl").support,
        Support::Supported
    ));
    for name in [
        "ssl",
        "check-ssl",
        "verify",
        "ca-file",
        "sni",
        "crt",
        "alpn",
    ] {
        assert_eq!(
            known(Table::ServerOption, name).support,
            Support::Supported,
            "{name}"
        );
    }
    assert!(matches!(
        known(Table::ServerOption, "force-tlsv10").support,
        Support::Refused(_)
    ));
    assert_eq!(
        known(GLOBAL, "ssl-server-verify").support,
        Support::Supported
    );
    assert!(matches!(
        known(GLOBAL, "ssl-default-bind-ciphers").support,
        Support::Ignored(_)
    ));
    for (table, name) in cases {
        assert_eq!(
            known(table, name).support,
            Support::Supported,
            "'{name}' in {}",
            table.describe()
        );
    }
}

#[test]
fn unsupported_keywords_say_what_is_lost() {
    let Support::Refused(why) = known(GLOBAL, "lua-load").support else {
        panic!("lua-load should be refused");
    };
    assert!(why.contains("Lua"), "{why}");
    assert!(matches!(
        known(GLOBAL, "tune.ssl.default-dh-param").support,
        Support::Ignored(_)
    ));
    assert!(matches!(
        known(Table::HttpRequestAction, "use-service").support,
        Support::Refused(_)
    ));
    assert!(matches!(
        known(Table::Section(SectionKind::Peers), "shards").support,
        Support::Ignored(_)
    ));
    assert!(matches!(
        known(Table::ProxyOption, "tcp-smart-accept").support,
        Support::Ignored(_)
    ));
}

#[test]
fn arguments_in_parentheses_are_not_part_of_the_name() {
    assert_eq!(
        known(Table::HttpRequestAction, "set-var(txn.x)").name,
        "set-var"
    );
    assert_eq!(known(Table::SampleFetch, "hdr(host)").name, "hdr");
    assert_eq!(
        known(Table::Converter, "map_beg(/etc/x.map)").name,
        "map_beg"
    );
}

#[test]
fn stick_counters_above_two_and_lua_names_are_known() {
    assert_eq!(
        known(Table::HttpRequestAction, "track-sc5").name,
        "track-sc0"
    );
    assert_eq!(
        known(Table::SampleFetch, "sc7_conn_cur").name,
        "sc0_conn_cur"
    );
    assert!(matches!(
        known(Table::HttpRequestAction, "lua.my_action").support,
        Support::Refused(_)
    ));
    assert!(matches!(lookup(GLOBAL, "lua.foo"), Lookup::Unknown { .. }));
}

#[test]
fn acl_derivatives_are_flagged() {
    assert!(known(Table::SampleFetch, "path_beg").acl_only);
    assert!(known(Table::SampleFetch, "hdr_dom").acl_only);
    assert!(!known(Table::SampleFetch, "path").acl_only);
    assert!(!known(Table::SampleFetch, "req.hdr").acl_only);
}

#[test]
fn first_words_point_to_their_second_word_table() {
    let frontend = Table::Section(SectionKind::Frontend);
    assert_eq!(known(frontend, "option").sub, Some(Table::ProxyOption));
    assert_eq!(known(frontend, "timeout").sub, Some(Table::ProxyTimeout));
    assert_eq!(known(frontend, "stats").sub, Some(Table::ProxyStats));
    assert_eq!(known(BACKEND, "http-check").sub, Some(Table::HttpCheck));
    assert_eq!(known(GLOBAL, "stats").sub, Some(Table::GlobalStats));
    assert_eq!(known(frontend, "bind").sub, None);
    assert!(known(Table::ProxyOption, "httpclose").negatable);
}

#[test]
fn removed_keywords_say_what_to_write_instead() {
    let reqadd = removed(BACKEND, "reqadd");
    assert_eq!(reqadd.replacement, "http-request add-header");
    assert_eq!(reqadd.since, "2.1");
    for name in [
        "reqadd",
        "reqdel",
        "reqrep",
        "reqirep",
        "reqdeny",
        "reqideny",
        "reqpass",
        "reqipass",
        "reqallow",
        "reqiallow",
        "reqtarpit",
        "reqitarpit",
        "rspadd",
        "rspdel",
        "rsprep",
        "rspirep",
        "rspdeny",
        "rspideny",
        "block",
        "contimeout",
        "clitimeout",
        "srvtimeout",
    ] {
        let entry = removed(Table::Section(SectionKind::Listen), name);
        assert!(!entry.help.is_empty(), "{name}");
    }
    assert_eq!(removed(BACKEND, "srvtimeout").replacement, "timeout server");
    assert_eq!(removed(GLOBAL, "nbproc").since, "2.5");
    assert_eq!(removed(GLOBAL, "debug").replacement, "");
    assert_eq!(
        removed(Table::ProxyOption, "forceclose").replacement,
        "httpclose"
    );
    assert_eq!(removed(Table::ProxyOption, "http-tunnel").replacement, "");
    assert_eq!(
        removed(Table::ProxyOption, "independant-streams").replacement,
        "independent-streams"
    );
    assert_eq!(removed(Table::BindOption, "process").replacement, "thread");
    assert_eq!(removed(Table::GlobalStats, "bind-process").since, "2.5");
    assert_eq!(removed_section("program").map(|r| r.since), Some("3.3"));
    assert_eq!(removed_section("frontend"), None);
}

#[test]
fn unknown_keywords_get_the_closest_one_of_their_table() {
    assert_eq!(suggestion(GLOBAL, "chrot"), Some("chroot"));
    assert_eq!(suggestion(Table::ProxyTimeout, "sever"), Some("server"));
    assert_eq!(suggestion(Table::ProxyOption, "htplog"), Some("httplog"));
    assert_eq!(suggestion(BACKEND, "balanse"), Some("balance"));
    assert_eq!(
        suggestion(Table::HttpRequestAction, "set-heder"),
        Some("set-header")
    );
    // HAProxy 3.4 answers the same for a proxy keyword written in global.
    assert_eq!(suggestion(GLOBAL, "mode"), Some("node"));
    assert_eq!(suggestion(GLOBAL, "frobnicate"), None);
    assert_eq!(suggestion(GLOBAL, ""), None);
}

#[test]
fn proxy_sections_follow_the_keyword_matrix() {
    assert!(proxy_keyword_allowed(SectionKind::Frontend, "bind"));
    assert!(proxy_keyword_allowed(SectionKind::Listen, "bind"));
    assert!(!proxy_keyword_allowed(SectionKind::Backend, "bind"));
    assert!(!proxy_keyword_allowed(SectionKind::Defaults, "bind"));
    assert!(!proxy_keyword_allowed(SectionKind::Frontend, "server"));
    assert!(proxy_keyword_allowed(SectionKind::Backend, "server"));
    assert!(!proxy_keyword_allowed(SectionKind::Backend, "use_backend"));
    assert!(!proxy_keyword_allowed(
        SectionKind::Backend,
        "option httplog"
    ));
    assert!(proxy_keyword_allowed(
        SectionKind::Backend,
        "option httpchk"
    ));
    assert!(!proxy_keyword_allowed(SectionKind::Defaults, "stats admin"));
    assert!(proxy_keyword_allowed(SectionKind::Defaults, "stats auth"));
    assert!(!proxy_keyword_allowed(
        SectionKind::Frontend,
        "timeout server"
    ));
    // Rules in defaults need a named defaults section.
    assert!(!proxy_keyword_allowed(
        SectionKind::Defaults,
        "http-request"
    ));
    assert!(known(BACKEND, "http-request")
        .sections
        .named_defaults_only());
    assert!(!proxy_keyword_allowed(SectionKind::Global, "maxconn"));
    assert!(!proxy_keyword_allowed(
        SectionKind::Frontend,
        "no-such-keyword"
    ));
    assert!(!proxy_keyword_allowed(SectionKind::Frontend, ""));
}

#[test]
fn tables_are_sorted_for_binary_search_and_removed_names_are_not_known() {
    for table in Table::ALL {
        for pair in table.keywords().windows(2) {
            let [a, b] = pair else { continue };
            assert!(
                a.name < b.name,
                "{}: {} before {}",
                table.describe(),
                a.name,
                b.name
            );
        }
        for pair in table.removed().windows(2) {
            let [a, b] = pair else { continue };
            assert!(
                a.name < b.name,
                "{}: {} before {}",
                table.describe(),
                a.name,
                b.name
            );
        }
        for entry in table.removed() {
            assert!(
                matches!(lookup(table, entry.name), Lookup::Removed(_)),
                "{} is both known and removed in {}",
                entry.name,
                table.describe()
            );
        }
    }
}

#[test]
fn every_keyword_the_manual_documents_is_extracted() {
    let count = |t: Table| t.keywords().len();
    let proxy_phrases: usize = [
        Table::Section(SectionKind::Defaults),
        Table::ProxyOption,
        Table::ProxyTimeout,
        Table::ProxyStats,
        Table::HttpCheck,
        Table::TcpCheck,
    ]
    .into_iter()
    .map(count)
    .sum();
    assert!(count(GLOBAL) >= 250, "global: {}", count(GLOBAL));
    assert!(proxy_phrases >= 150, "proxies: {proxy_phrases}");
    assert!(count(Table::ProxyOption) >= 55);
    assert!(count(Table::BindOption) >= 80);
    assert!(count(Table::ServerOption) >= 100);
    assert!(count(Table::HttpRequestAction) >= 60);
    assert!(count(Table::SampleFetch) >= 400);
    assert!(count(Table::Converter) >= 120);
    assert_eq!(count(Table::PredefinedAcl), 23);
    for table in Table::ALL {
        for keyword in table.keywords() {
            assert!(!keyword.name.is_empty());
            assert!(
                !keyword.name.contains(char::is_whitespace),
                "'{}' in {}",
                keyword.name,
                table.describe()
            );
        }
    }
}
