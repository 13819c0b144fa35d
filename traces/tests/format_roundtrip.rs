//! The writer's output reads back to the same header and events.

use jpkisim_model::actors::PartyChoice;
use jpkisim_model::applicant::Choice;
use jpkisim_model::ids::{Party, PersonId, SeId};
use jpkisim_model::msg::Msg;
use jpkisim_model::Config;
use jpkisim_traces::{Event, Fault, Header, Reader, Recorder};

#[test]
fn recorded_events_read_back_numbered_and_unchanged() {
    let cfg = Config {
        persons: 1,
        ..Config::default()
    };
    let observed = vec![
        Party::Applicant(PersonId(0)),
        Party::Se(SeId(0)),
        Party::SpTsm,
    ];
    let header = Header::new(cfg, observed).with_source("test");
    let events = vec![
        Event::choice(
            Party::Applicant(PersonId(0)),
            PartyChoice::Applicant(Choice::Apply { se: SeId(0) }),
        )
        .at(17),
        Event::send(Party::Applicant(PersonId(0)), Party::Se(SeId(0)), Msg::Boot)
            .with_evidence("sig", "ab12cd34"),
        Event::deliver(Party::Se(SeId(0)), Party::Applicant(PersonId(0)), Msg::Boot),
        Event::fault(
            Fault::Duplicated,
            Party::Se(SeId(0)),
            Party::Ca,
            Msg::LockApplet,
        ),
        Event::timeout(Party::Se(SeId(0))),
        Event::crash(Party::SpTsm),
        Event::restart(Party::SpTsm),
    ];
    let mut rec = Recorder::new(Vec::new(), &header).expect("header written");
    for (i, e) in events.iter().enumerate() {
        let seq = rec.record(e.clone()).expect("event written");
        assert_eq!(seq, i as u64 + 1);
    }
    let bytes = rec.into_inner().expect("flushed");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert_eq!(text.lines().count(), 1 + events.len());

    let mut reader = Reader::new(text.as_bytes(), "mem").expect("header reads");
    assert_eq!(reader.header(), &header);
    let back: Vec<Event> = reader.by_ref().map(|e| e.expect("event reads")).collect();
    assert_eq!(back.len(), events.len());
    for (i, (a, b)) in back.iter().zip(&events).enumerate() {
        let mut expected = b.clone();
        expected.seq = i as u64 + 1;
        assert_eq!(a, &expected);
    }
}

/// Traces recorded before flaws and compromised parties were written by name (bit sets) still
/// read, meaning what they meant then; a bit no flaw ever had is an error naming the file and line.
#[test]
fn a_header_with_the_old_numbered_sets_reads_with_their_old_meaning() {
    let golden = include_str!("../recorded/flawed-skip-issued-check.ndjson");
    let (header, rest) = golden.split_once('\n').expect("a header line");
    assert!(
        header.contains(r#""flaws":["skip_issued_check"]"#),
        "{header}"
    );
    let named = Reader::new(golden.as_bytes(), "named").expect("reads");
    let old = format!(
        "{}\n{rest}",
        header
            .replace(r#""flaws":["skip_issued_check"]"#, r#""flaws":1"#)
            .replace(r#""compromised":[]"#, r#""compromised":0"#)
    );
    let legacy = Reader::new(old.as_bytes(), "legacy").expect("the old header reads");
    assert_eq!(legacy.header(), named.header());

    let unknown = format!(
        "{}\n{rest}",
        header.replace(r#""flaws":["skip_issued_check"]"#, r#""flaws":131072"#)
    );
    let e = Reader::new(unknown.as_bytes(), "unknown.ndjson").expect_err("a bit no flaw had");
    let text = e.to_string();
    assert!(
        text.contains("unknown.ndjson") && text.contains("list of names"),
        "{text}"
    );
}
