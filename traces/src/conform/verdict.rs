//! What `jpkisim conform` answers, as data (`--json`) and as text.
//!
//! Events are numbered by their `seq` — the number `jpkisim run` prints and writes, and the one
//! `jpkisim explore --trace` shows — with the file line beside it.

use serde::Serialize;

/// Where in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventRef {
    /// The event's sequence number in the file (`seq`): the event number everywhere.
    pub seq: u64,
    /// Its line in the file (for an ITF trace: its state index).
    pub line: usize,
    /// The event, in words.
    pub event: String,
}

impl EventRef {
    fn head(&self) -> String {
        format!("event {} (line {}): {}", self.seq, self.line, self.event)
    }
}

/// An event the model allowed where the trace diverged, and how the recorded one differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Nearest {
    /// The allowed event, in words.
    pub event: String,
    /// Field by field: `path: recorded X, allowed Y`.
    pub diff: Vec<String>,
}

/// The outcome of a conformance check. Exit codes of `jpkisim conform`: 0 conforms; 1 diverges,
/// truncated or a property violated; 3 inconclusive (a bound of the search was reached); 2 is
/// bad input, which is an error, not a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The events are a behaviour of the model and every property held along it.
    Conforms {
        /// Events checked (of the observed parties).
        events: u64,
        /// Model states the search explored.
        states: u64,
    },
    /// No run of the model has this event here (given the events before it): proved, either
    /// from the observed parties' own states or by a search that reached none of its bounds.
    Diverges {
        /// The event.
        at: EventRef,
        /// What the event needed and why the model could not, in sentences.
        why: Vec<String>,
        /// The acting party's state just before the event (and, for a delivery from an
        /// unobserved sender, that sender's states), in words: a heading line, then the state.
        states: Vec<String>,
        /// Model states the run could be in there.
        candidates: usize,
        /// The observable events the model allowed there, or after unobserved steps from there,
        /// nearest to the recorded event first (at most 12).
        allowed: Vec<String>,
        /// How many more it allowed.
        more_allowed: usize,
        /// The allowed event nearest to the recorded one.
        nearest: Option<Nearest>,
        /// A caveat on where the divergence lies, when events before it could not all be
        /// matched within the bounds.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The log ends after a step whose sends it does not show: cut off mid-step.
    Truncated {
        /// The last step of the party whose sends are missing.
        at: EventRef,
        /// The sends that step made, in words.
        missing: Vec<String>,
    },
    /// The events can only be matched by runs in which a safety property fails after this event.
    Violates {
        /// The event.
        at: EventRef,
        /// The property id.
        property: &'static str,
        /// What the property guarantees.
        summary: &'static str,
        /// What the event changed in its party's state, as lines of its description
        /// (`- old`, `+ new`).
        changes: Vec<String>,
        /// A caveat when the search reached a bound (then "every run" means every run found).
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The search reached a bound before it found a run matching this event: raise the bound.
    Inconclusive {
        /// The first event no run found matches.
        at: EventRef,
        /// Events matched before it.
        matched: u64,
        /// Model states the search explored.
        states: u64,
        /// The bounds reached, in words.
        bounds: Vec<String>,
        /// The options to raise.
        hints: Vec<String>,
    },
}

impl Verdict {
    /// The exit code of `jpkisim conform`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Conforms { .. } => 0,
            Verdict::Inconclusive { .. } => 3,
            _ => 1,
        }
    }

    /// The verdict's one-word name (`conforms`, `diverges`, …), as in the JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Conforms { .. } => "conforms",
            Verdict::Diverges { .. } => "diverges",
            Verdict::Truncated { .. } => "truncated",
            Verdict::Violates { .. } => "violates",
            Verdict::Inconclusive { .. } => "inconclusive",
        }
    }

    /// The event the verdict is about, if any.
    pub fn at(&self) -> Option<&EventRef> {
        match self {
            Verdict::Conforms { .. } => None,
            Verdict::Diverges { at, .. }
            | Verdict::Truncated { at, .. }
            | Verdict::Violates { at, .. }
            | Verdict::Inconclusive { at, .. } => Some(at),
        }
    }

    /// The verdict as text, several lines.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        match self {
            Verdict::Conforms { events, states } => line(format!(
                "conforms: {events} events are a behaviour of the model and every property held ({states} model states explored)"
            )),
            Verdict::Diverges {
                at,
                why,
                states,
                candidates,
                allowed,
                more_allowed,
                nearest,
                note,
            } => {
                line(format!("diverges at {}", at.head()));
                for w in why {
                    line(format!("  {w}"));
                }
                for st in states {
                    for (i, l) in st.lines().enumerate() {
                        line(format!("  {}{l}", if i == 0 { "" } else { "    " }));
                    }
                }
                line(format!("  {candidates} model state(s) the run could be in there"));
                if allowed.is_empty() {
                    line("  the model allowed no observable event there".into());
                } else {
                    line("  the model allowed there (nearest first):".into());
                    for a in allowed {
                        line(format!("    {a}"));
                    }
                    if *more_allowed > 0 {
                        line(format!("    … and {more_allowed} more"));
                    }
                }
                if let Some(n) = nearest {
                    line(format!("  nearest allowed event: {}", n.event));
                    for d in &n.diff {
                        line(format!("    {d}"));
                    }
                }
                if let Some(n) = note {
                    line(format!("  note: {n}"));
                }
            }
            Verdict::Truncated { at, missing } => {
                line(format!(
                    "truncated after {}: the log ends before the sends of this step",
                    at.head()
                ));
                line("  the step sent (not in the log):".into());
                for m in missing {
                    line(format!("    {m}"));
                }
            }
            Verdict::Violates {
                at,
                property,
                summary,
                changes,
                note,
            } => {
                line(format!("property {property} violated at {}", at.head()));
                line(format!("  {property}: {summary}"));
                if !changes.is_empty() {
                    line("  the event changed:".into());
                    for c in changes {
                        line(format!("    {c}"));
                    }
                }
                if let Some(n) = note {
                    line(format!("  note: {n}"));
                }
            }
            Verdict::Inconclusive {
                at,
                matched,
                states,
                bounds,
                hints,
            } => {
                line(format!("inconclusive at {}", at.head()));
                line(format!(
                    "  {}; no run found that matches this one too, but the search reached a bound ({states} model states explored):",
                    match matched {
                        0 => "it is the first event checked".to_string(),
                        1 => "the event before it conforms".to_string(),
                        n => format!("the {n} events before it conform"),
                    }
                ));
                for b in bounds {
                    line(format!("    {b}"));
                }
                line(format!("  try {}", hints.join(", or ")));
            }
        }
        s
    }
}
