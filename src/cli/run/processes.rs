//! `jpkisim run --transport processes [--crash N]`: each scenario's parties as OS processes, the
//! crashes spread over the scenarios, each scenario's databases audited, and the tally printed.

use std::path::{Path, PathBuf};

use jpkisim_model::Topology;
use jpkisim_reference::runtime::processes::{self, CrashPlan, CrashPoint};
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario::Scenario;
use jpkisim_traces::Header;

use super::{numbered_log, per_scenario, safety_count, summary, write_trace};

/// What a processes run has done so far, over its scenarios.
pub(super) struct Tally {
    asked: u32,
    left: u32,
    seed: u64,
    root: PathBuf,
    /// The state directory was made up for this run (removed when every scenario passed).
    temporary: bool,
    injected: u32,
    committed_in_doubt: u32,
    lost_in_doubt: u32,
    phone_certificates: usize,
    audited: usize,
    problems: usize,
}

impl Tally {
    /// A tally for `crash` crashes under `seed`, keeping the databases under `state_dir` (a
    /// fresh directory under the system's temporary one when absent).
    pub(super) fn new(crash: u32, seed: u64, state_dir: Option<&Path>) -> Tally {
        let (root, temporary) = match state_dir {
            Some(d) => (d.to_path_buf(), false),
            None => (
                std::env::temp_dir()
                    .join(format!("jpkisim-processes-{}-{seed}", std::process::id())),
                true,
            ),
        };
        Tally {
            asked: crash,
            left: crash,
            seed,
            root,
            temporary,
            injected: 0,
            committed_in_doubt: 0,
            lost_in_doubt: 0,
            phone_certificates: 0,
            audited: 0,
            problems: 0,
        }
    }

    /// Plays scenario `s` with every party a process: `remaining` scenarios are left including
    /// this one, which gets its share of the crashes not yet injected.
    pub(super) fn play(
        &mut self,
        s: &Scenario,
        remaining: usize,
        many: bool,
        faults: Faults,
        quiet: bool,
        record: Option<&Path>,
    ) -> Result<String, String> {
        let share = self
            .left
            .div_ceil(u32::try_from(remaining.max(1)).unwrap_or(u32::MAX));
        let plan = CrashPlan::new(share, self.seed, s.name);
        let dir = per_scenario(&self.root, s, many);
        let program = std::env::current_exe()
            .map_err(|e| format!("cannot find this program to start the parties: {e}"))?;
        let run = processes::play(s, self.seed, faults, &program, &dir, plan)
            .map_err(|e| format!("{e} (the parties' logs are in {})", dir.display()))?;
        let crashes = run.crashes.len() as u32;
        self.injected += crashes;
        self.left = self.left.saturating_sub(crashes);
        for c in &run.crashes {
            match (c.point, c.committed) {
                (CrashPoint::DuringStep, Some(true)) => self.committed_in_doubt += 1,
                (CrashPoint::DuringStep, _) => self.lost_in_doubt += 1,
                _ => {}
            }
        }
        if !quiet {
            println!("== {} — {} (processes)", s.name, s.summary);
            for line in numbered_log(&run.journal.log, &run.journal.trace) {
                println!("{line}");
            }
        }
        let cfg = run.config;
        if let Some(path) = record {
            let header = Header::new(cfg, Topology::of(&cfg).parties()).with_source(format!(
                "jpkisim run --scenario {} --seed {} --transport processes{}",
                s.name,
                self.seed,
                if self.asked > 0 {
                    format!(" --crash {}", self.asked)
                } else {
                    String::new()
                }
            ));
            write_trace(path, &header, &run.journal.trace)?;
        }
        let outcome = run.result.map_err(|e| e.to_string())?;
        let mut line = summary(&outcome, run.journal.trace.len(), safety_count(&cfg));
        line.push_str(&format!("; {crashes} crash(es) injected"));
        if let Some(audit) = run.audit {
            self.audited += 1;
            self.phone_certificates += audit.phone_certificates;
            if audit.nothing_lost() {
                line.push_str(&format!(
                    "; nothing lost: {} phone certificate(s) in the CA's database, {} on the SE named, {} revoked or suspended, {} certificate DERs kept{}",
                    audit.phone_certificates,
                    audit.installed,
                    audit.not_live,
                    audit.ders,
                    if audit.settled { "" } else { " (world not settled)" }
                ));
            } else {
                self.problems += audit.problems.len();
                return Err(format!(
                    "{line}; LOST: {} (databases in {})",
                    audit.problems.join("; "),
                    dir.display()
                ));
            }
        }
        Ok(line)
    }

    /// Prints the tally; whether nothing was lost anywhere. A temporary state directory is
    /// removed when nothing was lost, and named otherwise.
    pub(super) fn finish(self) -> bool {
        println!(
            "crashes injected: {} (asked for {}; {} during a step that was already committed, {} during a step not yet committed)",
            self.injected, self.asked, self.committed_in_doubt, self.lost_in_doubt
        );
        let ok = self.problems == 0;
        if ok {
            println!(
                "nothing lost: {} scenario(s) audited, {} phone certificate(s) in the CA's databases, every one on the SE it names or revoked, none issued twice",
                self.audited, self.phone_certificates
            );
            if self.temporary {
                let _ = std::fs::remove_dir_all(&self.root);
            }
        } else {
            println!(
                "LOST: {} problems found in the databases under {}",
                self.problems,
                self.root.display()
            );
        }
        ok
    }
}
