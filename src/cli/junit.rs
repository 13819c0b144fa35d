//! JUnit XML reports (`--junit FILE`) for CI dashboards: GitLab's and GitHub's test reports and
//! Jenkins' JUnit plugin read the format Ant and Maven Surefire write (`testsuites` >
//! `testsuite` > `testcase`, with a `failure` or `error` child for a case that did not pass).
//! `tests/junit_cli.rs` checks the output against that format's schema.
//!
//! One test case per property (for `conform`, per safety property checked along the trace, plus
//! the conformance itself); a violated property's failure text is its counterexample.

use std::fmt::Write as _;

/// How one test case ended.
pub(crate) enum Outcome {
    Passed,
    /// The property failed: `message` in one line, `text` the counterexample.
    Failed {
        kind: &'static str,
        message: String,
        text: String,
    },
    /// The check could not decide (a bound was reached).
    Error {
        kind: &'static str,
        message: String,
        text: String,
    },
    /// Not checked (does not apply here).
    Skipped {
        message: String,
    },
}

/// One test case.
pub(crate) struct Case {
    pub name: String,
    pub classname: String,
    pub outcome: Outcome,
}

/// One test suite: a configuration checked, a design of the matrix, a trace.
pub(crate) struct Suite {
    pub name: String,
    pub seconds: f64,
    pub properties: Vec<(String, String)>,
    pub cases: Vec<Case>,
}

impl Suite {
    fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.cases.iter().filter(|c| pred(&c.outcome)).count()
    }

    fn failures(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed { .. }))
    }

    fn errors(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Error { .. }))
    }

    fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped { .. }))
    }
}

/// The report as JUnit XML.
pub(crate) fn xml(name: &str, suites: &[Suite]) -> String {
    let total = |f: &dyn Fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    let seconds: f64 = suites.iter().map(|s| s.seconds).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
        esc(name),
        total(&|s| s.cases.len()),
        total(&|s| s.failures()),
        total(&|s| s.errors()),
        seconds
    );
    for s in suites {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            esc(&s.name),
            s.cases.len(),
            s.failures(),
            s.errors(),
            s.skipped(),
            s.seconds
        );
        if !s.properties.is_empty() {
            x.push_str("    <properties>\n");
            for (k, v) in &s.properties {
                let _ = writeln!(
                    x,
                    "      <property name=\"{}\" value=\"{}\"/>",
                    esc(k),
                    esc(v)
                );
            }
            x.push_str("    </properties>\n");
        }
        for c in &s.cases {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}\"",
                esc(&c.name),
                esc(&c.classname)
            );
            match &c.outcome {
                Outcome::Passed => x.push_str("/>\n"),
                Outcome::Failed {
                    kind,
                    message,
                    text,
                } => {
                    let _ = writeln!(
                        x,
                        ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                        esc(kind),
                        esc(message),
                        esc(text)
                    );
                }
                Outcome::Error {
                    kind,
                    message,
                    text,
                } => {
                    let _ = writeln!(
                        x,
                        ">\n      <error type=\"{}\" message=\"{}\">{}</error>\n    </testcase>",
                        esc(kind),
                        esc(message),
                        esc(text)
                    );
                }
                Outcome::Skipped { message } => {
                    let _ = writeln!(
                        x,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        esc(message)
                    );
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// XML text and attribute escaping: the Explorer's five-character escape (valid XML too), after
/// replacing the characters XML 1.0 cannot hold at all with U+FFFD (a failure text may quote bytes).
fn esc(s: &str) -> String {
    let holdable: String = s
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect();
    jpkisim_checker::html::escape(&holdable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_and_texts_is_escaped() {
        let s = Suite {
            name: "a<b>".into(),
            seconds: 1.5,
            properties: vec![("config".into(), "{\"x\":1}".into())],
            cases: vec![Case {
                name: "p&q".into(),
                classname: "c".into(),
                outcome: Outcome::Failed {
                    kind: "violated",
                    message: "say \"no\"".into(),
                    text: "1. A → B\u{1}".into(),
                },
            }],
        };
        let x = xml("t", &[s]);
        assert!(x.contains("name=\"a&lt;b&gt;\""), "{x}");
        assert!(x.contains("value=\"{&quot;x&quot;:1}\""), "{x}");
        assert!(
            x.contains("message=\"say &quot;no&quot;\">1. A → B\u{FFFD}</failure>"),
            "{x}"
        );
        assert!(
            x.contains("failures=\"1\" errors=\"0\" skipped=\"0\" time=\"1.500\""),
            "{x}"
        );
    }
}
