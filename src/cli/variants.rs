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
                    "config": v.flags(),
                })
            })
            .collect();
        out = serde_json::to_string_pretty(&list).unwrap_or_default() + "\n";
    } else {
        out.push_str(&format!(
            "{:<28} {:<42} {}\n{:<28} {}\n",
            "id", "must violate", "what is broken", "", "configuration it is checked in"
        ));
        for v in variants::ALL {
            out.push_str(&format!(
                "{:<28} {:<42} {}\n{:<28} {}\n",
                v.id,
                v.violates,
                v.description,
                "",
                v.flags()
            ));
        }
        out.push_str("\ncheck one with: jpkisim check --variant ID\n");
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    ExitCode::SUCCESS
}
