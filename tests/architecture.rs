//! The crate graph of docs/architecture.md, held to the manifests: which workspace crate may
//! depend on which, that the card knows no other jpkisim crate, and that only the checker serves
//! HTTP and only the command line parses flags with clap. A dependency in the wrong direction
//! fails here with the crate and the dependency named.

use std::collections::BTreeSet;
use std::path::Path;

/// Each library crate and the workspace crates its `[dependencies]` may name.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("properties", &["jpkisim-model"]),
    ("traces", &["jpkisim-model", "jpkisim-properties"]),
    (
        "checker",
        &["jpkisim-model", "jpkisim-properties", "jpkisim-traces"],
    ),
    ("card", &[]),
    (
        "reference",
        &[
            "jpkisim-model",
            "jpkisim-properties",
            "jpkisim-traces",
            "jpkisim-card",
        ],
    ),
];

/// Third-party crates only one library crate may depend on.
const ONLY_IN: &[(&str, &str)] = &[("httparse", "checker")];

/// Third-party crates no library crate may depend on.
const NEVER_IN_A_LIBRARY: &[&str] = &["clap"];

fn dependencies(dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(dir)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn library_crates_depend_only_downwards() {
    for (dir, allowed) in ALLOWED {
        let deps = dependencies(dir);
        for dep in deps.iter().filter(|d| d.starts_with("jpkisim")) {
            assert!(
                allowed.contains(&dep.as_str()),
                "{dir}/Cargo.toml depends on {dep}, which docs/architecture.md does not allow \
                 (allowed: {allowed:?})"
            );
        }
        for (krate, home) in ONLY_IN {
            assert!(
                dir == home || !deps.contains(*krate),
                "{dir}/Cargo.toml depends on {krate}, which only {home} may"
            );
        }
        for krate in NEVER_IN_A_LIBRARY {
            assert!(
                !deps.contains(*krate),
                "{dir}/Cargo.toml depends on {krate}: only the command line may"
            );
        }
    }
}

#[test]
fn the_card_knows_no_other_jpkisim_crate() {
    let deps = dependencies("card");
    let workspace: Vec<&String> = deps.iter().filter(|d| d.starts_with("jpkisim")).collect();
    assert!(workspace.is_empty(), "card depends on {workspace:?}");
}
