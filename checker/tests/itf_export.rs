//! A counterexample's ITF export (what `check --trace-out` writes) reads back as a jpkisim trace
//! that conforms to the model.

use jpkisim_traces::conform::{conform_slice, Options, Verdict};
use jpkisim_traces::itf::read_trace;
use jpkisim_traces::Event;

#[test]
fn an_itf_model_path_becomes_a_conforming_trace() {
    let cfg = jpkisim_model::Config {
        persons: 1,
        ..Default::default()
    };
    let p = jpkisim_properties::catalogue::by_id("issued").expect("property");
    let found = jpkisim_checker::shortest::shortest_paths(cfg, &[p]).expect("search");
    let cex = found.into_iter().next().flatten().expect("a witness");
    let (header, events) = read_trace(&cex.itf(), None).expect("model path reads");
    assert!(events.len() > cex.depth());
    let numbered: Vec<(Event, usize)> = events.into_iter().zip(1..).collect();
    let v = conform_slice(&header, &numbered, &Options::default()).expect("checks");
    assert!(matches!(v, Verdict::Conforms { .. }), "{}", v.text());
}
