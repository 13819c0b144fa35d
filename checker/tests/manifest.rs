//! The manifest `checker/expected.toml` pins, for a set of configurations, the number of
//! distinct states (classes, with symmetry reduction) and which properties fail. A change to the
//! model that changes either must update the manifest on purpose, in the same commit.
//!
//! Both engines are held to it: our breadth-first engine and Stateright's depth-first checker
//! must count the same classes and give the same verdicts (where a run pins `unique_states_ours`,
//! our engine counts fewer states by design, and the manifest says why).

use jpkisim_checker::check::{self, Engine, Options, Verdict};
use jpkisim_model::config::{Config, Dimension, Flaw};
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Deserialize)]
struct Manifest {
    run: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    name: String,
    /// Fields of `Config` that differ from the default (nested tables merge).
    #[serde(default)]
    config: toml::Table,
    /// Flaws switched on, by id.
    #[serde(default)]
    flaws: Vec<String>,
    unique_states: usize,
    /// Our engine's count where it differs by design (see the run's comment).
    unique_states_ours: Option<usize>,
    /// Safety properties expected to be violated.
    #[serde(default)]
    violated: Vec<String>,
    /// Reachability properties expected to stay unwitnessed.
    #[serde(default)]
    unwitnessed: Vec<String>,
    /// Safety properties expected to hold only because nothing triggers them ("holds, never
    /// triggered"): every other applicable safety property must be triggered.
    #[serde(default)]
    untriggered: Vec<String>,
}

fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, p) => *b = p.clone(),
    }
}

fn config_of(run: &Run) -> Config {
    let mut value = serde_json::to_value(Config::default()).expect("config serialises");
    let patch = serde_json::to_value(&run.config).expect("toml table converts");
    merge(&mut value, &patch);
    let mut cfg: Config = serde_json::from_value(value)
        .unwrap_or_else(|e| panic!("manifest run '{}': bad config: {e}", run.name));
    for id in &run.flaws {
        let flaw = Flaw::parse(id)
            .unwrap_or_else(|e| panic!("manifest run '{}': unknown flaw {id}: {e}", run.name));
        cfg.flaws = cfg.flaws.with(flaw);
    }
    cfg
}

fn check_manifest(engine: Engine) {
    let text = include_str!("../expected.toml");
    let manifest: Manifest = toml::from_str(text).expect("expected.toml parses");
    assert!(manifest.run.len() >= 10, "the manifest lost its runs");
    // No vacuous verdicts where CI looks first: the default configuration (the first run) leaves
    // no safety property untriggered.
    let default = &manifest.run[0];
    assert!(
        default.config.is_empty() && default.flaws.is_empty() && default.untriggered.is_empty(),
        "the first run must be the default configuration, with every safety property triggered"
    );
    let mut failures = Vec::new();
    for run in &manifest.run {
        let cfg = config_of(run);
        let report = check::run(
            cfg,
            Options {
                threads: 2,
                engine,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("manifest run '{}': {e}", run.name));
        assert!(
            report.complete,
            "manifest run '{}' did not explore everything",
            run.name
        );
        let ids = |v: Verdict| -> BTreeSet<String> {
            report
                .properties
                .iter()
                .filter(|p| p.verdict == v)
                .map(|p| p.id.to_string())
                .collect()
        };
        let violated = ids(Verdict::Violated);
        let untriggered: BTreeSet<String> =
            report.never_triggered().map(|p| p.id.to_string()).collect();
        let want_untriggered: BTreeSet<String> = run.untriggered.iter().cloned().collect();
        // Every safety property reports whether it was triggered.
        for p in &report.properties {
            assert_eq!(
                p.triggered.is_some(),
                p.kind == jpkisim_properties::Kind::Always,
                "manifest run '{}': {} without a trigger verdict",
                run.name,
                p.id
            );
        }
        let unwitnessed = ids(Verdict::Unwitnessed);
        let want_violated: BTreeSet<String> = run.violated.iter().cloned().collect();
        let want_unwitnessed: BTreeSet<String> = run.unwitnessed.iter().cloned().collect();
        let want_unique = match engine {
            Engine::Ours => run.unique_states_ours.unwrap_or(run.unique_states),
            Engine::Stateright => run.unique_states,
        };
        if report.unique_states != want_unique
            || violated != want_violated
            || unwitnessed != want_unwitnessed
            || untriggered != want_untriggered
        {
            failures.push(format!(
                "run '{}': unique_states {} (expected {}), violated {:?} (expected {:?}), unwitnessed {:?} (expected {:?}), untriggered {:?} (expected {:?})",
                run.name, report.unique_states, want_unique, violated, want_violated, unwitnessed, want_unwitnessed, untriggered, want_untriggered
            ));
        }
        if engine == Engine::Ours {
            // Every reported path is a shortest one, and replays to a state that decides it.
            for p in &report.properties {
                assert_eq!(
                    p.shortest,
                    p.depth.is_some(),
                    "run '{}': {}",
                    run.name,
                    p.id
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "manifest mismatches ({engine:?} engine):\n{}",
        failures.join("\n")
    );
}

#[test]
fn manifest_verdicts_and_state_counts_hold_under_our_engine() {
    check_manifest(Engine::Ours);
}

#[test]
fn manifest_verdicts_and_state_counts_hold_under_stateright() {
    check_manifest(Engine::Stateright);
}
