//! `jpkisim applet`: an APDU console against a freshly personalized emulated secure element (the
//! test card of `jpkisim_card::testcard`: auth PIN 1234, signing password JPKISIM1; or with
//! `--from-run` the phone SE a test run exported). One hex command per line in; the response data
//! and status word out, one line each, so that a script's output can be compared with a file.
//! Blank lines and `#` comments are ignored. The card is the one `jpkisim card` presents over
//! PC/SC, so a script here answers as a PC/SC client's commands do there.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Write},
    path::PathBuf,
    process::ExitCode,
};

use jpkisim_card::{
    console,
    se::SecureElement,
    timing::{ClockMode, Profile},
};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Script with one hex APDU per line (`-` or absent: standard input).
    #[arg(long, value_name = "FILE|-")]
    script: Option<PathBuf>,
    /// SE performance profile: instant, jcop4, sim, or custom:RSA_MS[:PER_COMMAND_MS].
    #[arg(long, default_value = "instant", value_name = "P")]
    profile: Profile,
    /// After each response, print its timing record as a `# timing:` line.
    #[arg(long)]
    timings: bool,
    /// Sleep for the profile's card time instead of advancing a simulated clock.
    #[arg(long, alias = "realtime")]
    real_time: bool,
    /// Personalize the card with the phone SE a test run exported (`jpkisim run --pki-out DIR`;
    /// as for `jpkisim card --from-run`).
    #[arg(long, value_name = "DIR")]
    from_run: Option<PathBuf>,
    /// `phone` (default) or `card` access rules and token label, as for `jpkisim card --token`.
    #[arg(long, value_enum, default_value_t = super::card::Form::Phone)]
    token: super::card::Form,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let (name, input): (String, Box<dyn BufRead>) = match &args.script {
        Some(path) if path.as_os_str() != "-" => match File::open(path) {
            Ok(f) => (path.display().to_string(), Box::new(BufReader::new(f))),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        _ => ("<stdin>".to_owned(), Box::new(io::stdin().lock())),
    };
    let clock = if args.real_time {
        ClockMode::RealTime
    } else {
        ClockMode::Simulated
    };
    let contents = match super::card::card_contents(args.from_run.as_deref(), args.token) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut se = match jpkisim_card::testcard::personalized_se_with(&contents, args.profile, clock)
    {
        Ok(se) => se,
        Err(e) => {
            eprintln!("error: personalizing the card failed: {e}");
            return ExitCode::from(if args.from_run.is_some() { 2 } else { 1 });
        }
    };
    match console_session(&mut se, input, &mut io::stdout().lock(), args.timings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Closed) => ExitCode::SUCCESS, // a closed pipe (e.g. `| head`) ends quietly
        Err(Stop::Input { line, message }) => {
            eprintln!("error: {name}:{line}: {message}");
            ExitCode::from(2)
        }
    }
}

/// Why a console session ended early.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// Output could not be written.
    Closed,
    /// A line could not be read or is not hex (1-based line number).
    Input { line: usize, message: String },
}

/// The longest script line read: an extended APDU is at most 65,544 bytes, 131,088 hex digits;
/// room is left for spaces between them. A longer line (`--script /dev/zero`) is an error, not a
/// read that grows until memory runs out.
const MAX_LINE: usize = 4 * 65_544;

/// One line of `input` without its line break, at most [`MAX_LINE`] bytes; `None` at the end.
fn read_line(input: &mut impl BufRead, line_no: usize) -> Result<Option<String>, Stop> {
    let mut buf = Vec::new();
    loop {
        let chunk = input.fill_buf().map_err(|e| Stop::Input {
            line: line_no,
            message: e.to_string(),
        })?;
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > MAX_LINE + 2 {
            return Err(Stop::Input {
                line: line_no,
                message: format!(
                    "line longer than {MAX_LINE} characters (an APDU is at most 65,544 bytes)"
                ),
            });
        }
        buf.extend_from_slice(&chunk[..take]);
        input.consume(take);
        if done {
            break;
        }
    }
    if buf.is_empty() {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    String::from_utf8(buf).map(Some).map_err(|_| Stop::Input {
        line: line_no,
        message: "not UTF-8 text".into(),
    })
}

/// Runs every line of `input` against `se`, writing one response line per command.
fn console_session(
    se: &mut SecureElement,
    mut input: impl BufRead,
    out: &mut impl Write,
    timings: bool,
) -> Result<(), Stop> {
    let mut i = 0;
    while let Some(line) = read_line(&mut input, i + 1)? {
        i += 1;
        let i = i - 1;
        let exchange = match console::run_line(se, &line) {
            Ok(Some(ex)) => ex,
            Ok(None) => continue,
            Err(e) => {
                return Err(Stop::Input {
                    line: i + 1,
                    message: format!("bad hex: {e}"),
                })
            }
        };
        let mut text = console::format_response(&exchange.response);
        if timings {
            text.push_str(&format!("\n# timing: {}", exchange.timing.summary()));
        }
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|_| Stop::Closed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> SecureElement {
        jpkisim_card::testcard::personalized_se(Profile::Instant, ClockMode::Simulated)
            .expect("test card")
    }

    /// The reference crate's golden login script gives its golden output through the console.
    #[test]
    fn golden_login_script_through_the_console() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("card/tests/golden");
        let script = std::fs::read_to_string(root.join("login.apdu")).expect("script");
        let expected = std::fs::read_to_string(root.join("login.out")).expect("expected output");
        let mut out = Vec::new();
        assert_eq!(
            console_session(&mut card(), script.as_bytes(), &mut out, false),
            Ok(())
        );
        assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
    }

    #[test]
    fn bad_hex_names_the_line_after_running_the_lines_before() {
        let script =
            "# select\n00A4040C0AD392F000260100000001\n\n00 A4 02 0C 02 00 1X\n00B0000004\n";
        let mut out = Vec::new();
        let stop = console_session(&mut card(), script.as_bytes(), &mut out, true);
        assert_eq!(
            stop,
            Err(Stop::Input {
                line: 4,
                message: "bad hex: 'X' at column 20 is not a hex digit".to_owned()
            })
        );
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("9000\n# timing: transport_us="), "{text}");
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn an_endless_line_stops_with_its_number_instead_of_filling_memory() {
        let script = format!("00B0000004\n{}", "0".repeat(MAX_LINE + 10));
        let mut out = Vec::new();
        let stop = console_session(&mut card(), script.as_bytes(), &mut out, false);
        match stop {
            Err(Stop::Input { line: 2, message }) => {
                assert!(message.starts_with("line longer than"), "{message}")
            }
            other => panic!("expected a stop at line 2, got {other:?}"),
        }
        assert_eq!(String::from_utf8(out).expect("utf-8").lines().count(), 1);
    }
}
