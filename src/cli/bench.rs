//! `jpkisim bench`: measurements on this machine. `bench applet` times the signing path through
//! the emulated secure element against a bare `rsa` signature of the same DigestInfo in the same
//! run and prints the overhead ratio; `bench check` runs our exploration engine and Stateright's
//! on the same configurations in one run and prints the ratios (figures recorded in
//! docs/performance.md).

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
    /// Our exploration engine against Stateright's depth-first checker, same configurations,
    /// same run: classes/s per core and per CPU second, bytes per state, wall time, ratios.
    Check(CheckArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Worker threads for both engines (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only this configuration (repeatable): default, persons-1, persons-3, gp-se.
    #[arg(long = "case", value_name = "NAME")]
    cases: Vec<String>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
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
        What::Check(a) => check(&a),
    }
}

fn check(a: &CheckArgs) -> ExitCode {
    use jpkisim_checker::bench::{compare, CASES};
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let mut cases = Vec::new();
    for name in &a.cases {
        match CASES.iter().find(|c| c.name == name) {
            Some(c) => cases.push(*c),
            None => {
                let known: Vec<&str> = CASES.iter().map(|c| c.name).collect();
                eprintln!(
                    "error: bench check: unknown case {name}; known: {}",
                    known.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    if cases.is_empty() {
        cases = CASES.to_vec();
    }
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut results = Vec::new();
    for case in &cases {
        eprintln!("bench check: {} ({} threads)...", case.name, threads);
        match compare(case, threads) {
            Ok(c) => results.push(c),
            Err(e) => {
                eprintln!("error: bench check: {}: {e}", case.name);
                return ExitCode::from(2);
            }
        }
    }
    if a.json {
        let out = serde_json::json!({
            "build": build,
            "threads": threads,
            "comparisons": results,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("bench check: Stateright 0.31 depth-first vs our breadth-first engine, {threads} thread(s) each, {build} build");
        println!(
            "{:<10} {:<10} {:>10} {:>8} {:>8} {:>11} {:>11} {:>9} {:>8}",
            "case",
            "engine",
            "classes",
            "wall s",
            "cpu s",
            "cl/s/core",
            "cl/cpu-s",
            "B/state",
            "peak MiB"
        );
        for c in &results {
            for r in [&c.stateright, &c.ours] {
                let engine = match r.engine {
                    jpkisim_checker::check::Engine::Ours => "ours",
                    jpkisim_checker::check::Engine::Stateright => "stateright",
                };
                let opt = |v: Option<f64>, prec: usize| {
                    v.map_or_else(|| "-".to_string(), |x| format!("{x:.prec$}"))
                };
                println!(
                    "{:<10} {:<10} {:>10} {:>8.1} {:>8} {:>11.0} {:>11} {:>9} {:>8}",
                    c.case,
                    engine,
                    r.unique_states,
                    r.seconds,
                    opt(r.cpu_seconds, 1),
                    r.classes_per_second_per_core,
                    opt(r.classes_per_cpu_second, 0),
                    opt(r.bytes_per_state, 1),
                    opt(r.peak_mib, 0),
                );
            }
            println!(
                "{:<10} ratio ours/stateright: {:.2}x per core (wall), {} per CPU second{}",
                c.case,
                c.ratio_per_core,
                c.ratio_per_cpu_second
                    .map_or_else(|| "-".to_string(), |r| format!("{r:.2}x")),
                if c.agree {
                    ""
                } else {
                    "  -- THE ENGINES DISAGREE (counts or verdicts)"
                }
            );
        }
    }
    if results.iter().all(|c| c.agree) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
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

use jpkisim_checker::engine::progress::peak_mib;

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
