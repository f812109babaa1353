//! Helpers shared by the workspace's tests. Not part of the configuration API.

use std::path::PathBuf;

/// The real-world corpus of HAProxy configurations (`shared/corpus` beside the repository),
/// or `None` when this checkout has no copy. `SLUICE_CORPUS` names another place.
pub fn corpus_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SLUICE_CORPUS").map(PathBuf::from),
        // crates/<crate>/ → the directory that holds the repository.
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("dev-verdicts.tsv").is_file())
}
