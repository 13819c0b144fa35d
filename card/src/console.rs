//! The line format of the APDU console (`jpkisim applet`): one hex command per line in, one
//! response line out. Shared by the CLI and the golden tests so that a script checked here runs
//! unchanged through the console.
//!
//! Format: blank lines and everything from `#` to the end of a line are ignored; hex digits may
//! be separated by spaces or tabs. The output line is the response data in hex, a space, and the
//! status word (`9000` alone when there is no data). It is not a scripting language: no
//! variables, no expected-response checks (compare the output with a file instead).

use crate::{
    apdu::{from_hex, to_hex, HexError, Response},
    se::{Exchange, SecureElement},
};

/// The command bytes on a console line, `None` for a blank or comment line.
pub fn parse_line(line: &str) -> Result<Option<Vec<u8>>, HexError> {
    let code = line.split('#').next().unwrap_or("").trim();
    if code.is_empty() {
        return Ok(None);
    }
    from_hex(code).map(Some)
}

/// Runs one console line against the secure element.
pub fn run_line(se: &mut SecureElement, line: &str) -> Result<Option<Exchange>, HexError> {
    Ok(parse_line(line)?.map(|apdu| se.transmit(&apdu)))
}

/// The output line for a response.
pub fn format_response(response: &Response) -> String {
    if response.data.is_empty() {
        response.sw.to_string()
    } else {
        format!("{} {}", to_hex(&response.data), response.sw)
    }
}

/// A whole script's output lines, or the 1-based line number and error of the first bad line
/// (commands before it have been executed).
pub fn run_script(se: &mut SecureElement, script: &str) -> Result<Vec<String>, (usize, HexError)> {
    let mut out = Vec::new();
    for (i, line) in script.lines().enumerate() {
        match run_line(se, line) {
            Ok(Some(ex)) => out.push(format_response(&ex.response)),
            Ok(None) => {}
            Err(e) => return Err((i + 1, e)),
        }
    }
    Ok(out)
}
