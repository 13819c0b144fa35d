//! Traces generated from the model conform, also when observed from fewer parties; an edited
//! event diverges there.

use jpkisim_model::ids::Party;
use jpkisim_model::Config;
use jpkisim_traces::conform::{conform, Options, Verdict};
use jpkisim_traces::generate::random_walk;
use jpkisim_traces::{Event, Header, Reader, Recorder};

/// One person with room for a longer story than the checker's default budgets.
fn one_person() -> Config {
    let mut cfg = Config {
        persons: 1,
        ..Config::default()
    };
    cfg.budgets.applications = 3;
    cfg.budgets.pin_entries = 4;
    cfg.budgets.events = 10;
    cfg
}

fn walk(cfg: Config, seed: u64, steps: u64) -> Vec<Event> {
    let model = jpkisim_model::build(cfg).expect("model builds");
    let mut events = Vec::new();
    random_walk(&model, seed, steps, 70, |e| {
        events.push(e);
        true
    });
    events
}

fn trace_text(cfg: Config, events: &[Event]) -> String {
    let all = jpkisim_model::Topology::of(&cfg).parties();
    let mut rec = Recorder::new(Vec::new(), &Header::new(cfg, all)).expect("header");
    for e in events {
        rec.record(e.clone()).expect("event");
    }
    String::from_utf8(rec.into_inner().expect("flush")).expect("utf-8")
}

fn verdict(text: &str, opts: &Options) -> Verdict {
    let mut r = Reader::new(text.as_bytes(), "walk").expect("header");
    conform(&mut r, opts).expect("trace reads")
}

#[test]
fn random_walks_conform_fully_observed() {
    for seed in 0..8 {
        let cfg = one_person();
        let events = walk(cfg, seed, 60);
        assert!(events.len() > 12, "seed {seed}: a walk of some length");
        let v = verdict(&trace_text(cfg, &events), &Options::default());
        assert!(
            matches!(v, Verdict::Conforms { .. }),
            "seed {seed}: {}",
            v.text()
        );
    }
}

#[test]
fn a_walk_observed_from_one_party_still_conforms() {
    let cfg = one_person();
    for seed in 0..4 {
        let text = trace_text(cfg, &walk(cfg, seed, 40));
        for party in [Party::SpTsm, Party::Ca] {
            let opts = Options {
                observed: Some(vec![party]),
                ..Options::default()
            };
            let v = verdict(&text, &opts);
            assert!(
                matches!(v, Verdict::Conforms { .. }),
                "seed {seed}, only {party}: {}",
                v.text()
            );
        }
    }
}

#[test]
fn a_changed_message_diverges_at_its_event() {
    let cfg = one_person();
    let mut events = walk(cfg, 3, 40);
    let k = events
        .iter()
        .position(|e| e.kind == jpkisim_traces::EventKind::Deliver)
        .expect("a delivery");
    // Deliver the message to someone else than its addressee.
    events[k].party = if events[k].party == Party::Ca {
        Party::SpTsm
    } else {
        Party::Ca
    };
    let v = verdict(&trace_text(cfg, &events), &Options::default());
    match v {
        Verdict::Diverges { at, nearest, .. } => {
            assert_eq!(at.seq, k as u64 + 1, "{}", at.event);
            let nearest = nearest.expect("something was allowed");
            assert!(
                nearest.diff.iter().any(|d| d.starts_with("party")),
                "{nearest:?}"
            );
        }
        other => panic!("expected a divergence, got {}", other.text()),
    }
}
