//! A trace written as ITF reads back to the same events and verdict; ITF reading is lenient.
//! (That a counterexample's ITF export reads back as a conforming trace is tested in the checker.)

use jpkisim_traces::itf::{read_trace, write};
use jpkisim_traces::{Event, Reader};

fn golden(name: &str) -> (jpkisim_traces::Header, Vec<Event>) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("recorded")
        .join(name);
    let mut r = Reader::open(&path).expect("golden opens");
    let events = r
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("golden reads");
    (r.header().clone(), events)
}

#[test]
fn itf_round_trip_keeps_events_and_verdict() {
    let (header, events) = golden("model-login-accepted.ndjson");
    let doc = write(&header, &events);
    let itf_crate: Result<itf::Trace<itf::Value>, _> =
        itf::trace_from_str(&serde_json::to_string(&doc).expect("json"));
    assert!(
        itf_crate.is_ok(),
        "the itf crate reads it: {:?}",
        itf_crate.err()
    );
    let (h2, e2) = read_trace(&doc, None).expect("reads back");
    assert_eq!(h2.config, header.config);
    assert_eq!(h2.observed, header.observed);
    assert_eq!(e2, events);
}

#[test]
fn plain_numbers_and_no_meta_are_accepted_with_a_given_config() {
    let (header, events) = golden("model-issuance.ndjson");
    let mut doc = write(&header, &events);
    // Drop #meta and write integers as plain numbers.
    let text = serde_json::to_string(&doc).expect("json");
    let plain = regex_free_unbigint(&text);
    doc = serde_json::from_str(&plain).expect("still json");
    doc.as_object_mut().expect("object").remove("#meta");
    assert!(read_trace(&doc, None).is_err(), "no configuration anywhere");
    let (_, e2) = read_trace(&doc, Some(header.config)).expect("lenient read");
    assert_eq!(e2, events);
}

/// `{"#bigint":"12"}` → `12`, without a regex crate.
fn regex_free_unbigint(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{\"#bigint\":\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 12..];
        let end = after.find("\"}").expect("closing");
        out.push_str(&after[..end]);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}
