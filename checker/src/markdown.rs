//! The property and variant catalogues as Markdown tables, for `docs/properties.md`. The doc
//! embeds this output between markers, and a test fails when the two drift apart.

use jpkisim_model::Config;
use jpkisim_properties::catalogue::{Kind, ALL};
use jpkisim_properties::variants;

/// The catalogue tables.
pub fn catalogue() -> String {
    let mut out = String::new();
    let default = Config::default();
    for (kind, title) in [
        (Kind::Always, "Safety (always)"),
        (Kind::Sometimes, "Reachability (sometimes)"),
    ] {
        // A safety property also says what triggers it: without that event it says nothing, and
        // `check` reports it as "holds, never triggered".
        let safety = kind == Kind::Always;
        let (trigger_head, trigger_rule) = if safety {
            (" triggered by |", "---|")
        } else {
            ("", "")
        };
        out.push_str(&format!("### {title}\n\n| id | guarantees |{trigger_head} source | in the default configuration |\n|---|---|{trigger_rule}---|---|\n"));
        for p in ALL.iter().filter(|p| p.kind == kind) {
            let applies = match (p.applies)(&default) {
                Ok(()) => "checked".to_string(),
                Err(why) => format!("not applicable: {why}"),
            };
            let trigger = match p.trigger {
                Some(t) if safety => format!(" {} |", t.summary),
                None if safety => " (none declared) |".to_string(),
                _ => String::new(),
            };
            out.push_str(&format!(
                "| `{}` | {} |{} {} | {} |\n",
                p.id, p.summary, trigger, p.source, applies
            ));
        }
        out.push('\n');
    }
    out.push_str("### Broken variants\n\n| flaw (`--flaw ID`) | what is broken | must violate | checked in (`--variant ID` sets these; flags override) |\n|---|---|---|---|\n");
    for v in variants::ALL {
        let needs = format!("`{}`", v.flags());
        out.push_str(&format!(
            "| `{}` | {} | `{}` | {} |\n",
            v.id, v.description, v.violates, needs
        ));
    }
    out
}

/// The worked example of docs/counterexamples.md: the shortest counterexample of the
/// `accept_revoked_card` variant with one person, as text and as a Mermaid diagram.
pub fn worked_example() -> String {
    let Some(v) = variants::by_id("accept_revoked_card") else {
        return String::new();
    };
    let cfg = v.config(Config {
        persons: 1,
        ..Config::default()
    });
    let Some(def) = jpkisim_properties::catalogue::by_id(v.violates) else {
        return String::new();
    };
    match crate::shortest::shortest_paths(cfg, &[def]) {
        Ok(mut found) => match found.pop().flatten() {
            Some(cex) => format!(
                "```text\n{}```\n\n```mermaid\n{}```\n",
                cex.text(),
                cex.mermaid()
            ),
            None => String::new(),
        },
        Err(_) => String::new(),
    }
}
