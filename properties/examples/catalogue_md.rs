//! Prints the generated catalogue block of docs/properties.md:
//! `cargo run -p jpkisim-properties --example catalogue_md`.

fn main() {
    print!("{}", jpkisim_properties::markdown::catalogue());
}
