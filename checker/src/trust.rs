//! The trust matrix: which guarantee rests on which party's honesty.
//!
//! A reviewer from J-LIS, a carrier or an SE issuer asks first what breaks when one party is not
//! honest. Each column of the trust matrix is one threat added to the default design — one
//! compromised party (`--compromised`: the intruder holds that party's keys and channel
//! credentials and may send anything they allow, in any state), the network intruder alone
//! (`--intruder`), or a thief who knows the PIN (`--thief knows-pin`) — and each row is a property
//! of the catalogue. A cell is the property's verdict under that threat ([`Cell`], as in the
//! design matrix): a violated cell carries the length of the shortest counterexample and the
//! column carries the `jpkisim explore` flags that open it. A safety property violated in a
//! column rests on that party's honesty (or on the absence of that threat).
//!
//! Every column is an exhaustive check ([`crate::check::run`]) with one person (as the design
//! matrix, `docs/design-space.md`) and the default budgets, one intrusion included. It is not a
//! threat model of its own: what a compromised party or the intruder may do is the model's
//! (`jpkisim_model::intruder`); this module only chooses the configurations and lays out the
//! verdicts. `docs/trust.md` keeps the generated table.

use crate::check;
use crate::html::escape;
use crate::matrix::{cells_of, Cell};
use jpkisim_model::config::{Carrier, Config, Role, Thief};
use jpkisim_model::ConfigError;
use jpkisim_properties::catalogue::{Kind, ALL};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Instant;

/// One threat added to the default design: a column of the trust matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Threat {
    /// One party compromised (its keys and channel credentials in the intruder's hands).
    Compromised(Role),
    /// A Dolev–Yao intruder on the open links, every party honest.
    Intruder,
    /// A thief who saw the PIN steals a phone.
    ThiefKnowsPin,
}

impl Threat {
    /// Every column, in table order: each single compromised party, then the intruder, then the
    /// thief.
    pub const ALL: [Threat; 6] = [
        Threat::Compromised(Role::SpTsm),
        Threat::Compromised(Role::SeTsm),
        Threat::Compromised(Role::Mvno),
        Threat::Compromised(Role::Rp),
        Threat::Intruder,
        Threat::ThiefKnowsPin,
    ];

    /// The column's short name, as `--threat` takes it: `sp-tsm`, `se-tsm`, `mvno`, `rp`,
    /// `intruder`, `thief`.
    pub fn id(self) -> &'static str {
        match self {
            Threat::Compromised(Role::SpTsm) => "sp-tsm",
            Threat::Compromised(Role::SeTsm) => "se-tsm",
            Threat::Compromised(Role::Mvno) => "mvno",
            Threat::Compromised(Role::Rp) => "rp",
            Threat::Intruder => "intruder",
            Threat::ThiefKnowsPin => "thief",
        }
    }

    /// The column's heading.
    pub fn label(self) -> &'static str {
        match self {
            Threat::Compromised(Role::SpTsm) => "SP-TSM compromised",
            Threat::Compromised(Role::SeTsm) => "SE-TSM compromised",
            Threat::Compromised(Role::Mvno) => "MVNO compromised",
            Threat::Compromised(Role::Rp) => "RP compromised",
            Threat::Intruder => "intruder",
            Threat::ThiefKnowsPin => "thief knows PIN",
        }
    }

    /// The threat by its [`id`](Self::id).
    pub fn parse(id: &str) -> Option<Threat> {
        Threat::ALL.into_iter().find(|t| t.id() == id)
    }

    /// The threat's flags on top of the base configuration. A compromised MVNO needs MVNO
    /// subscribers (with an MNO subscriber no MVNO is on the path), so that column checks the
    /// MVNO design.
    pub fn flags(self) -> &'static str {
        match self {
            Threat::Compromised(Role::SpTsm) => "--compromised sp-tsm",
            Threat::Compromised(Role::SeTsm) => "--compromised se-tsm",
            Threat::Compromised(Role::Mvno) => "--carrier mvno --compromised mvno",
            Threat::Compromised(Role::Rp) => "--compromised rp",
            Threat::Intruder => "--intruder",
            Threat::ThiefKnowsPin => "--thief knows-pin",
        }
    }

    /// `base` with the threat added.
    pub fn config(self, base: Config) -> Config {
        match self {
            Threat::Compromised(role) => Config {
                carrier: if role == Role::Mvno {
                    Carrier::Mvno
                } else {
                    base.carrier
                },
                compromised: base.compromised.with(role),
                ..base
            },
            Threat::Intruder => Config {
                intruder: true,
                ..base
            },
            Threat::ThiefKnowsPin => Config {
                thief: Thief::KnowsPin,
                ..base
            },
        }
    }
}

/// One threat's results.
#[derive(Clone, Debug, Serialize)]
pub struct Column {
    /// The threat.
    pub threat: Threat,
    /// Its heading.
    pub label: &'static str,
    /// The flags that select it (persons included): `jpkisim explore <flags>` opens it.
    pub flags: String,
    /// Distinct states explored.
    pub unique_states: usize,
    /// One cell per property, in catalogue order.
    pub cells: Vec<Cell>,
    /// Wall-clock seconds of this column (not part of the generated doc: it varies).
    pub seconds: f64,
}

impl Column {
    /// The `jpkisim explore` command that opens this column's configuration (its counterexamples
    /// linked).
    pub fn explore_command(&self) -> String {
        format!("jpkisim explore {}", self.flags)
    }
}

/// The whole trust matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Trust {
    /// Persons in every column's configuration.
    pub persons: u8,
    /// Property ids, in row order (the catalogue's).
    pub properties: Vec<&'static str>,
    /// One column per threat.
    pub columns: Vec<Column>,
}

/// Checks the default design with `persons` persons and `threat` added, on `threads` threads.
pub fn run_column(threat: Threat, persons: u8, threads: usize) -> Result<Column, ConfigError> {
    let base = Config {
        persons,
        ..Config::default()
    };
    let cfg = threat.config(base);
    cfg.validate()?;
    let started = Instant::now();
    let report = check::run_complete(cfg, threads, &format!("the {} column", threat.label()))?;
    Ok(Column {
        threat,
        label: threat.label(),
        flags: format!("--persons {persons} {}", threat.flags()),
        unique_states: report.unique_states,
        cells: cells_of(&report),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Checks each of `threats` in turn (each check uses every thread), printing a line per column
/// on stderr if `progress`.
pub fn run(
    threats: &[Threat],
    persons: u8,
    threads: usize,
    progress: bool,
) -> Result<Trust, ConfigError> {
    let mut columns = Vec::new();
    for (i, t) in threats.iter().enumerate() {
        let c = run_column(*t, persons, threads)?;
        if progress {
            eprintln!(
                "jpkisim trust: {}/{} {} — {} states, {:.1}s",
                i + 1,
                threats.len(),
                c.label,
                c.unique_states,
                c.seconds
            );
        }
        columns.push(c);
    }
    Ok(Trust {
        persons,
        properties: ALL.iter().map(|p| p.id).collect(),
        columns,
    })
}

// ---- rendering ----------------------------------------------------------------------------

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Always => "safety",
        Kind::Sometimes => "reachability",
    }
}

/// The table (Markdown): one row per property, one column per threat, then the states explored.
pub fn markdown_table(t: &Trust) -> String {
    let mut out = String::from("| property | kind |");
    for c in &t.columns {
        let _ = write!(out, " {} |", c.label);
    }
    out.push_str("\n|---|---|");
    for _ in &t.columns {
        out.push_str(":-:|");
    }
    out.push('\n');
    for (i, p) in ALL.iter().enumerate() {
        let _ = write!(out, "| `{}` | {} |", p.id, kind(p.kind));
        for c in &t.columns {
            let cell = c.cells[i];
            let text = if cell.fails() || cell == Cell::HoldsUntriggered {
                format!("**{}**", cell.text())
            } else {
                cell.text()
            };
            let _ = write!(out, " {text} |");
        }
        out.push('\n');
    }
    out.push_str("| *states explored* | |");
    for c in &t.columns {
        let _ = write!(out, " {} |", c.unique_states);
    }
    out.push('\n');
    out
}

/// The failing cells, one list item per column that has any, with the command that opens it.
pub fn markdown_failures(t: &Trust) -> String {
    let mut out = String::new();
    for c in &t.columns {
        let mut parts = Vec::new();
        for (p, cell) in ALL.iter().zip(&c.cells) {
            match cell {
                Cell::Violated { steps } => {
                    parts.push(format!("`{}` violated in {steps} steps", p.id));
                }
                Cell::Unwitnessed => parts.push(format!("`{}` never reached", p.id)),
                Cell::HoldsUntriggered => {
                    parts.push(format!("`{}` holds only because never triggered", p.id));
                }
                _ => {}
            }
        }
        if !parts.is_empty() {
            let _ = writeln!(
                out,
                "- {}: `{}` — {}",
                c.label,
                c.explore_command(),
                parts.join(", ")
            );
        }
    }
    out
}

/// The generated block of `docs/trust.md`: table, failing cells with their commands, and the
/// reasons for n/a. Deterministic: no timings.
pub fn markdown(t: &Trust) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Each column is an exhaustive check of the default design with `--persons {}` and one \
         threat added (default budgets: one intrusion); {} properties ({} safety, {} reachability).\n",
        t.persons,
        ALL.len(),
        ALL.iter().filter(|p| p.kind == Kind::Always).count(),
        ALL.iter().filter(|p| p.kind == Kind::Sometimes).count(),
    );
    out.push_str(
        "✓ holds (safety, and its trigger is reached) or witnessed (reachability); **✓ untriggered** \
         holds only because no run reaches its trigger; **✗ n** violated, shortest counterexample n \
         steps: the guarantee rests on that party's honesty; **✗ unreached** a reachability property \
         no run reaches; n/a the property means nothing under that threat.\n\n",
    );
    out.push_str(&markdown_table(t));
    out.push_str("\n#### Failing cells and the command that opens each\n\n");
    let failures = markdown_failures(t);
    if failures.is_empty() {
        out.push_str("None: every property holds under every threat.\n");
    } else {
        out.push_str(&failures);
    }
    let mut na = String::new();
    let base = Config {
        persons: t.persons,
        ..Config::default()
    };
    for (i, p) in ALL.iter().enumerate() {
        // Each reason once, with the columns it applies to.
        let mut reasons: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for c in t
            .columns
            .iter()
            .filter(|c| c.cells[i] == Cell::NotApplicable)
        {
            if let Err(why) = (p.applies)(&c.threat.config(base)) {
                match reasons.iter_mut().find(|(w, _)| *w == why) {
                    Some((_, cols)) => cols.push(c.label),
                    None => reasons.push((why, vec![c.label])),
                }
            }
        }
        if !reasons.is_empty() {
            let text: Vec<String> = reasons
                .iter()
                .map(|(why, cols)| {
                    if cols.len() == t.columns.len() {
                        format!("{why} (every column)")
                    } else {
                        format!("{why} ({})", cols.join(", "))
                    }
                })
                .collect();
            let _ = writeln!(na, "- `{}`: {}.", p.id, text.join("; "));
        }
    }
    if !na.is_empty() {
        out.push_str("\n#### Not applicable\n\n");
        out.push_str(&na);
    }
    out
}

/// The trust matrix as a self-contained HTML page; each failing cell's tooltip holds its command.
pub fn html(t: &Trust) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>jpkisim trust matrix</title>\n\
         <style>body{font-family:sans-serif}table{border-collapse:collapse;font-size:13px}\
         td,th{border:1px solid #bbb;padding:2px 6px;text-align:center}td.p{text-align:left}\
         .ok{background:#e6f4e6}.bad{background:#f8d0d0;font-weight:bold}.na{color:#999}\
         .untriggered{color:#b60}</style></head><body>\n<h1>Trust matrix</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p>The default design with --persons {} and one threat per column. Hover a failing cell \
         for the command that opens its counterexample.</p>",
        t.persons
    );
    out.push_str("<table>\n<tr><th>property</th><th>kind</th>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(c.label));
    }
    out.push_str("</tr>\n");
    for (i, p) in ALL.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td class=\"p\"><code>{}</code></td><td>{}</td>",
            escape(p.id),
            kind(p.kind)
        );
        for c in &t.columns {
            let cell = c.cells[i];
            let class = match cell {
                Cell::NotApplicable => "na",
                Cell::HoldsUntriggered => "untriggered",
                c if c.fails() => "bad",
                _ => "ok",
            };
            let title = if cell.fails() {
                format!(" title=\"{}\"", escape(&c.explore_command()))
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<td class=\"{class}\"{title}>{}</td>",
                escape(&cell.text())
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("<tr><td class=\"p\"><em>states explored</em></td><td></td>");
    for c in &t.columns {
        let _ = write!(out, "<td>{}</td>", c.unique_states);
    }
    out.push_str("</tr>\n</table>\n<h2>Failing cells</h2>\n<ul>\n");
    for c in &t.columns {
        for (p, cell) in ALL.iter().zip(&c.cells) {
            if cell.fails() {
                let _ = writeln!(
                    out,
                    "<li>{} — <code>{}</code> {}: <code>{}</code></li>",
                    escape(c.label),
                    escape(p.id),
                    escape(&cell.text()),
                    escape(&c.explore_command())
                );
            }
        }
    }
    out.push_str("</ul>\n</body></html>\n");
    out
}

/// Markers around the generated block in `docs/trust.md`.
pub const DOC_BEGIN: &str = "<!-- trust:begin (generated by `jpkisim trust`) -->\n";
/// End marker.
pub const DOC_END: &str = "<!-- trust:end -->";

/// The generated block of a document, if it has the markers.
pub fn doc_block(doc: &str) -> Option<&str> {
    crate::matrix::block_between(doc, DOC_BEGIN, DOC_END)
}

/// The cells of one column as a document's table shows them (`✓`, `**✗ 14**`, `n/a`, …), in row
/// order, or `None` if the table has no such column: for re-checking a few columns of a kept
/// document without running them all.
pub fn doc_column(block: &str, label: &str) -> Option<Vec<String>> {
    let mut lines = block.lines().filter(|l| l.starts_with("| "));
    let header: Vec<&str> = lines.next()?.split('|').map(str::trim).collect();
    let at = header.iter().position(|h| *h == label)?;
    Some(
        lines
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| l.split('|').nth(at).map(|c| c.trim().to_string()))
            .collect(),
    )
}

/// The cells of a column rendered as [`markdown_table`] renders them, for [`doc_column`].
pub fn column_texts(c: &Column) -> Vec<String> {
    c.cells
        .iter()
        .map(|cell| {
            if cell.fails() || *cell == Cell::HoldsUntriggered {
                format!("**{}**", cell.text())
            } else {
                cell.text()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake() -> Trust {
        let mut cells = vec![Cell::Holds; ALL.len()];
        cells[0] = Cell::Violated { steps: 9 };
        cells[1] = Cell::NotApplicable;
        cells[2] = Cell::HoldsUntriggered;
        Trust {
            persons: 1,
            properties: ALL.iter().map(|p| p.id).collect(),
            columns: vec![
                Column {
                    threat: Threat::Compromised(Role::SpTsm),
                    label: Threat::Compromised(Role::SpTsm).label(),
                    flags: "--persons 1 --compromised sp-tsm".into(),
                    unique_states: 42,
                    cells,
                    seconds: 0.0,
                },
                Column {
                    threat: Threat::ThiefKnowsPin,
                    label: Threat::ThiefKnowsPin.label(),
                    flags: "--persons 1 --thief knows-pin".into(),
                    unique_states: 7,
                    cells: vec![Cell::Holds; ALL.len()],
                    seconds: 0.0,
                },
            ],
        }
    }

    #[test]
    fn every_threat_is_a_valid_configuration_and_parses_back_from_its_id() {
        for t in Threat::ALL {
            let cfg = t.config(Config {
                persons: 1,
                ..Config::default()
            });
            assert!(cfg.validate().is_ok(), "{t:?}");
            assert_eq!(Threat::parse(t.id()), Some(t));
        }
    }

    #[test]
    fn every_rendering_marks_failures_and_names_the_command_that_opens_them() {
        let t = fake();
        let md = markdown(&t);
        assert!(md.contains(&format!("| `{}` | safety | **✗ 9** | ✓ |", ALL[0].id)));
        assert!(md.contains("**✓ untriggered**"));
        assert!(md.contains("| *states explored* | | 42 | 7 |"));
        assert!(md.contains(&format!(
            "- SP-TSM compromised: `jpkisim explore --persons 1 --compromised sp-tsm` — `{}` violated in 9 steps",
            ALL[0].id
        )));
        let html = html(&t);
        assert!(html.contains(
            "<td class=\"bad\" title=\"jpkisim explore --persons 1 --compromised sp-tsm\">✗ 9</td>"
        ));
        let json = serde_json::to_value(&t).expect("serialises");
        assert_eq!(json["columns"][0]["cells"][0]["violated"]["steps"], 9);
        assert_eq!(json["columns"][0]["threat"]["compromised"], "sp-tsm");
        // A column read back from the document is what was rendered.
        let block = markdown(&t);
        assert_eq!(
            doc_column(&block, "SP-TSM compromised"),
            Some(column_texts(&t.columns[0]))
        );
        assert_eq!(doc_column(&block, "nobody"), None);
    }
}
