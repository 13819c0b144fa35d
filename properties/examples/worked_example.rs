//! Prints the worked example embedded in docs/counterexamples.md:
//! `cargo run -p jpkisim-properties --example worked_example`.

fn main() {
    print!("{}", jpkisim_properties::markdown::worked_example());
}
