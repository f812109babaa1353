//! The real-world corpus: a file HAProxy 3.4 accepts (verdict `valid` or `env-only`) must not
//! get a syntax or semantic error from compiling its ACLs and rules. Compatibility errors
//! (features Sluice lacks) and environment ones (missing files) are allowed.

use sluice_config::{read_config, Category, Environment, ReadOptions, SourceMap};
use std::path::PathBuf;

#[test]
fn accepted_files_compile_without_language_errors() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let Ok(verdicts) = std::fs::read_to_string(root.join("dev-verdicts.tsv")) else {
        println!("corpus not found at {}: skipped", root.display());
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in verdicts.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(id), Some(class)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if *class != "valid" && *class != "env-only" {
            continue;
        }
        let name = format!("{id}.cfg");
        let Ok(bytes) = std::fs::read(root.join("dev").join(&name)) else {
            failures.push(format!("{name}: unreadable"));
            continue;
        };
        let mut sources = SourceMap::new();
        sources.add(name.clone(), bytes);
        let (tree, read) =
            read_config(&sources, &mut Environment::empty(), &ReadOptions::default());
        let (model, built) = sluice_model::build(&tree, &Default::default());
        // As `-c` does: the rules are compiled only for a model without errors.
        if read.has_errors() || built.has_errors() {
            continue;
        }
        checked += 1;
        for d in sluice_rules::check_all(&model, &Default::default()).iter() {
            if d.is_error() && matches!(d.category, Category::Syntax | Category::Semantic) {
                failures.push(format!("{name}: {:?} {} {}", d.category, d.code, d.message));
            }
        }
    }
    println!("{checked} accepted files compiled");
    assert!(checked > 0, "no accepted file reached the rules compiler");
    assert!(failures.is_empty(), "{failures:#?}");
}
