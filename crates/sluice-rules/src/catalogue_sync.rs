//! The keyword catalogue and the rules engine must agree: every fetch, converter and action
//! the catalogue calls supported is implemented here, and everything implemented here is a
//! supported HAProxy keyword. Otherwise `-c` accepts what running refuses, or the reverse.

use crate::actions::{compile_action_for_test, RuleEnv};
use crate::sample::registry::{self, CONVERTERS, FETCHES};
use crate::{CompileOptions, Env};
use sluice_config::keywords::{Support, Table};
use sluice_config::{read_str, Category, ReadOptions};
use sluice_model::proxy::rules::RuleSet;
use sluice_model::{build, BuildOptions};

fn supported(table: Table) -> impl Iterator<Item = &'static sluice_config::keywords::Keyword> {
    table
        .keywords()
        .iter()
        .filter(|k| k.support == Support::Supported)
}

#[test]
fn every_supported_fetch_and_converter_is_implemented() {
    let mut missing = Vec::new();
    for k in supported(Table::SampleFetch) {
        let found = if k.acl_only {
            registry::acl_criterion(k.name).is_some()
        } else {
            registry::fetch(k.name).is_some()
        };
        if !found {
            missing.push(format!("fetch {}", k.name));
        }
    }
    for k in supported(Table::Converter) {
        if registry::converter(k.name).is_none() {
            missing.push(format!("converter {}", k.name));
        }
    }
    assert!(
        missing.is_empty(),
        "supported in tools/catalogue/overrides.txt but not implemented: {missing:?}"
    );
}

#[test]
fn every_implemented_fetch_and_converter_is_supported() {
    let status = |table: Table, name: &str| {
        table
            .keywords()
            .iter()
            .find(|k| k.name == name)
            .map(|k| k.support)
    };
    let mut extra = Vec::new();
    for def in FETCHES {
        if status(Table::SampleFetch, def.name) != Some(Support::Supported) {
            extra.push(format!("fetch {}", def.name));
        }
    }
    for def in CONVERTERS {
        if status(Table::Converter, def.name) != Some(Support::Supported) {
            extra.push(format!("converter {}", def.name));
        }
    }
    assert!(
        extra.is_empty(),
        "implemented but not 'supported' in tools/catalogue/overrides.txt: {extra:?}"
    );
}

#[test]
fn every_supported_action_is_implemented() {
    let text = "frontend web\n    mode http\n    bind :80\n    default_backend app\n\
                backend app\n    mode http\n    server a 127.0.0.1:8080\n";
    let (tree, _) = read_str("t.cfg", text, &ReadOptions::default());
    let (model, _) = build(&tree, &BuildOptions::default());
    let Some(proxy) = model.proxies.first() else {
        panic!("the test configuration has a frontend");
    };
    let sets = [
        (Table::HttpRequestAction, RuleSet::HttpRequest),
        (Table::HttpResponseAction, RuleSet::HttpResponse),
        (Table::HttpAfterResponseAction, RuleSet::HttpAfterResponse),
        (
            Table::TcpRequestConnectionAction,
            RuleSet::TcpRequestConnection,
        ),
        (Table::TcpRequestSessionAction, RuleSet::TcpRequestSession),
        (Table::TcpRequestContentAction, RuleSet::TcpRequestContent),
        (Table::TcpResponseContentAction, RuleSet::TcpResponseContent),
    ];
    let mut missing = Vec::new();
    for (table, set) in sets {
        for k in supported(table) {
            let mut env = Env::new(&model, proxy, &CompileOptions::default());
            let mut renv = RuleEnv {
                proxy_name: "web",
                captures: 0,
                capture_lens: Vec::new(),
            };
            // Without arguments most actions fail, but on their arguments (syntax), never
            // as an action the engine does not know (compatibility).
            if let Err(p) = compile_action_for_test(k.name, set, &mut renv, &mut env) {
                if p.category == Category::Compatibility
                    || p.code.is_some_and(|c| c.starts_with("keyword-"))
                {
                    missing.push(format!("{} {}: {}", table.describe(), k.name, p.message));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "supported in tools/catalogue/overrides.txt but not implemented: {missing:#?}"
    );
}
