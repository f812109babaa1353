//! `docs/compatibility.md` is generated from the catalogue; this test keeps them equal.
//! Run with `SLUICE_BLESS=1` to rewrite the file after changing the catalogue.

use sluice_config::keywords::compatibility_markdown;
use std::path::PathBuf;

#[test]
fn compatibility_doc_matches_the_catalogue() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md");
    let expected = compatibility_markdown();
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/compatibility.md");
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/compatibility.md is out of date: run \
         `SLUICE_BLESS=1 cargo test -p sluice-config --test catalogue_doc`"
    );
}
