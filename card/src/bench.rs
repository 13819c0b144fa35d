//! The signing-path benchmark behind `jpkisim bench applet`: COMPUTE DIGITAL SIGNATURE through the
//! whole emulated SE (APDU bytes in, response out) against a bare `rsa` signature of the same
//! DigestInfo with the same key in the same run, reported per stage and as a ratio.
//!
//! It measures this machine's software path, i.e. the emulator's overhead over the RSA it wraps;
//! it does not claim anything about a real chip (that is what the performance profiles are for).

use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::{pkcs1::DecodeRsaPrivateKey, Pkcs1v15Sign, RsaPrivateKey};

use crate::{
    apdu::{Command, StatusWord},
    applet::{fid, sha256_digest_info, JPKI_AID},
    testcard::{self, AUTH_KEY_DER, AUTH_PIN},
    timing::{ClockMode, Profile, TimingRecord},
    tsm::PersoError,
};

/// Medians over the iterations.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Number of signatures on each side.
    pub iterations: usize,
    /// APDU parse and response encode.
    pub transport: Duration,
    /// The signature input's check and encoding for the P1 scheme inside the applet.
    pub input_check: Duration,
    /// RSA operation inside the applet (blinded PKCS#1 v1.5).
    pub rsa: Duration,
    /// Whole command inside the SE.
    pub measured: Duration,
    /// Caller-side wall time of `transmit` for the command.
    pub end_to_end: Duration,
    /// Bare `rsa` signature of the same DigestInfo, same key, same blinding.
    pub bare_rsa: Duration,
    /// Card time under the profile (what the host would wait on the chip).
    pub card_time: Duration,
}

impl BenchReport {
    /// End-to-end emulator signature time over the bare signature time.
    pub fn ratio(&self) -> f64 {
        self.end_to_end.as_secs_f64() / self.bare_rsa.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Why the benchmark could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BenchError {
    /// The test card could not be personalized.
    #[error(transparent)]
    Perso(#[from] PersoError),
    /// A login step was refused.
    #[error("login step {0} answered {1}")]
    Login(&'static str, StatusWord),
    /// The bundled test key did not parse (a corrupted checkout).
    #[error("test key unreadable")]
    Key,
    /// The emulator's signature differs from the bare one (PKCS#1 v1.5 is deterministic).
    #[error("emulator and bare signatures differ")]
    Mismatch,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Runs `iterations` signatures each way (plus a few warm-ups) under `profile`, simulated clock.
pub fn signing_path(iterations: usize, profile: Profile) -> Result<BenchReport, BenchError> {
    let iterations = iterations.max(1);
    let mut se = testcard::personalized_se(profile, ClockMode::Simulated)?;
    let mut step = |name: &'static str, apdu: Vec<u8>| {
        let sw = se.transmit(&apdu).response.sw;
        if sw == StatusWord::OK {
            Ok(())
        } else {
            Err(BenchError::Login(name, sw))
        }
    };
    let ef = |f: u16| [0x00, 0xA4, 0x02, 0x0C, 0x02, (f >> 8) as u8, f as u8].to_vec();
    let mut select = vec![0x00, 0xA4, 0x04, 0x0C, JPKI_AID.len() as u8];
    select.extend_from_slice(&JPKI_AID);
    step("SELECT AP", select)?;
    step("SELECT PIN EF", ef(fid::AUTH_PIN))?;
    let mut verify = vec![0x00, 0x20, 0x00, 0x80, 0x04];
    verify.extend_from_slice(AUTH_PIN.as_bytes());
    step("VERIFY", verify)?;
    step("SELECT key EF", ef(fid::AUTH_KEY))?;

    let digest_info = sha256_digest_info(b"jpkisim bench applet");
    let sign = Command::new(0x80, 0x2A, 0x00, 0x80, digest_info.clone(), Some(256))
        .to_bytes()
        .ok_or(BenchError::Key)?;
    let key = RsaPrivateKey::from_pkcs1_der(AUTH_KEY_DER).map_err(|_| BenchError::Key)?;
    let mut rng = ChaCha20Rng::seed_from_u64(testcard::SEED);

    let warmup = 3;
    let mut records: Vec<TimingRecord> = Vec::with_capacity(iterations);
    let mut end_to_end = Vec::with_capacity(iterations);
    let mut bare = Vec::with_capacity(iterations);
    for i in 0..iterations + warmup {
        // Interleaved so that both sides see the same machine conditions.
        let start = Instant::now();
        let ex = se.transmit(&sign);
        let e2e = start.elapsed();
        if ex.response.sw != StatusWord::OK {
            return Err(BenchError::Login(
                "COMPUTE DIGITAL SIGNATURE",
                ex.response.sw,
            ));
        }
        let start = Instant::now();
        let sig = key.sign_with_rng(&mut rng, Pkcs1v15Sign::new_unprefixed(), &digest_info);
        let b = start.elapsed();
        match sig {
            Ok(s) if s == ex.response.data => {}
            _ => return Err(BenchError::Mismatch),
        }
        if i >= warmup {
            records.push(ex.timing);
            end_to_end.push(e2e);
            bare.push(b);
        }
    }
    let pick = |f: fn(&TimingRecord) -> Duration| median(records.iter().map(f).collect());
    Ok(BenchReport {
        iterations,
        transport: pick(|r| r.transport),
        input_check: pick(|r| r.stages.input_check.unwrap_or_default()),
        rsa: pick(|r| r.stages.rsa.unwrap_or_default()),
        measured: pick(|r| r.measured),
        card_time: pick(|r| r.card_time),
        end_to_end: median(end_to_end),
        bare_rsa: median(bare),
    })
}
