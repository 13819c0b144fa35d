//! The design-space matrix: every combination of the design choices the studies weigh, checked
//! against every property, so that "which guarantees survive which choice" has an answer.
//!
//! The dimensions are the ones the studies argue about pattern by pattern (see
//! `docs/design-space.md`): the SE medium and its TSM, MNO or MVNO subscribers, where the key pair
//! is generated, how relying parties check status, what a device change needs of the old phone,
//! how the applicant proves who they are, and what the SP-TSM makes durable before it answers.
//! Combinations the studies rule out are pruned, each with its reason. Each row is an exhaustive
//! check ([`crate::check::run`]) of one design within the matrix's bounds (one person, one
//! crash); a violated property's cell carries the length of its shortest counterexample
//! ([`crate::shortest`]) and the row carries the `jpkisim explore` flags that open it.

use crate::check::{self, Verdict};
use crate::html::escape;
use jpkisim_model::config::{
    Carrier, Config, DeviceChange, Dimension, Flaw, KeyGen, Medium, Proofing, RevocationCheck,
};
use jpkisim_model::ConfigError;
use jpkisim_properties::catalogue::{Kind, ALL};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One point of the design space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Design {
    /// SIM through the carrier's TSM, or the phone's GP-SE through its issuer's TSM.
    pub medium: Medium,
    /// The subscriber's carrier kind (SIM only).
    pub carrier: Carrier,
    /// Where the phone's key pair is generated.
    pub keygen: KeyGen,
    /// How relying parties learn certificate status.
    pub revocation: RevocationCheck,
    /// What a device change needs of the old phone.
    pub device_change: DeviceChange,
    /// How the applicant proves their identity.
    pub proofing: Proofing,
    /// What the SP-TSM makes durable before its requests leave.
    pub persistence: Persistence,
}

/// When the SP-TSM commits an issuance step to its database: before or after the step's request
/// leaves. Seen from outside both are the same protocol; they differ only when the SP-TSM crashes
/// between the two, which is why every row is checked with a crash (`Bounds::crashes`). The CA
/// and the SE-TSM commit first in both (docs/recovery.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persistence {
    /// Write-ahead: a step is durable before anything it sends leaves.
    CommitFirst,
    /// The request leaves first and the step is committed when the SP-TSM takes the next one:
    /// the model's flaw `sp_tsm_answers_before_persisting` (`jpkisim variants`), taken here as the
    /// design choice it is in a real SP-TSM (an acknowledgement sent before an fsync).
    AnswerFirst,
}

impl Persistence {
    /// The flaw that makes the model's SP-TSM answer first.
    const ANSWER_FIRST: Flaw = Flaw::SpTsmAnswersBeforePersisting;
}

/// A combination left out of the matrix, and the study that rules it out.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Pruned {
    /// The combination, as the flags that would ask for it.
    pub combination: &'static str,
    /// Why it is not a design.
    pub reason: &'static str,
}

/// The combinations the studies rule out, and the one the matrix's budget leaves out.
pub const PRUNED: &[Pruned] = &[
    Pruned {
        combination: "--medium gp-se --carrier mvno",
        reason:
            "a GP-SE is the phone's own chip, managed by its issuer's TSM (seed 004: SEI-TSM); the \
             MNO/MVNO split is about who holds the SIM's issuer keys (seed 000: the MVNO rents the \
             SIM from the host MNO and has no TSM), so it exists only for SIMs. The GP-SE rows \
             stand for MNO and MVNO subscribers alike",
    },
    Pruned {
        combination: "--flaw sp_tsm_answers_before_persisting together with --keygen center, \
             --revocation crl, --device-change needs-old-phone or --proofing mail",
        reason: "the answer-first SP-TSM is checked once per medium and carrier, with the other \
             choices at their defaults: its database lags its answers, which multiplies the states \
             a crash can leave by about fourteen (19 to 23 million for those three designs, 5 to \
             12 minutes each on one core, against about 1.5 million in 20 to 50 s), so 48 such \
             rows would take hours. What it breaks lies on the path of the SP-TSM's requests (the \
             SE and its TSM: medium and carrier), not in how status is checked or the applicant \
             proved; `jpkisim check --persons 1 --crashes 1 --flaw \
             sp_tsm_answers_before_persisting` with any of those flags checks one",
    },
];

/// Whether a design's choices other than medium and carrier are the defaults: the designs the
/// answer-first SP-TSM is checked in (see [`PRUNED`]).
fn defaults_but_medium(
    keygen: KeyGen,
    revocation: RevocationCheck,
    device_change: DeviceChange,
    proofing: Proofing,
) -> bool {
    let d = Config::default();
    keygen == d.keygen
        && revocation == d.revocation
        && device_change == d.device_change
        && proofing == d.proofing
}

impl Design {
    /// Every design of the matrix, in table order (the default design first), pruned.
    pub fn all() -> Vec<Design> {
        let mut out = Vec::new();
        let media = [
            (Medium::Uicc, Carrier::Mno),
            (Medium::Uicc, Carrier::Mvno),
            (Medium::GpSe, Carrier::Mno),
        ];
        for (medium, carrier) in media {
            for keygen in [KeyGen::OnSe, KeyGen::Center] {
                for revocation in [RevocationCheck::Ocsp, RevocationCheck::Crl] {
                    for device_change in [DeviceChange::NewPhoneOnly, DeviceChange::NeedsOldPhone] {
                        for proofing in [Proofing::CardSignature, Proofing::Mail] {
                            for persistence in [Persistence::CommitFirst, Persistence::AnswerFirst]
                            {
                                if persistence == Persistence::AnswerFirst
                                    && !defaults_but_medium(
                                        keygen,
                                        revocation,
                                        device_change,
                                        proofing,
                                    )
                                {
                                    continue;
                                }
                                out.push(Design {
                                    medium,
                                    carrier,
                                    keygen,
                                    revocation,
                                    device_change,
                                    proofing,
                                    persistence,
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// This design on top of `base` (which sets the bounds: persons, budgets, network).
    pub fn config(&self, base: Config) -> Config {
        let flaws = match self.persistence {
            Persistence::CommitFirst => base.flaws,
            Persistence::AnswerFirst => base.flaws.with(Persistence::ANSWER_FIRST),
        };
        Config {
            medium: self.medium,
            carrier: self.carrier,
            keygen: self.keygen,
            revocation: self.revocation,
            device_change: self.device_change,
            proofing: self.proofing,
            flaws,
            ..base
        }
    }

    /// The design as the `jpkisim` flags that differ from the default design ("" for the default).
    pub fn flags(&self) -> String {
        let d = Config::default();
        let mut parts = Vec::new();
        if self.medium != d.medium {
            parts.push(format!("--medium {}", self.medium.name()));
        }
        if self.carrier != d.carrier {
            parts.push(format!("--carrier {}", self.carrier.name()));
        }
        if self.keygen != d.keygen {
            parts.push(format!("--keygen {}", self.keygen.name()));
        }
        if self.revocation != d.revocation {
            parts.push(format!("--revocation {}", self.revocation.name()));
        }
        if self.device_change != d.device_change {
            parts.push(format!("--device-change {}", self.device_change.name()));
        }
        if self.proofing != d.proofing {
            parts.push(format!("--proofing {}", self.proofing.name()));
        }
        if self.persistence == Persistence::AnswerFirst {
            parts.push(format!("--flaw {}", Persistence::ANSWER_FIRST.name()));
        }
        parts.join(" ")
    }

    /// A short name for tables: one word per dimension.
    pub fn label(&self) -> String {
        let medium = match (self.medium, self.carrier) {
            (Medium::Uicc, Carrier::Mno) => "SIM/MNO",
            (Medium::Uicc, Carrier::Mvno) => "SIM/MVNO",
            (Medium::GpSe, _) => "GP-SE",
        };
        let keygen = match self.keygen {
            KeyGen::OnSe => "key in SE",
            KeyGen::Center => "key at J-LIS",
        };
        let revocation = match self.revocation {
            RevocationCheck::Ocsp => "OCSP",
            RevocationCheck::Crl => "CRL",
        };
        let device = match self.device_change {
            DeviceChange::NewPhoneOnly => "new phone only",
            DeviceChange::NeedsOldPhone => "needs old phone",
        };
        let proofing = match self.proofing {
            Proofing::CardSignature => "card signature",
            Proofing::Mail => "mail",
        };
        let persistence = match self.persistence {
            Persistence::CommitFirst => "commit first",
            Persistence::AnswerFirst => "answer first",
        };
        format!("{medium}, {keygen}, {revocation}, {device}, {proofing}, {persistence}")
    }
}

/// The bounds every row is checked within: the default configuration with fewer persons and
/// one crash.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Bounds {
    /// Persons (the default configuration has 2; the matrix uses 1 unless asked otherwise).
    pub persons: u8,
    /// Parties that may be down at once (`--crashes`). One, so that every design is checked
    /// with its recovery (timers, retries, restarts) and the persistence dimension means
    /// something: without a crash the two persistence orders are the same protocol.
    pub crashes: u8,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            persons: 1,
            crashes: 1,
        }
    }
}

impl Bounds {
    /// The base configuration the designs are laid on.
    pub fn base(&self) -> Config {
        Config {
            persons: self.persons,
            crashes: self.crashes,
            ..Config::default()
        }
    }

    /// The bounds as flags ("" when they are the default configuration's).
    pub fn flags(&self) -> String {
        let d = Config::default();
        let mut parts = Vec::new();
        if self.persons != d.persons {
            parts.push(format!("--persons {}", self.persons));
        }
        if self.crashes != d.crashes {
            parts.push(format!("--crashes {}", self.crashes));
        }
        parts.join(" ")
    }
}

/// One property in one design.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// Safety property holds in every reachable state, and some reachable state triggers it.
    Holds,
    /// Safety property holds only because no reachable state triggers it (its trigger,
    /// `PropertyDef::trigger`): a vacuous verdict, shown apart from a real one.
    HoldsUntriggered,
    /// Reachability property is witnessed.
    Witnessed,
    /// Safety property violated; `steps` is the length of the shortest counterexample.
    Violated {
        /// Steps of the shortest counterexample.
        steps: usize,
    },
    /// Reachability property never reached within the bounds (there is no path to open).
    Unwitnessed,
    /// The property means nothing in this design.
    NotApplicable,
}

impl Cell {
    /// Whether this cell is a failure.
    pub fn fails(self) -> bool {
        matches!(self, Cell::Violated { .. } | Cell::Unwitnessed)
    }

    /// The cell as the tables show it: ✓, ✓ untriggered, ✗ n, ✗ unreached, n/a.
    pub fn text(self) -> String {
        match self {
            Cell::Holds | Cell::Witnessed => "✓".into(),
            Cell::HoldsUntriggered => "✓ untriggered".into(),
            Cell::Violated { steps } => format!("✗ {steps}"),
            Cell::Unwitnessed => "✗ unreached".into(),
            Cell::NotApplicable => "n/a".into(),
        }
    }
}

/// One design's results.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The design.
    pub design: Design,
    /// Its short name.
    pub label: String,
    /// The flags that select it (bounds included): `jpkisim explore <flags>` opens it.
    pub flags: String,
    /// Distinct states explored.
    pub unique_states: usize,
    /// One cell per property, in catalogue order.
    pub cells: Vec<Cell>,
    /// Wall-clock seconds of this row (not part of the generated doc: it varies).
    pub seconds: f64,
}

impl Row {
    /// The `jpkisim explore` command that opens this design (its counterexamples linked).
    pub fn explore_command(&self) -> String {
        format!("jpkisim explore {}", self.flags)
            .trim_end()
            .to_string()
    }
}

/// The whole matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    /// The bounds every row was checked within.
    pub bounds: Bounds,
    /// Property ids, in column order.
    pub properties: Vec<&'static str>,
    /// One row per design.
    pub rows: Vec<Row>,
    /// Combinations left out, with the reason.
    pub pruned: &'static [Pruned],
}

/// How to run the matrix.
#[derive(Clone, Copy, Debug)]
pub struct MatrixOptions {
    /// The bounds.
    pub bounds: Bounds,
    /// Rows checked at once (each on its own thread).
    pub jobs: usize,
    /// Print one line per finished row on stderr.
    pub progress: bool,
}

/// Checks one design within `bounds`.
pub fn run_row(design: Design, bounds: Bounds, threads: usize) -> Result<Row, ConfigError> {
    let cfg = design.config(bounds.base());
    let started = Instant::now();
    let report = check::run_complete(cfg, threads, &format!("design '{}'", design.label()))?;
    let cells = cells_of(&report);
    let flags = format!("{} {}", bounds.flags(), design.flags())
        .trim()
        .to_string();
    Ok(Row {
        design,
        label: design.label(),
        flags,
        unique_states: report.unique_states,
        cells,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One cell per property of the catalogue, in catalogue order, from a check's report (a property
/// the report does not list did not apply).
pub fn cells_of(report: &check::Report) -> Vec<Cell> {
    ALL.iter()
        .map(|p| match report.properties.iter().find(|r| r.id == p.id) {
            None => Cell::NotApplicable,
            Some(r) => match r.verdict {
                Verdict::Holds if r.never_triggered() => Cell::HoldsUntriggered,
                Verdict::Holds => Cell::Holds,
                Verdict::Witnessed => Cell::Witnessed,
                Verdict::Violated => Cell::Violated {
                    steps: r.depth.unwrap_or(0),
                },
                Verdict::Unwitnessed => Cell::Unwitnessed,
            },
        })
        .collect()
}

/// Checks `designs` within `opts.bounds`, `opts.jobs` rows at a time; rows come back in the
/// order of `designs`.
pub fn run_designs(designs: &[Design], opts: MatrixOptions) -> Result<Vec<Row>, ConfigError> {
    let jobs = opts.jobs.clamp(1, designs.len().max(1));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // Rows in parallel; a row gets the cores the jobs leave over.
    let threads = (cores / jobs).max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Row, ConfigError>>>> =
        Mutex::new(vec![None; designs.len()]);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(design) = designs.get(i) else {
                    break;
                };
                let row = run_row(*design, opts.bounds, threads);
                let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                if opts.progress {
                    match &row {
                        Ok(r) => eprintln!(
                            "jpkisim matrix: {finished}/{} {} — {} states, {:.1}s (elapsed {:.0}s)",
                            designs.len(),
                            r.label,
                            r.unique_states,
                            r.seconds,
                            started.elapsed().as_secs_f64()
                        ),
                        Err(e) => eprintln!("jpkisim matrix: {}: {e}", design.label()),
                    }
                }
                if let Ok(mut slots) = results.lock() {
                    slots[i] = Some(row);
                }
            });
        }
    });
    let slots = results
        .into_inner()
        .map_err(|_| ConfigError("a matrix worker panicked".into()))?;
    slots
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ConfigError("a matrix row was not checked".into()))))
        .collect()
}

/// Checks every design of the matrix.
pub fn run(opts: MatrixOptions) -> Result<Matrix, ConfigError> {
    let rows = run_designs(&Design::all(), opts)?;
    Ok(Matrix {
        bounds: opts.bounds,
        properties: ALL.iter().map(|p| p.id).collect(),
        rows,
        pruned: PRUNED,
    })
}

// ---- rendering ----------------------------------------------------------------------------

/// The table's header lines (Markdown): design, states, then one column per property.
pub fn markdown_header() -> String {
    let mut out = String::from("| design | states |");
    for p in ALL {
        let _ = write!(out, " `{}` |", p.id);
    }
    out.push_str("\n|---|--:|");
    for _ in ALL {
        out.push_str(":-:|");
    }
    out.push('\n');
    out
}

/// One row of the table (Markdown).
pub fn markdown_row(row: &Row) -> String {
    let mut out = format!("| {} | {} |", row.label, row.unique_states);
    for c in &row.cells {
        let text = if c.fails() || *c == Cell::HoldsUntriggered {
            format!("**{}**", c.text())
        } else {
            c.text()
        };
        let _ = write!(out, " {text} |");
    }
    out.push('\n');
    out
}

/// The failing cells of one row as a Markdown list item (empty when nothing fails): the command
/// that opens the design, whose Explorer links each violated property to its shortest
/// counterexample, then the failures, and the safety properties that hold only because nothing
/// triggered them (not failures, but not guarantees either).
pub fn markdown_failures(row: &Row) -> String {
    let mut violated = Vec::new();
    let mut unreached = Vec::new();
    let mut untriggered = Vec::new();
    for (p, c) in ALL.iter().zip(&row.cells) {
        match c {
            Cell::Violated { steps } => violated.push(format!("`{}` ({steps} steps)", p.id)),
            Cell::Unwitnessed => unreached.push(format!("`{}`", p.id)),
            Cell::HoldsUntriggered => untriggered.push(format!("`{}`", p.id)),
            _ => {}
        }
    }
    if violated.is_empty() && unreached.is_empty() && untriggered.is_empty() {
        return String::new();
    }
    let mut parts = Vec::new();
    if !violated.is_empty() {
        parts.push(format!("violated: {}", violated.join(", ")));
    }
    if !unreached.is_empty() {
        parts.push(format!(
            "never reached (no path to open): {}",
            unreached.join(", ")
        ));
    }
    if !untriggered.is_empty() {
        parts.push(format!(
            "holds only because never triggered: {}",
            untriggered.join(", ")
        ));
    }
    format!(
        "- {}: `{}` — {}\n",
        row.label,
        row.explore_command(),
        parts.join("; ")
    )
}

fn not_applicable_reasons(m: &Matrix) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for (i, p) in ALL.iter().enumerate() {
        let mut reasons: Vec<&'static str> = Vec::new();
        for row in &m.rows {
            if row.cells.get(i) == Some(&Cell::NotApplicable) {
                if let Err(why) = (p.applies)(&row.design.config(m.bounds.base())) {
                    if !reasons.contains(&why) {
                        reasons.push(why);
                    }
                }
            }
        }
        if !reasons.is_empty() {
            out.push((p.id, reasons));
        }
    }
    out
}

/// The generated block of `docs/design-space.md`: bounds, table, failing cells with their
/// commands, pruned combinations and the reasons for n/a. Deterministic: no timings.
pub fn markdown(m: &Matrix) -> String {
    let mut out = String::new();
    let bounds = if m.bounds.flags().is_empty() {
        "the default configuration".to_string()
    } else {
        format!("the default configuration with `{}`", m.bounds.flags())
    };
    let _ = writeln!(
        out,
        "Each row is an exhaustive check of one design within {bounds} (budgets, network and \
         threats as in `jpkisim check`). {} designs, {} properties ({} safety, {} reachability).\n",
        m.rows.len(),
        ALL.len(),
        ALL.iter().filter(|p| p.kind == Kind::Always).count(),
        ALL.iter().filter(|p| p.kind == Kind::Sometimes).count(),
    );
    out.push_str(
        "✓ holds (safety, and its trigger is reached) or witnessed (reachability); **✓ untriggered** \
         a safety property that holds only because no run reaches its trigger (docs/properties.md); \
         **✗ n** violated, shortest counterexample n steps; **✗ unreached** a reachability property \
         no run reaches; n/a the property means nothing in that design; states: distinct states \
         explored.\n\n",
    );
    out.push_str(&markdown_header());
    for row in &m.rows {
        out.push_str(&markdown_row(row));
    }
    out.push_str("\n#### Failing cells and the command that opens each\n\n");
    let failures: String = m.rows.iter().map(markdown_failures).collect();
    if failures.is_empty() {
        out.push_str("None: every property holds in every design.\n");
    } else {
        out.push_str(&failures);
    }
    out.push_str("\n#### Pruned combinations\n\n");
    for p in m.pruned {
        let _ = writeln!(out, "- `{}`: {}.", p.combination, p.reason);
    }
    let na = not_applicable_reasons(m);
    if !na.is_empty() {
        out.push_str("\n#### Not applicable\n\n");
        for (id, reasons) in na {
            let _ = writeln!(out, "- `{id}`: {}.", reasons.join("; "));
        }
    }
    out
}

/// The matrix as a self-contained HTML page; each failing cell's tooltip holds its command.
pub fn html(m: &Matrix) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>jpkisim design-space matrix</title>\n\
         <style>body{font-family:sans-serif}table{border-collapse:collapse;font-size:12px}\
         td,th{border:1px solid #bbb;padding:2px 4px;text-align:center}\
         th.p{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}\
         td.d{text-align:left;white-space:nowrap}.ok{background:#e6f4e6}.bad{background:#f8d0d0;font-weight:bold}\
         .na{color:#999} .untriggered{color:#b60}</style></head><body>\n<h1>Design-space matrix</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p>Bounds: {}. Hover a failing cell for the command that opens its counterexample.</p>",
        escape(&if m.bounds.flags().is_empty() {
            "the default configuration".to_string()
        } else {
            format!("the default configuration with {}", m.bounds.flags())
        })
    );
    out.push_str("<table>\n<tr><th>design</th><th>states</th>");
    for p in ALL {
        let _ = write!(out, "<th class=\"p\">{}</th>", escape(p.id));
    }
    out.push_str("</tr>\n");
    for row in &m.rows {
        let _ = write!(
            out,
            "<tr><td class=\"d\">{}</td><td>{}</td>",
            escape(&row.label),
            row.unique_states
        );
        for (p, c) in ALL.iter().zip(&row.cells) {
            let class = match c {
                Cell::NotApplicable => "na",
                Cell::HoldsUntriggered => "untriggered",
                c if c.fails() => "bad",
                _ => "ok",
            };
            let title = if c.fails() {
                format!(" title=\"{}: {}\"", p.id, escape(&row.explore_command()))
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<td class=\"{class}\"{title}>{}</td>",
                escape(&c.text())
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n<h2>Failing cells</h2>\n<ul>\n");
    for row in &m.rows {
        for (p, c) in ALL.iter().zip(&row.cells) {
            if c.fails() {
                let _ = writeln!(
                    out,
                    "<li>{} — <code>{}</code> {}: <code>{}</code></li>",
                    escape(&row.label),
                    p.id,
                    escape(&c.text()),
                    escape(&row.explore_command())
                );
            }
        }
    }
    out.push_str("</ul>\n<h2>Pruned combinations</h2>\n<ul>\n");
    for p in m.pruned {
        let _ = writeln!(
            out,
            "<li><code>{}</code>: {}.</li>",
            escape(p.combination),
            escape(p.reason)
        );
    }
    out.push_str("</ul>\n</body></html>\n");
    out
}

/// Markers around the generated block in `docs/design-space.md`.
pub const DOC_BEGIN: &str = "<!-- matrix:begin (generated by `jpkisim matrix`) -->\n";
/// End marker.
pub const DOC_END: &str = "<!-- matrix:end -->";

/// The generated block of a document, if it has the markers.
pub fn doc_block(doc: &str) -> Option<&str> {
    block_between(doc, DOC_BEGIN, DOC_END)
}

/// The text of `doc` between the markers `begin` and `end` (a generated block), if it has them.
pub fn block_between<'a>(doc: &'a str, begin: &str, end: &str) -> Option<&'a str> {
    let start = doc.find(begin)? + begin.len();
    let stop = start + doc[start..].find(end)?;
    Some(&doc[start..stop])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_prunes_mvno_on_a_gp_se_and_keeps_everything_else() {
        let all = Design::all();
        assert_eq!(all.len(), 51);
        assert_eq!(
            all.iter()
                .filter(|d| d.persistence == Persistence::AnswerFirst)
                .count(),
            3,
            "one answer-first row per medium and carrier"
        );
        assert!(all
            .iter()
            .all(|d| !(d.medium == Medium::GpSe && d.carrier == Carrier::Mvno)));
        assert_eq!(all[0].flags(), "", "the default design comes first");
        for d in &all {
            assert!(d.config(Config::default()).validate().is_ok(), "{d:?}");
        }
    }

    #[test]
    fn flags_name_every_dimension_that_differs() {
        let d = Design {
            medium: Medium::GpSe,
            carrier: Carrier::Mno,
            keygen: KeyGen::Center,
            revocation: RevocationCheck::Crl,
            device_change: DeviceChange::NeedsOldPhone,
            proofing: Proofing::Mail,
            persistence: Persistence::AnswerFirst,
        };
        assert_eq!(
            d.flags(),
            "--medium gp-se --keygen center --revocation crl --device-change needs-old-phone --proofing mail --flaw sp_tsm_answers_before_persisting"
        );
        assert!(d
            .config(Config::default())
            .flaws
            .has(Flaw::SpTsmAnswersBeforePersisting));
    }

    fn fake_matrix() -> Matrix {
        let design = Design::all()[1];
        let mut cells = vec![Cell::Holds; ALL.len()];
        cells[3] = Cell::Violated { steps: 8 };
        cells[14] = Cell::Unwitnessed;
        cells[15] = Cell::NotApplicable;
        Matrix {
            bounds: Bounds::default(),
            properties: ALL.iter().map(|p| p.id).collect(),
            rows: vec![Row {
                design,
                label: design.label(),
                flags: "--persons 1 --proofing mail".into(),
                unique_states: 42,
                cells,
                seconds: 0.0,
            }],
            pruned: PRUNED,
        }
    }

    #[test]
    fn every_rendering_marks_failures_and_names_the_command_that_opens_them() {
        let m = fake_matrix();
        let md = markdown(&m);
        assert!(md.contains("| 42 |"));
        assert!(md.contains("**✗ 8**") && md.contains("**✗ unreached**"));
        assert!(md.contains(&format!(
            "`jpkisim explore --persons 1 --proofing mail` — violated: `{}` (8 steps); never reached (no path to open): `{}`",
            ALL[3].id, ALL[14].id
        )));
        let html = html(&m);
        assert!(html.contains(&format!(
            "<td class=\"bad\" title=\"{}: jpkisim explore --persons 1 --proofing mail\">✗ 8</td>",
            ALL[3].id
        )));
        assert!(html.contains("<td class=\"na\">n/a</td>"));
        let json = serde_json::to_value(&m).expect("serialises");
        assert_eq!(json["rows"][0]["cells"][3]["violated"]["steps"], 8);
    }

    #[test]
    fn the_doc_block_is_found_between_its_markers() {
        let doc = format!("intro\n{DOC_BEGIN}table\n{DOC_END}\nafter");
        assert_eq!(doc_block(&doc), Some("table\n"));
        assert_eq!(doc_block("no markers"), None);
    }
}
