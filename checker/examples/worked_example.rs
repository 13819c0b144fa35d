//! Prints the worked example embedded in docs/counterexamples.md:
//! `cargo run -p jpkisim-checker --example worked_example`.

fn main() {
    print!("{}", jpkisim_checker::markdown::worked_example());
}
