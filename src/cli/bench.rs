//! `jpkisim bench`: measurements on this machine. `bench applet` times the signing path through
//! the emulated secure element against a bare `rsa` signature of the same DigestInfo in the same
//! run and prints the overhead ratio (figures recorded in docs/performance.md).

use std::{process::ExitCode, time::Duration};

use jpkisim_reference::{bench, timing::Profile};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Per-stage latency of COMPUTE DIGITAL SIGNATURE vs a bare rsa signature.
    Applet(AppletArgs),
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
    println!(
        "  DigestInfo check                {}",
        us(r.digest_info_check)
    );
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
