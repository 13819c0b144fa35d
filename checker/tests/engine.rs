//! Our exploration engine against the model and against Stateright's checker, on configurations
//! small enough for a test: the fingerprints it computes without building a successor agree with
//! the built successors for every kind of network; it counts the same states and classes as
//! Stateright's depth-first search; its paths do not depend on the number of threads and replay
//! on the unreduced model even when found under symmetry.

use jpkisim_checker::engine::{local, Search};
use jpkisim_model::config::{Config, Ordering};
use jpkisim_model::path::Path;
use jpkisim_properties::{applicable, catalogue, checked_model, variants};
use stateright::{Checker, Model};

fn small(persons: u8, events: u8) -> Config {
    let mut cfg = Config {
        persons,
        ..Config::default()
    };
    cfg.budgets.events = events;
    cfg
}

fn configs() -> Vec<(&'static str, Config, bool)> {
    let mut ordered = small(1, 3);
    ordered.network.ordering = Ordering::Ordered;
    let mut lossy = small(1, 2);
    lossy.network.lossy = true;
    let mut duplicating = small(1, 2);
    duplicating.network.duplicating = true;
    let mut lossy_ordered = small(1, 2);
    lossy_ordered.network.lossy = true;
    lossy_ordered.network.ordering = Ordering::Ordered;
    vec![
        ("two persons, symmetry", small(2, 3), true),
        ("two persons, no symmetry", small(2, 2), false),
        ("three persons, symmetry", small(3, 2), true),
        ("ordered network", ordered, true),
        ("lossy network", lossy, true),
        ("lossy ordered network", lossy_ordered, true),
        ("duplicating network", duplicating, true),
    ]
}

fn search(cfg: Config, symmetry: bool) -> Search {
    Search::new(cfg, applicable(&cfg).0, symmetry).expect("valid configuration")
}

#[test]
fn fingerprints_without_building_agree_with_built_successors() {
    for (name, cfg, symmetry) in configs() {
        let mut checked = search(cfg, symmetry);
        checked.verify_every_step = true;
        let verified = local::run(&checked, 2, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let fast = local::run(&search(cfg, symmetry), 2, None).expect("runs");
        assert!(
            verified.unique > 1000 || name.contains("three"),
            "{name}: too small to mean anything ({})",
            verified.unique
        );
        assert_eq!(
            (verified.generated, verified.unique),
            (fast.generated, fast.unique),
            "{name}"
        );
        assert_eq!(verified.discoveries, fast.discoveries, "{name}");
    }
}

#[test]
fn counts_equal_stateright_depth_first_search() {
    for (name, cfg, symmetry) in configs() {
        if cfg.network.duplicating {
            // Stateright's duplicating network remembers the last delivered message; ours does
            // not count it (a separate test below).
            continue;
        }
        let ours = local::run(&search(cfg, symmetry), 2, None).expect("runs");
        let mut builder = checked_model(cfg).expect("valid").checker().threads(1);
        if symmetry {
            builder = builder.symmetry_fn(jpkisim_model::symmetry::representative);
        }
        let theirs = builder.spawn_dfs().join();
        assert_eq!(
            (ours.generated as usize, ours.unique as usize),
            (theirs.state_count(), theirs.unique_state_count()),
            "{name}: (generated, unique) ours vs Stateright's"
        );
        let (props, _) = applicable(&cfg);
        let discovered = theirs.discoveries();
        for (p, found) in props.iter().zip(&ours.discoveries) {
            assert_eq!(
                found.is_some(),
                discovered.contains_key(p.id),
                "{name}: verdict of {}",
                p.id
            );
        }
    }
}

#[test]
fn a_duplicating_network_does_not_count_the_last_delivered_message() {
    let mut cfg = small(1, 2);
    cfg.network.duplicating = true;
    let ours = local::run(&search(cfg, true), 1, None).expect("runs");
    let theirs = checked_model(cfg)
        .expect("valid")
        .checker()
        .threads(1)
        .spawn_dfs()
        .join();
    assert!(
        (ours.unique as usize) < theirs.unique_state_count(),
        "the last delivered message is not part of our state: {} < {}",
        ours.unique,
        theirs.unique_state_count()
    );
    let (props, _) = applicable(&cfg);
    let discovered = theirs.discoveries();
    for (p, found) in props.iter().zip(&ours.discoveries) {
        assert_eq!(found.is_some(), discovered.contains_key(p.id), "{}", p.id);
    }
}

#[test]
fn paths_do_not_depend_on_the_number_of_threads() {
    let cfg = small(2, 3);
    let one = local::run(&search(cfg, true), 1, None).expect("runs");
    for threads in [2, 3, 5] {
        let many = local::run(&search(cfg, true), threads, None).expect("runs");
        assert_eq!(one.discoveries, many.discoveries, "{threads} threads");
        assert_eq!((one.generated, one.unique), (many.generated, many.unique));
    }
}

#[test]
fn a_counterexample_found_under_symmetry_replays_on_the_unreduced_model() {
    // Two persons: the engine keeps whichever member of a class it met first, so the path may
    // act for person 1 where person 0 would do; it must still be a path of the model.
    let v = variants::by_id("non_idempotent_issue").expect("variant");
    let cfg = v.config(small(2, 3));
    let def = catalogue::by_id(v.violates).expect("catalogued");
    let mut s = Search::new(cfg, vec![def], true).expect("valid");
    s.stop_when_all_found = true;
    let outcome = local::run(&s, 2, None).expect("runs");
    let found = outcome.discoveries[0]
        .clone()
        .expect("the variant is caught");
    let model = jpkisim_model::build(cfg).expect("valid");
    let path = Path::follow(&model, &found.path);
    assert_eq!(path.len(), found.depth, "every index is in range");
    let last = path.last().expect("non-empty");
    assert!(!def.holds_in(&cfg, last), "the end of the path violates");
    assert!(
        path.states[..path.states.len() - 1]
            .iter()
            .all(|st| def.holds_in(&cfg, st)),
        "nothing before the end does"
    );
    // Each step is an action the model enables and that changes the state.
    for (i, a) in path.actions.iter().enumerate() {
        assert_eq!(
            model.next_state(&path.states[i], a.clone()).as_ref(),
            Some(&path.states[i + 1])
        );
    }
}
