//! Builds compiled rules from configuration text.

#![allow(dead_code)]

use sluice_config::{read_str, ReadOptions};
use sluice_model::{build, BuildOptions, Model};
use sluice_rules::{compile, CompileOptions, CompiledProxyRules};
use std::path::Path;

pub fn model(text: &str) -> Model {
    let (tree, diags) = read_str("test.cfg", text, &ReadOptions::default());
    assert!(!diags.has_errors(), "reader errors: {:?}", diags.items);
    let (model, diags) = build(&tree, &BuildOptions::default());
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| &d.message)
        .collect();
    assert!(errors.is_empty(), "model errors: {errors:?}");
    model
}

/// A frontend `fe` with `body` lines, and a backend `app`.
pub fn frontend(body: &str) -> String {
    format!(
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
         frontend fe\n    bind :8080\n{body}\n    default_backend app\n\
         backend app\n    server s1 127.0.0.1:9000\n    server s2 127.0.0.1:9001\n\
         backend other\n    server o1 127.0.0.1:9002\n"
    )
}

pub fn rules(body: &str) -> CompiledProxyRules {
    rules_in(body, None)
}

pub fn rules_in(body: &str, dir: Option<&Path>) -> CompiledProxyRules {
    let model = model(&frontend(body));
    let options = CompileOptions {
        base_dir: dir.map(Path::to_path_buf),
    };
    match compile(&model, "fe", &options) {
        Ok(r) => r,
        Err(d) => panic!(
            "compile errors: {:?}",
            d.items.iter().map(|d| &d.message).collect::<Vec<_>>()
        ),
    }
}

pub fn compile_error(body: &str) -> String {
    let model = model(&frontend(body));
    match compile(&model, "fe", &CompileOptions::default()) {
        Ok(_) => panic!("expected a compile error for {body}"),
        Err(d) => d
            .items
            .iter()
            .map(|d| d.message.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
