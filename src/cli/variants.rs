//! `jpkisim variants`: the catalogue of deliberately broken protocol variants, each with the
//! property that must catch it and the configuration it needs.

use jpkisim_properties::variants;
use std::io::Write as _;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print `[{"id", "description", "violates", "config"}]`.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> ExitCode {
    let mut out = String::new();
    if args.json {
        let list: Vec<serde_json::Value> = variants::ALL
            .iter()
            .map(|v| {
                serde_json::json!({
                    "id": v.id,
                    "description": v.description,
                    "violates": v.violates,
                    "config": v.needs_flags,
                })
            })
            .collect();
        out = serde_json::to_string_pretty(&list).unwrap_or_default() + "\n";
    } else {
        out.push_str(&format!(
            "{:<28} {:<42} {:<22} {}\n",
            "id", "must violate", "needs", "what is broken"
        ));
        for v in variants::ALL {
            let needs = if v.needs_flags.is_empty() {
                "-"
            } else {
                v.needs_flags
            };
            out.push_str(&format!(
                "{:<28} {:<42} {:<22} {}\n",
                v.id, v.violates, needs, v.description
            ));
        }
        out.push_str("\ncheck one with: jpkisim check --variant ID\n");
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}
