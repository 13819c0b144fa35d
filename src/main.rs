//! `jpkisim`: model-check, explore, run and conformance-check the JPKI smartphone protocol.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
