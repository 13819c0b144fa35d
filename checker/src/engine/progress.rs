//! Progress lines on stderr while a search runs: level, states generated, distinct states,
//! states per second and resident memory, every few seconds.
//!
//! Workers only add to counters; a monitor thread prints. Nothing is printed when no period is
//! given (the library default), so tests and `--json` runs stay quiet on stdout and stderr alike.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counters {
    level: AtomicU64,
    generated: AtomicU64,
    unique: AtomicU64,
    stop: AtomicBool,
}

/// A progress reporter; prints until dropped.
pub struct Progress {
    counters: Arc<Counters>,
    wake: Arc<(Mutex<()>, Condvar)>,
    monitor: Option<std::thread::JoinHandle<()>>,
}

/// Resident memory of this process in MiB, where /proc has it.
pub fn resident_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

/// Peak resident memory of this process in MiB (VmHWM), where /proc has it.
pub fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

impl Progress {
    /// Prints every `every` (if given) from a monitor thread, timing from `started`.
    pub fn new(every: Option<Duration>, started: Instant) -> Progress {
        let counters = Arc::new(Counters::default());
        let wake = Arc::new((Mutex::new(()), Condvar::new()));
        let monitor = every.map(|every| {
            let counters = Arc::clone(&counters);
            let wake = Arc::clone(&wake);
            std::thread::spawn(move || {
                let (lock, cvar) = &*wake;
                let mut guard = match lock.lock() {
                    Ok(g) => g,
                    Err(_) => return,
                };
                loop {
                    if counters.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    guard = match cvar.wait_timeout(guard, every) {
                        Ok((g, _)) => g,
                        Err(_) => return,
                    };
                    if counters.stop.load(Ordering::Relaxed) {
                        return;
                    }
                    eprintln!("{}", line(&counters, started));
                }
            })
        });
        Progress {
            counters,
            wake,
            monitor,
        }
    }

    /// A new level starts, with the totals so far.
    pub fn level(&self, level: usize, generated: u64, unique: u64) {
        self.counters.level.store(level as u64, Ordering::Relaxed);
        self.counters.generated.store(generated, Ordering::Relaxed);
        self.counters.unique.store(unique, Ordering::Relaxed);
    }

    /// A worker (of a cluster) added `n` distinct states at `level`.
    pub fn add_unique(&self, n: u64, level: usize) {
        self.counters.unique.fetch_add(n, Ordering::Relaxed);
        self.counters
            .level
            .fetch_max(level as u64, Ordering::Relaxed);
    }

    /// A worker generated `n` more states.
    pub fn generated(&self, n: u64) {
        self.counters.generated.fetch_add(n, Ordering::Relaxed);
    }

    /// The search ended; stops the monitor.
    pub fn done(&self, level: usize, generated: u64, unique: u64) {
        self.level(level, generated, unique);
    }
}

fn line(c: &Counters, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let generated = c.generated.load(Ordering::Relaxed);
    let mem = resident_mib().map_or_else(String::new, |m| format!(", {m:.0} MiB resident"));
    format!(
        "jpkisim check: level {}, {} states, {} unique, {:.0} states/s, {:.0}s{}",
        c.level.load(Ordering::Relaxed),
        generated,
        c.unique.load(Ordering::Relaxed),
        generated as f64 / secs.max(1e-9),
        secs,
        mem
    )
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.counters.stop.store(true, Ordering::Relaxed);
        // Notify under the lock, so that a monitor between its check and its wait is not missed.
        let guard = self.wake.0.lock();
        self.wake.1.notify_all();
        drop(guard);
        if let Some(m) = self.monitor.take() {
            let _ = m.join();
        }
    }
}
