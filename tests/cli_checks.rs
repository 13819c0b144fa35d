//! The CLI checks what it can before it works: output paths that cannot be written, flags that
//! contradict `--variant`, out-of-range numbers (one shape of message for all), and a script line
//! that never ends — each refused at once with exit code 2 and one line naming the flag.

use std::process::{Command, Output};

fn jpkisim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(args)
        .output()
        .expect("jpkisim runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_unwritable_record_path_fails_before_any_scenario_runs() {
    let o = jpkisim(&[
        "run",
        "--scenario",
        "issuance-mno",
        "--seed",
        "1",
        "--record",
        "/proc/nope.ndjson",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--record /proc/nope.ndjson: "),
        "{}",
        stderr(&o)
    );
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("issuance-mno:"),
        "no scenario ran: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = jpkisim(&[
        "run",
        "--scenario",
        "all",
        "--seed",
        "1",
        "--record",
        "/proc/nope",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--record /proc/nope: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_directory_as_trace_out_fails_before_the_check_runs() {
    let o = jpkisim(&["check", "--progress", "0", "--trace-out", "/tmp"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--trace-out /tmp: is a directory"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "no check ran");
    let o = jpkisim(&["check", "--progress", "0", "--junit", "/proc/nope.xml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--junit /proc/nope.xml: "),
        "{}",
        stderr(&o)
    );
    let o = jpkisim(&[
        "conform",
        "traces/recorded/model-issuance.ndjson",
        "--itf-out",
        "/tmp",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--itf-out /tmp: is a directory"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "no verdict printed");
    let o = jpkisim(&["matrix", "--quiet", "--junit", "/proc/nope.xml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--junit /proc/nope.xml: "),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty(), "no design checked");
}

#[test]
fn a_flag_that_undoes_the_variants_flaw_is_refused_with_the_reason() {
    let o = jpkisim(&[
        "check",
        "--variant",
        "center_key_plaintext",
        "--keygen",
        "on-se",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("--variant center_key_plaintext needs keygen center")
            && e.contains("the flags give on-se"),
        "{e}"
    );
    assert!(o.stdout.is_empty());
    // A flag the variant does not care about is fine, and so is repeating what it needs.
    let o = jpkisim(&[
        "check",
        "--variant",
        "center_key_plaintext",
        "--keygen",
        "center",
        "--trace-out",
        "/tmp",
    ]);
    assert!(!stderr(&o).contains("needs keygen"), "{}", stderr(&o));
}

#[test]
fn out_of_range_numbers_are_refused_in_one_shape() {
    for (args, flag) in [
        (vec!["check", "--threads", "0"], "--threads"),
        (vec!["check", "--persons", "0"], "--persons"),
        (vec!["check", "--persons", "300"], "--persons"),
        (vec!["explore", "--ses-per-person", "9"], "--ses-per-person"),
        (vec!["matrix", "--persons", "0"], "--persons"),
        (vec!["matrix", "--jobs", "0"], "--jobs"),
    ] {
        let o = jpkisim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        let value = args.last().copied().unwrap_or_default();
        assert!(
            e.starts_with(&format!("error: invalid value '{value}' for '{flag} <"))
                && e.contains(&format!("{value} is not in 1..=")),
            "{args:?}: {e}"
        );
    }
}

#[test]
fn an_apdu_script_line_without_end_stops_with_an_error() {
    let o = jpkisim(&["applet", "--script", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error: /dev/zero:1: line longer than"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_conform_reader_that_closes_the_pipe_early_gets_the_verdict_code_not_a_panic() {
    // `jpkisim conform … --json | head`: the reader is gone before the report is written.
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/traces/recorded/broken-sp-tsm-only-wrong-serial.ndjson"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_jpkisim"))
        .args(["conform", trace, "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start jpkisim");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for jpkisim");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(1), "diverges is exit 1: {err}");
}
