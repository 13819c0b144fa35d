//! Prints the generated catalogue block of docs/properties.md:
//! `cargo run -p jpkisim-checker --example catalogue_md`.

fn main() {
    print!("{}", jpkisim_checker::markdown::catalogue());
}
