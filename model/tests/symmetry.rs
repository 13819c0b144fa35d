//! Symmetry reduction is sound only if the representative really is canonical: every state and
//! every person-renaming of it must map to the same representative, and renaming twice must give
//! the state back. Checked on every reachable state of small two-person models.

use jpkisim_model::config::{Budgets, Compromised, Config, Medium, RevocationCheck, Role, Thief};
use jpkisim_model::symmetry::{relabel_state, representative, swap};
use jpkisim_model::JpkiState;
use stateright::{Checker, Model};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

fn fp(s: &JpkiState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn reachable(cfg: Config, limit: usize) -> Vec<JpkiState> {
    let model = jpkisim_model::build(cfg).expect("valid configuration");
    let mut seen = HashSet::new();
    let mut stack = model.init_states();
    let mut out = Vec::new();
    let mut actions = Vec::new();
    while let Some(s) = stack.pop() {
        if !seen.insert(fp(&s)) || out.len() >= limit {
            continue;
        }
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a) {
                if Model::within_boundary(&model, &next) {
                    stack.push(next);
                }
            }
        }
        out.push(s);
    }
    out
}

fn check(cfg: Config) {
    let k = cfg.ses_per_person;
    let states = reachable(cfg, 40_000);
    assert!(
        states.len() > 1000,
        "explored too little to mean anything: {}",
        states.len()
    );
    for s in &states {
        let p = swap(cfg.persons, k, 0, 1);
        let swapped = relabel_state(s, &p);
        assert_eq!(
            fp(&relabel_state(&swapped, &p)),
            fp(s),
            "swapping twice must give the state back:\n{s:#?}"
        );
        assert_eq!(
            fp(&representative(s)),
            fp(&representative(&swapped)),
            "not canonical:\n{s:#?}"
        );
    }
}

fn small() -> Config {
    Config {
        budgets: Budgets {
            applications: 2,
            thefts: 1,
            pin_entries: 2,
            card_events: 1,
            sim_events: 1,
            device_events: 1,
            events: 3,
            intrusions: 1,
        },
        ..Config::default()
    }
}

/// The hostile world: a thief who knows the PIN, the network intruder, and a compromised SP-TSM
/// and SE-TSM whose keys the intruder holds (its knowledge and its choices point into each other).
fn hostile() -> Config {
    Config {
        thief: Thief::KnowsPin,
        intruder: true,
        compromised: Compromised::NONE.with(Role::SpTsm).with(Role::SeTsm),
        ..small()
    }
}

#[test]
fn representative_is_canonical_in_a_hostile_world() {
    check(hostile());
}

#[test]
fn representative_is_canonical_on_a_sim() {
    check(small());
}

#[test]
fn representative_is_canonical_on_a_gp_se_with_crl() {
    check(Config {
        medium: Medium::GpSe,
        revocation: RevocationCheck::Crl,
        ..small()
    });
}

#[test]
fn representative_is_canonical_on_a_duplicating_network() {
    let mut cfg = small();
    cfg.network.duplicating = true;
    check(cfg);
}

#[test]
fn representative_is_canonical_on_every_state_of_a_complete_small_model() {
    let cfg = Config {
        budgets: Budgets {
            events: 3,
            ..Budgets::default()
        },
        ..Config::default()
    };
    let states = reachable(cfg, usize::MAX);
    let classes: HashSet<u64> = states.iter().map(|s| fp(&representative(s))).collect();
    check_all(&cfg, &states);
    assert!(classes.len() < states.len());
    // Stateright's symmetric depth-first search must find exactly these classes, on any thread count.
    for threads in [1, 2] {
        // Stateright stops as soon as no property awaits a discovery, so give it one that never
        // gets one: the search then runs to exhaustion.
        let checker = jpkisim_model::build(cfg)
            .expect("valid configuration")
            .property(stateright::Expectation::Always, "exhaust", |_, _| true)
            .checker()
            .threads(threads)
            .symmetry_fn(representative)
            .spawn_dfs()
            .join();
        assert_eq!(
            checker.unique_state_count(),
            classes.len(),
            "{threads} thread(s)"
        );
    }
}

fn check_all(cfg: &Config, states: &[JpkiState]) {
    let p = swap(cfg.persons, cfg.ses_per_person, 0, 1);
    for s in states {
        let swapped = relabel_state(s, &p);
        assert_eq!(
            fp(&representative(s)),
            fp(&representative(&swapped)),
            "not canonical:\n{s:#?}"
        );
    }
}

/// The renaming is an automorphism of the transition relation: whatever a state can do, its
/// renamed twin can do too, ending in the renamed successor. Without this, exploring one state
/// per class would miss behaviours.
#[test]
fn renaming_persons_commutes_with_every_transition() {
    let events3 = Config {
        budgets: Budgets {
            events: 3,
            ..Budgets::default()
        },
        ..Config::default()
    };
    let mut dup = small();
    dup.network.duplicating = true;
    let gp_center_crl = Config {
        medium: Medium::GpSe,
        keygen: jpkisim_model::config::KeyGen::Center,
        revocation: RevocationCheck::Crl,
        ..small()
    };
    let mvno = Config {
        carrier: jpkisim_model::config::Carrier::Mvno,
        ..small()
    };
    let mvno_compromised = Config {
        compromised: Compromised::NONE.with(Role::Mvno),
        ..mvno
    };
    for cfg in [
        events3,
        dup,
        gp_center_crl,
        mvno,
        hostile(),
        mvno_compromised,
    ] {
        commutes(cfg);
    }
}

fn commutes(cfg: Config) {
    let model = jpkisim_model::build(cfg).expect("valid configuration");
    let p = swap(cfg.persons, cfg.ses_per_person, 0, 1);
    let states = reachable(cfg, 20_000);
    let mut actions = Vec::new();
    let mut twin_actions = Vec::new();
    for s in &states {
        let twin = relabel_state(s, &p);
        model.actions(&twin, &mut twin_actions);
        let twin_next: HashSet<u64> = twin_actions
            .drain(..)
            .filter_map(|a| model.next_state(&twin, a))
            .map(|t| fp(&t))
            .collect();
        model.actions(s, &mut actions);
        for a in actions.drain(..) {
            let shown = format!("{a:?}");
            if let Some(t) = model.next_state(s, a) {
                assert!(
                    twin_next.contains(&fp(&relabel_state(&t, &p))),
                    "the renamed state cannot take the renamed step {shown}\nfrom {s:#?}"
                );
            }
        }
    }
}
