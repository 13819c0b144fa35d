//! `jpkisim applet`: an APDU console against a freshly personalized emulated secure element (the
//! test card of `jpkisim_reference::testcard`: auth PIN 1234, signing password JPKISIM1). One hex
//! command per line in; the response data and status word out, one line each, so that a script's
//! output can be compared with a file. Blank lines and `#` comments are ignored.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Write},
    path::PathBuf,
    process::ExitCode,
};

use jpkisim_reference::{
    console, testcard,
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
    #[arg(long)]
    real_time: bool,
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
    let mut se = match testcard::personalized_se(args.profile, clock) {
        Ok(se) => se,
        Err(e) => {
            eprintln!("error: personalizing the test card failed: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = io::stdout().lock();
    for (i, line) in input.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {name}:{}: {e}", i + 1);
                return ExitCode::from(2);
            }
        };
        let exchange = match console::run_line(&mut se, &line) {
            Ok(Some(ex)) => ex,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("error: {name}:{}: bad hex: {e}", i + 1);
                return ExitCode::from(2);
            }
        };
        let mut text = console::format_response(&exchange.response);
        if args.timings {
            text.push_str(&format!("\n# timing: {}", exchange.timing.summary()));
        }
        // A closed pipe (e.g. `| head`) ends the session quietly.
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return ExitCode::SUCCESS;
        }
    }
    ExitCode::SUCCESS
}
