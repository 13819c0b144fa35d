//! Every broken variant is caught by the property it names, and the same property holds in the
//! same configuration without the flaw: a property that cannot fail, or that fails without the
//! flaw, is caught here.

use jpkisim_model::config::{Config, Flaw};
use jpkisim_properties::{catalogue, checked_model, variants};
use stateright::{Checker, Model};

/// One person keeps these checks fast; every flaw shows with one person.
fn base() -> Config {
    Config {
        persons: 1,
        ..Config::default()
    }
}

/// Runs the checker on `cfg` with only `property` attached (it stops at the first violation).
fn violated(cfg: Config, property: &str) -> Option<usize> {
    let def = catalogue::by_id(property).expect("variant names a catalogued property");
    let model = jpkisim_model::build(cfg)
        .expect("variant configuration is valid")
        .property(stateright::Expectation::Always, def.id, def.stateright);
    let checker = model.checker().threads(1).spawn_dfs().join();
    checker.discovery(def.id).map(|p| p.into_actions().len())
}

#[test]
fn every_flaw_has_exactly_one_variant() {
    let mut ids: Vec<Flaw> = variants::ALL.iter().map(|v| v.flaw).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), Flaw::ALL.len());
    assert_eq!(variants::ALL.len(), Flaw::ALL.len());
    for v in variants::ALL {
        let id = serde_json::to_value(v.flaw).expect("flaw ids serialise");
        assert_eq!(id.as_str(), Some(v.id), "variant id is the flaw's id");
    }
}

#[test]
fn every_variant_is_caught_by_its_property() {
    let mut missed = Vec::new();
    for v in variants::ALL {
        let cfg = v.config(base());
        match violated(cfg, v.violates) {
            Some(depth) => assert!(depth > 0, "{}: violated in the initial state", v.id),
            None => missed.push(v.id),
        }
    }
    assert!(missed.is_empty(), "variants no longer caught: {missed:?}");
}

#[test]
fn without_the_flaw_the_same_property_holds_in_the_same_configuration() {
    for v in variants::ALL {
        let cfg = (v.needs)(base());
        assert_eq!(
            violated(cfg, v.violates),
            None,
            "{} fails without flaw {}",
            v.violates,
            v.id
        );
    }
}

#[test]
fn checked_model_attaches_every_applicable_property() {
    let cfg = Config::default();
    let model = checked_model(cfg).expect("default configuration is valid");
    let names: Vec<&str> = model.properties().iter().map(|p| p.name).collect();
    let (applicable, not) = jpkisim_properties::applicable(&cfg);
    assert_eq!(names, applicable.iter().map(|p| p.id).collect::<Vec<_>>());
    assert_eq!(
        not.iter().map(|(p, _)| p.id).collect::<Vec<_>>(),
        vec![
            "pin_lockout",
            "center_key_only_encrypted",
            "applet_only_via_authorised_tsm",
            "stolen_se_unusable_after_report",
            "phone_revocation_authentic",
            "status_evidence_fresh",
            "issuance_settles",
            "no_se_half_personalised",
            "issued_certificates_accounted",
            "retirement_settles",
            "new_phone_after_loss",
            "mvno_issued",
            "thief_accepted_before_report",
        ]
    );
    assert!(
        applicable
            .iter()
            .filter(|p| p.kind == catalogue::Kind::Always)
            .count()
            >= 10
    );
}

#[test]
fn every_safety_property_declares_its_trigger_and_no_reachability_property_does() {
    for p in catalogue::ALL {
        match p.kind {
            catalogue::Kind::Always => {
                let t = p
                    .trigger
                    .unwrap_or_else(|| panic!("{} declares no trigger", p.id));
                assert_eq!(t.target.id, format!("{}.trigger", p.id));
                assert_eq!(t.target.kind, catalogue::Kind::Sometimes, "{}", p.id);
                assert!(!t.summary.is_empty(), "{}", p.id);
            }
            catalogue::Kind::Sometimes => assert!(p.trigger.is_none(), "{}", p.id),
        }
    }
    let cfg = Config::default();
    let triggers: Vec<String> = jpkisim_properties::applicable_triggers(&cfg)
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    let safety: Vec<String> = jpkisim_properties::applicable_safety(&cfg)
        .map(|p| format!("{}.trigger", p.id))
        .collect();
    assert_eq!(triggers, safety);
}

#[test]
fn every_safety_property_has_a_variant_that_breaks_it() {
    // No safety property without teeth: some deliberately broken design must fail it (the
    // variants' tests above show each is caught, and `checker/tests/counterexamples.rs` pins the
    // shortest counterexample's length).
    let unbroken: Vec<&str> = catalogue::ALL
        .iter()
        .filter(|p| p.kind == catalogue::Kind::Always)
        .filter(|p| !variants::ALL.iter().any(|v| v.violates == p.id))
        .map(|p| p.id)
        .collect();
    assert!(
        unbroken.is_empty(),
        "safety properties no variant breaks: {unbroken:?}"
    );
}
