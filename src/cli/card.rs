//! `jpkisim card`: one emulated phone secure element with a personalized JPKI applet, presented
//! to pcsc-lite as a smart card through vsmartcard's `vpcd` reader driver, so that unmodified
//! PC/SC software (OpenSC's PKCS#11 module, pcsc_scan, JPKI client libraries) logs in and signs
//! against it. docs/pcsc.md says how to set up pcscd and point a client at it.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use jpkisim_card::{
    apdu::{from_hex, to_hex},
    applet::TokenForm,
    testcard,
    timing::{ClockMode, Profile},
    token::{CardContents, CARD_FILES},
    vpcd::{self, Event, Options, VirtualCard, JPKI_CARD_ATR},
};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Address of vsmartcard's vpcd reader driver inside pcscd.
    #[arg(long, value_name = "HOST:PORT", default_value_t = format!("127.0.0.1:{}", vpcd::DEFAULT_PORT))]
    vpcd: String,
    /// Carry the phone SE a test run issued: a card directory `jpkisim run --pki-out DIR` wrote
    /// (DIR itself, or DIR holding exactly one `card-*` directory). Default: the test card.
    #[arg(long, value_name = "DIR")]
    from_run: Option<PathBuf>,
    /// Whose access rules and token label: `phone` (the Android SE: the authentication
    /// certificate only after the PIN) or `card` (the My Number card: that certificate free).
    #[arg(long, value_enum, default_value_t = Form::Phone)]
    token: Form,
    /// SE performance profile: instant, jcop4, sim, or custom:RSA_MS[:PER_COMMAND_MS].
    #[arg(long, default_value = "instant", value_name = "P")]
    profile: Profile,
    /// Answer each command after the profile's on-card time, in wall-clock time.
    #[arg(long, alias = "real-time")]
    realtime: bool,
    /// Tear the card off the reader in the middle of these commands (1-based counts of APDUs
    /// since start, comma separated); it comes back after a second as a re-inserted card.
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',')]
    tear_at: Vec<u64>,
    /// Seconds to keep trying to reach vpcd, at start and whenever it goes away, before giving
    /// up with exit code 2.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    wait: f64,
    /// The ATR to present, in hex (default: the JPKI card's, 3BE000FF8131FE4514).
    #[arg(long, value_name = "HEX")]
    atr: Option<String>,
    /// Print one line per command (header, status word, card time; never data).
    #[arg(long, short)]
    verbose: bool,
}

/// `--token`: which JPKI token the card is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Form {
    /// The Android phone's secure element (JPKIAPGPSETOKEN).
    Phone,
    /// The My Number card (JPKIAPICCTOKEN2).
    Card,
}

/// The contents of the card: the test card, or a card directory a test run exported, as a
/// token of `form`.
pub(crate) fn card_contents(from_run: Option<&Path>, form: Form) -> Result<CardContents, String> {
    let contents = match from_run {
        None => testcard::contents(),
        Some(dir) => testcard::contents()
            .with_files_from(&card_dir(dir)?)
            .map_err(|e| format!("--from-run: {e}"))?,
    };
    Ok(contents.with_form(match form {
        Form::Phone => TokenForm::Phone,
        Form::Card => TokenForm::Card,
    }))
}

/// `dir` if it holds a card, else its only `card-*` subdirectory.
fn card_dir(dir: &Path) -> Result<PathBuf, String> {
    let (first, _) = CARD_FILES[0];
    if dir.join(first).is_file() {
        return Ok(dir.to_path_buf());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("--from-run: cannot read {}: {e}", dir.display()))?;
    let mut cards: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("card-"))
                && p.join(first).is_file()
        })
        .collect();
    cards.sort();
    match cards.len() {
        1 => Ok(cards.remove(0)),
        0 => Err(format!(
            "--from-run: no card in {}: expected {first} there or in one card-* directory, as \
             `jpkisim run --pki-out DIR` writes for each phone SE it personalized",
            dir.display()
        )),
        _ => Err(format!(
            "--from-run: {} holds {} cards; pass one of: {}",
            dir.display(),
            cards.len(),
            cards
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

pub(crate) fn run(args: Args) -> ExitCode {
    match start(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn start(args: Args) -> Result<ExitCode, String> {
    let atr = match &args.atr {
        None => JPKI_CARD_ATR.to_vec(),
        Some(h) => {
            let atr = from_hex(h).map_err(|e| format!("--atr: {e}"))?;
            if !(2..=33).contains(&atr.len()) {
                return Err(format!(
                    "--atr: an ATR has 2 to 33 bytes, this one {}",
                    atr.len()
                ));
            }
            atr
        }
    };
    if !(0.0..=86_400.0).contains(&args.wait) {
        return Err(format!(
            "--wait: {} is not between 0 and 86400 seconds",
            args.wait
        ));
    }
    let contents = card_contents(args.from_run.as_deref(), args.token)?;
    let clock = if args.realtime {
        ClockMode::RealTime
    } else {
        ClockMode::Simulated
    };
    let se = testcard::personalized_se_with(&contents, args.profile, clock).map_err(|e| {
        format!("the emulated TSM could not personalize the card with that material: {e}")
    })?;
    let source = match &args.from_run {
        Some(d) => format!("the SE exported in {}", d.display()),
        None => "the test card".to_owned(),
    };
    let kind = match args.token {
        Form::Phone => "JPKI phone token",
        Form::Card => "JPKI card token",
    };
    eprintln!(
        "jpkisim card: {kind} ({source}), ATR {}, profile {}{}; PINs in docs/pcsc.md",
        to_hex(&atr),
        args.profile,
        if args.realtime { ", real time" } else { "" }
    );
    let tear_at: BTreeSet<u64> = args.tear_at.iter().copied().collect();
    let mut card = VirtualCard::new(se, atr, tear_at);
    let opts = Options {
        addr: args.vpcd.clone(),
        wait: Duration::from_secs_f64(args.wait),
        ..Options::local()
    };
    let verbose = args.verbose;
    let err = vpcd::run(&mut card, &opts, &mut |e: &Event| {
        let shown = match e {
            // pcscd asks for the ATR every few hundred milliseconds to see the card is there.
            Event::Control(vpcd::Message::GetAtr) => false,
            Event::Command { .. } | Event::Control(_) => verbose,
            Event::Connected { .. } | Event::Torn { .. } | Event::ReaderGone { .. } => true,
        };
        if shown {
            eprintln!("jpkisim card: {e}");
        }
    });
    Err(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_dir_finds_the_only_card_and_names_the_choices() {
        let root = tempfile::tempdir().expect("temp dir");
        let err = card_dir(root.path()).expect_err("empty");
        assert!(err.contains("no card in"), "{err}");
        for name in ["card-se0", "card-se1"] {
            let d = root.path().join(name);
            std::fs::create_dir(&d).expect("mkdir");
            std::fs::write(d.join("auth_cert.der"), b"0").expect("write");
        }
        let err = card_dir(root.path()).expect_err("two");
        assert!(
            err.contains("holds 2 cards") && err.contains("card-se1"),
            "{err}"
        );
        std::fs::remove_dir_all(root.path().join("card-se1")).expect("rm");
        assert_eq!(
            card_dir(root.path()).expect("one"),
            root.path().join("card-se0")
        );
    }
}
