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
        vec!["new_phone_after_loss", "mvno_issued"]
    );
    assert!(
        applicable
            .iter()
            .filter(|p| p.kind == catalogue::Kind::Always)
            .count()
            >= 13
    );
}
