//! `timeout` events: a recorded timer is the model's `Timeout` step of that party (whichever of
//! its armed timers makes the sends that follow match), and a timer that the party's state does
//! not arm is refused with the reason in words.

use jpkisim_traces::conform::{conform, parse_party, Options, Verdict};
use jpkisim_traces::{Event, EventKind, Reader, Recorder};
use std::path::PathBuf;

fn recorded(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("recorded")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn verdict(text: &str, opts: &Options) -> Verdict {
    let mut r = Reader::new(text.as_bytes(), "trace").expect("header");
    conform(&mut r, opts).expect("trace reads")
}

/// The trace's header and events.
fn parse(text: &str) -> (jpkisim_traces::Header, Vec<Event>) {
    let mut r = Reader::new(text.as_bytes(), "trace").expect("header");
    let header = r.header().clone();
    let events = r.by_ref().map(|e| e.expect("event")).collect();
    (header, events)
}

/// `events` with `extra` inserted before index `at`, renumbered 1, 2, ….
fn with_event(text: &str, at: usize, extra: Event) -> String {
    let (header, mut events) = parse(text);
    events.insert(at, extra);
    let mut rec = Recorder::new(Vec::new(), &header).expect("header");
    for (i, e) in events.into_iter().enumerate() {
        rec.record(Event {
            seq: i as u64 + 1,
            ..e
        })
        .expect("event");
    }
    String::from_utf8(rec.into_inner().expect("flush")).expect("utf-8")
}

const WITH_TIMEOUTS: &str = "scenario-faults-issuance-mail.ndjson";

#[test]
fn a_trace_with_timeouts_conforms_fully_observed_and_from_the_sp_tsm_alone() {
    let text = recorded(WITH_TIMEOUTS);
    let (_, events) = parse(&text);
    let timeouts = events
        .iter()
        .filter(|e| e.kind == EventKind::Timeout)
        .count();
    assert!(
        timeouts >= 2,
        "the golden records retries ({timeouts} timeouts)"
    );
    for observed in [None, Some("sp-tsm"), Some("ca")] {
        let opts = Options {
            observed: observed.map(|p| vec![parse_party(p).expect("party")]),
            ..Options::default()
        };
        let v = verdict(&text, &opts);
        assert!(
            matches!(v, Verdict::Conforms { .. }),
            "{observed:?}: {}",
            v.text()
        );
    }
}

#[test]
fn a_timeout_where_the_party_arms_no_timer_is_refused_in_words() {
    let text = recorded(WITH_TIMEOUTS);
    // Before the application, the SP-TSM has no session and arms no timer.
    let sp_tsm = parse_party("sp-tsm").expect("party");
    let v = verdict(
        &with_event(&text, 0, Event::timeout(sp_tsm)),
        &Options::default(),
    );
    let Verdict::Diverges { at, why, .. } = &v else {
        panic!("expected a divergence: {}", v.text());
    };
    assert_eq!(at.seq, 1, "{}", v.text());
    assert!(
        why.iter()
            .any(|w| w
                .contains("a timer of SP-TSM fires here, but the SP-TSM's state arms no timer")),
        "{}",
        v.text()
    );
}

#[test]
fn a_timeout_of_a_party_without_timers_is_refused_and_the_configuration_named() {
    // A fault-free recording: nothing is lost, so no party arms a timer at all.
    let text = recorded("scenario-issuance-mno.ndjson");
    let ca = parse_party("ca").expect("party");
    let v = verdict(
        &with_event(&text, 3, Event::timeout(ca)),
        &Options::default(),
    );
    let Verdict::Diverges { at, why, .. } = &v else {
        panic!("expected a divergence: {}", v.text());
    };
    assert_eq!(at.seq, 4, "{}", v.text());
    assert!(
        why.iter().any(|w| w.contains("arms no timers at all")),
        "{}",
        v.text()
    );
}

#[test]
fn a_timeout_whose_sends_are_not_the_timers_step_diverges() {
    // The SP-TSM's first retry, with the message it re-sends changed into another person's: no
    // armed timer sends that.
    let text = recorded(WITH_TIMEOUTS);
    let (_, events) = parse(&text);
    let t = events
        .iter()
        .position(|e| e.kind == EventKind::Timeout)
        .expect("a timeout");
    let send = events[t + 1..]
        .iter()
        .position(|e| e.kind == EventKind::Send && e.party == events[t].party)
        .map(|i| t + 1 + i)
        .expect("the retry's send");
    let line = serde_json::to_string(&events[send]).expect("json");
    let edited: Event =
        serde_json::from_str(&line.replace("\"person\":0", "\"person\":1")).expect("json");
    assert_ne!(edited, events[send], "the edit changed the send");
    let mut out = text.lines().map(str::to_string).collect::<Vec<_>>();
    out[send + 1] = serde_json::to_string(&edited).expect("json");
    let v = verdict(&(out.join("\n") + "\n"), &Options::default());
    let Verdict::Diverges { at, .. } = &v else {
        panic!("expected a divergence: {}", v.text());
    };
    assert_eq!(at.seq, events[send].seq, "{}", v.text());
}
