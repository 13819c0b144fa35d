//! `jpkisim bench`: measurements on this machine. `bench applet` times the signing path through
//! the emulated secure element against a bare `rsa` signature of the same DigestInfo in the same
//! run and prints the overhead ratio (figures recorded in docs/performance.md).

use std::{process::ExitCode, time::Duration};

use jpkisim_card::{bench, timing::Profile};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Per-stage latency of COMPUTE DIGITAL SIGNATURE vs a bare rsa signature.
    Applet(AppletArgs),
    /// Throughput of `conform` on a long generated trace: events per second, peak memory.
    Conform(ConformArgs),
}

#[derive(clap::Args)]
struct ConformArgs {
    /// Events in the generated trace (at least).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Seed of the random walk that generates it.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(clap::Args)]
struct AppletArgs {
    /// Signatures on each side (medians are reported).
    #[arg(long, default_value_t = 50)]
    iterations: usize,
    /// SE performance profile for the card-time line.
    #[arg(long, default_value = "jcop4", value_name = "P")]
    profile: Profile,
}

pub(crate) fn run(args: Args) -> ExitCode {
    match args.what {
        What::Applet(a) => applet(&a),
        What::Conform(a) => conform(&a),
    }
}

fn us(d: Duration) -> String {
    format!("{:>10.1} µs", d.as_secs_f64() * 1e6)
}

fn applet(a: &AppletArgs) -> ExitCode {
    let r = match bench::signing_path(a.iterations, a.profile) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: bench applet: {e}");
            return ExitCode::from(1);
        }
    };
    let build = if cfg!(debug_assertions) {
        "debug (crypto crates at opt-level 3)"
    } else {
        "release"
    };
    println!(
        "bench applet: {} RSA-2048 signatures each way, medians, {build} build",
        r.iterations
    );
    println!("  transport (APDU parse + encode) {}", us(r.transport));
    println!("  input check (P1 scheme)         {}", us(r.input_check));
    println!("  RSA in the applet (blinded)     {}", us(r.rsa));
    println!("  SE total, measured              {}", us(r.measured));
    println!("  end to end (transmit)           {}", us(r.end_to_end));
    println!("  bare rsa signature, same input  {}", us(r.bare_rsa));
    println!("  overhead ratio (end to end / bare): {:.3}", r.ratio());
    println!(
        "  card time under profile {}: {:.1} ms",
        a.profile,
        r.card_time.as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}

/// Peak resident memory of this process so far (VmHWM), in MiB, where /proc has it.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn conform(a: &ConformArgs) -> ExitCode {
    use jpkisim_traces::conform::{conform_file, Options, Verdict};
    use jpkisim_traces::{Header, Recorder};
    use std::time::Instant;
    // A duplicating network: replayed messages keep a run going past the budgets, so one
    // behaviour of the model can be millions of events long.
    let mut cfg = jpkisim_model::Config {
        persons: 1,
        ..Default::default()
    };
    cfg.network.duplicating = true;
    let model = match jpkisim_model::build(cfg) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: bench conform: {e}");
            return ExitCode::from(2);
        }
    };
    let path = std::env::temp_dir().join(format!(
        "jpkisim-bench-conform-{}.ndjson",
        std::process::id()
    ));
    let t0 = Instant::now();
    let written = (|| -> std::io::Result<u64> {
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let all = jpkisim_model::Topology::of(&cfg).parties();
        let mut rec = Recorder::new(file, &Header::new(cfg, all).with_source("bench conform"))?;
        let mut n = 0u64;
        let mut err = None;
        jpkisim_traces::generate::random_walk(&model, a.seed, u64::MAX, 90, |e| {
            match rec.record(e) {
                Ok(_) => n += 1,
                Err(e) => err = Some(e),
            }
            n < a.events && err.is_none()
        });
        if let Some(e) = err {
            return Err(e);
        }
        rec.into_inner()?;
        Ok(n)
    })();
    let events = match written {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: bench conform: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let generated = t0.elapsed();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let peak_before = peak_mib();
    let t1 = Instant::now();
    let verdict = conform_file(&path, &Options::default());
    let checked = t1.elapsed();
    let _ = std::fs::remove_file(&path);
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("bench conform: {events} events ({:.0} MB NDJSON), random walk seed {}, 1 person, duplicating network, {build} build", size as f64 / 1e6, a.seed);
    println!("  generate + write   {:>8.2} s", generated.as_secs_f64());
    println!(
        "  conform            {:>8.2} s  ({:.0} events/s)",
        checked.as_secs_f64(),
        events as f64 / checked.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (peak_before, peak_mib()) {
        println!(
            "  peak memory (VmHWM) {before:.1} MiB after generation, {after:.1} MiB after conform"
        );
    }
    match verdict {
        Ok(v @ Verdict::Conforms { .. }) => {
            print!("  {}", v.text());
            if events < a.events {
                println!("  (the walk ended after {events} events: nothing was enabled any more)");
            }
            ExitCode::SUCCESS
        }
        Ok(v) => {
            eprintln!(
                "error: bench conform: the generated trace did not conform:\n{}",
                v.text()
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: bench conform: {e}");
            ExitCode::from(2)
        }
    }
}
