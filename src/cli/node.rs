//! `jpkisim node`: one party of the reference implementation as its own OS process, on the UDP
//! socket its peers file gives it, taking steps from the run's director only. `jpkisim run
//! --transport processes` starts one per party; started by hand it serves a director the same
//! way. A durable party (`ca`, `sp-tsm`, `se-tsm`) keeps its state in `DIR/<name>.db` and, started
//! on a database that holds a state, restarts from it. Exit 0 when the director ends the run, 2
//! on a bad peers file, an unknown party or a database that cannot be used (the message names
//! the file).

use std::path::PathBuf;
use std::process::ExitCode;

use jpkisim_reference::runtime::processes::party;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Which party: ca, sp-tsm, se-tsm, rp, mvno, applicant-N, se-N, intruder (as the peers
    /// file names them).
    #[arg(long)]
    party: String,
    /// Where a durable party keeps its database.
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
    /// The run's peers file (JSON: configuration, seed, the director's and every party's
    /// socket), as `jpkisim run --transport processes` writes it.
    #[arg(long, value_name = "FILE")]
    peers: PathBuf,
}

pub(crate) fn run(args: Args) -> ExitCode {
    match party::serve(&args.party, &args.state_dir, &args.peers) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
