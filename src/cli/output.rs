//! Output paths checked before the work starts: a check that runs for a minute and then cannot
//! write its report has lost the user's minute, and its verdict.
//!
//! Each check opens what the command will write exactly as the command will (a file created or
//! truncated in an existing, writable directory; a directory created if missing), so the
//! operating system gives its own reason. A file that did not exist is removed again.

use std::fs::OpenOptions;
use std::path::Path;

/// Checks that `path` (given with `flag`) can be written as a file. One line on failure.
pub(crate) fn file(flag: &str, path: &Path) -> Result<(), String> {
    let fail = |why: String| format!("{flag} {}: {why}", path.display());
    if path.as_os_str().is_empty() {
        return Err(format!("{flag}: an empty path"));
    }
    if path.is_dir() {
        return Err(fail("is a directory, not a file".into()));
    }
    let existed = path.exists();
    // Append, so that an existing file is neither truncated nor changed by the check.
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Checks that `path` (given with `flag`) is, or can be made, a directory that files can be
/// written in (it is created if missing, as the command would).
pub(crate) fn dir(flag: &str, path: &Path) -> Result<(), String> {
    let fail = |why: String| format!("{flag} {}: {why}", path.display());
    if path.exists() && !path.is_dir() {
        return Err(fail("is a file, not a directory".into()));
    }
    std::fs::create_dir_all(path).map_err(|e| fail(format!("cannot create the directory: {e}")))?;
    let probe = path.join(format!(".jpkisim-write-check-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| fail(format!("cannot write in it: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes `text` to the file `path`, with `flag` in the error line.
pub(crate) fn write(flag: &str, path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_file_passes_and_is_not_left_behind() {
        let d = tempfile::tempdir().expect("temp dir");
        let p = d.path().join("out.json");
        assert_eq!(file("--x", &p), Ok(()));
        assert!(!p.exists(), "the check leaves no file behind");
        std::fs::write(&p, "keep").expect("write");
        assert_eq!(file("--x", &p), Ok(()));
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "keep");
    }

    #[test]
    fn a_directory_or_an_unwritable_place_fails_with_the_flag_and_the_reason() {
        let d = tempfile::tempdir().expect("temp dir");
        let e = file("--trace-out", d.path()).expect_err("a directory");
        assert!(
            e.starts_with("--trace-out ") && e.ends_with("is a directory, not a file"),
            "{e}"
        );
        let e = file("--record", Path::new("/proc/nope.ndjson")).expect_err("/proc");
        assert!(e.starts_with("--record /proc/nope.ndjson: "), "{e}");
        let e = file("--junit", &d.path().join("no/such/dir/x.xml")).expect_err("no parent");
        assert!(e.contains("No such file or directory"), "{e}");
    }

    #[test]
    fn a_directory_is_made_and_probed() {
        let d = tempfile::tempdir().expect("temp dir");
        let sub = d.path().join("a/b");
        assert_eq!(dir("--record", &sub), Ok(()));
        assert!(sub.is_dir());
        assert_eq!(
            std::fs::read_dir(&sub).expect("list").count(),
            0,
            "no probe left"
        );
        let f = d.path().join("f");
        std::fs::write(&f, "").expect("write");
        assert!(dir("--record", &f).is_err());
    }
}
