//! Prints a random walk's events (development aid): `cargo run -p jpkisim-traces --example walk SEED STEPS`.
use jpkisim_traces::conform::describe_event;
fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let cfg = jpkisim_model::Config {
        persons: 1,
        ..Default::default()
    };
    let model = jpkisim_model::build(cfg).expect("builds");
    let n = jpkisim_traces::generate::random_walk(
        &model,
        args.first().copied().unwrap_or(0),
        args.get(1).copied().unwrap_or(60),
        70,
        |e| println!("{}", describe_event(&e)),
    );
    println!("{n} steps");
}
