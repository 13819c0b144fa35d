//! Bad traces give one clear error naming the file, line and field; never a panic.

use jpkisim_traces::{ErrorKind, Reader, TraceError};

const GOOD: &str = include_str!("../recorded/model-issuance.ndjson");

fn lines() -> Vec<String> {
    GOOD.lines().map(str::to_owned).collect()
}

fn read_all(text: &str) -> Result<usize, TraceError> {
    let mut r = Reader::new(text.as_bytes(), "t.ndjson")?;
    let mut n = 0;
    for e in r.by_ref() {
        e?;
        n += 1;
    }
    Ok(n)
}

fn error(text: &str) -> TraceError {
    match read_all(text) {
        Err(e) => e,
        Ok(n) => panic!("read {n} events from a bad trace"),
    }
}

fn with_line(i: usize, new: &str) -> String {
    let mut l = lines();
    l[i] = new.to_string();
    l.join("\n") + "\n"
}

#[test]
fn the_good_trace_reads() {
    assert_eq!(read_all(GOOD).expect("reads"), lines().len() - 1);
}

#[test]
fn malformed_json_names_the_line() {
    let e = error(&with_line(3, "{\"seq\": 3, \"kind\": "));
    assert_eq!((e.line, e.field.as_deref()), (4, None));
    assert!(matches!(e.kind, ErrorKind::Json(_)), "{e}");
    assert!(
        e.to_string().starts_with("t.ndjson:4: malformed JSON"),
        "{e}"
    );
}

#[test]
fn an_unknown_message_names_the_msg_field() {
    let l = lines()[2].replace("\"Apply\"", "\"Appply\"");
    let e = error(&with_line(2, &l));
    assert_eq!((e.line, e.field.as_deref()), (3, Some("msg")), "{e}");
    assert!(e.to_string().contains("Appply"), "{e}");
}

#[test]
fn an_unknown_party_names_the_party_field() {
    let l = lines()[1].replace("{\"Applicant\":0}", "{\"Applicant\":7}");
    let e = error(&with_line(1, &l));
    assert_eq!((e.line, e.field.as_deref()), (2, Some("party")), "{e}");
    let l = lines()[1].replace("{\"Applicant\":0}", "\"Notary\"");
    let e = error(&with_line(1, &l));
    assert_eq!((e.line, e.field.as_deref()), (2, Some("party")), "{e}");
    assert!(matches!(e.kind, ErrorKind::Value(_)), "{e}");
}

#[test]
fn a_wrong_version_names_the_version_field() {
    let l = lines()[0].replace("\"version\":1", "\"version\":2");
    let e = error(&with_line(0, &l));
    assert_eq!((e.line, e.field.as_deref()), (1, Some("version")), "{e}");
    assert!(matches!(e.kind, ErrorKind::Version { .. }), "{e}");
    let l = lines()[0].replace("jpkisim-trace", "other-trace");
    let e = error(&with_line(0, &l));
    assert_eq!(e.field.as_deref(), Some("format"), "{e}");
}

#[test]
fn out_of_order_sequence_numbers_name_the_seq_field() {
    let l = lines()[5].replace("\"seq\":5", "\"seq\":2");
    let e = error(&with_line(5, &l));
    assert_eq!((e.line, e.field.as_deref()), (6, Some("seq")), "{e}");
    assert_eq!(
        e.kind,
        ErrorKind::Sequence {
            previous: 4,
            found: 2
        }
    );
}

#[test]
fn a_truncated_last_line_is_called_truncated() {
    let mut text = lines().join("\n");
    let cut = text.len() - 15;
    text.truncate(cut);
    let e = error(&text);
    assert_eq!(e.line, lines().len());
    assert!(matches!(e.kind, ErrorKind::Truncated(_)), "{e}");
}

#[test]
fn unknown_and_missing_fields_and_wrong_shapes_are_named() {
    let l = lines()[1].replacen("{", "{\"colour\":\"red\",", 1);
    let e = error(&with_line(1, &l));
    assert_eq!(
        (e.field.as_deref(), &e.kind),
        (Some("colour"), &ErrorKind::UnknownField)
    );
    let l = lines()[1].replace("\"seq\":1,", "");
    let e = error(&with_line(1, &l));
    assert_eq!(
        (e.field.as_deref(), &e.kind),
        (Some("seq"), &ErrorKind::MissingField)
    );
    // A send without its message.
    let l = lines()[2].clone();
    let cut = l.find(",\"msg\"").expect("a msg field");
    let e = error(&with_line(2, &format!("{}}}", &l[..cut])));
    assert_eq!(e.field.as_deref(), Some("msg"), "{e}");
    assert!(matches!(e.kind, ErrorKind::Shape(_)), "{e}");
}

#[test]
fn an_empty_file_and_a_missing_file_are_errors() {
    assert_eq!(error("").kind, ErrorKind::Empty);
    let e = Reader::open(std::path::Path::new("/nonexistent/trace.ndjson")).expect_err("missing");
    assert!(matches!(e.kind, ErrorKind::Io(_)));
    assert!(e.to_string().contains("/nonexistent/trace.ndjson"));
}
