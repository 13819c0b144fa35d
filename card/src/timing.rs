//! Timing of the emulated secure element: what each command cost (measured on this machine, by
//! stage), what it would cost on a real chip (the performance profile), and what the host sees
//! when a command outlives its deadline ("outcome unknown").
//!
//! It is for answering the studies' question "is a SIM fast enough to sign?" and for exercising
//! host timeouts. It is not a model of transport latency: the profiles only carry sourced figures
//! (on-chip RSA-2048 signature times from JCAlgTest, see docs/sources/globalplatform-and-timing.md),
//! and any per-command overhead is the user's `custom` choice.

use std::{
    fmt,
    str::FromStr,
    time::{Duration, Instant},
};

use crate::apdu::Response;

/// A secure element performance profile: how long the chip takes, where we know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Measure only: the card time is what this machine took.
    Instant,
    /// NXP JCOP4: ≈ 61 ms per RSA-2048 PKCS#1 signature on chip (JCAlgTest).
    Jcop4,
    /// A SIM card (Taisys SIMoME): ≈ 236 ms per RSA-2048 private-key operation (JCAlgTest).
    Sim,
    /// User-chosen RSA signature time and a fixed cost charged to every command.
    Custom {
        /// Time charged for one RSA-2048 signature instead of the measured one.
        rsa_sign: Duration,
        /// Time charged to every command on top of the measured processing.
        per_command: Duration,
    },
}

impl Profile {
    /// The RSA signature time this profile charges, `None` for [`Profile::Instant`] (measured).
    pub fn rsa_sign(self) -> Option<Duration> {
        match self {
            Self::Instant => None,
            Self::Jcop4 => Some(Duration::from_millis(61)),
            Self::Sim => Some(Duration::from_millis(236)),
            Self::Custom { rsa_sign, .. } => Some(rsa_sign),
        }
    }

    /// Fixed time charged to every command.
    pub fn per_command(self) -> Duration {
        match self {
            Self::Custom { per_command, .. } => per_command,
            _ => Duration::ZERO,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Instant => f.write_str("instant"),
            Self::Jcop4 => f.write_str("jcop4"),
            Self::Sim => f.write_str("sim"),
            Self::Custom {
                rsa_sign,
                per_command,
            } => {
                write!(
                    f,
                    "custom:{}:{}",
                    rsa_sign.as_millis(),
                    per_command.as_millis()
                )
            }
        }
    }
}

/// Why a profile name was not understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile '{0}': expected instant, jcop4, sim or custom:RSA_MS[:PER_COMMAND_MS]")]
pub struct ProfileError(String);

impl FromStr for Profile {
    type Err = ProfileError;

    /// `instant`, `jcop4`, `sim`, or `custom:RSA_MS[:PER_COMMAND_MS]` (milliseconds).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ProfileError(s.to_owned());
        match s {
            "instant" => Ok(Self::Instant),
            "jcop4" => Ok(Self::Jcop4),
            "sim" => Ok(Self::Sim),
            _ => {
                let rest = s.strip_prefix("custom:").ok_or_else(err)?;
                let mut parts = rest.split(':');
                let mut ms = || -> Result<Option<u64>, ProfileError> {
                    parts
                        .next()
                        .map(|p| p.parse::<u64>().map_err(|_| err()))
                        .transpose()
                };
                let rsa = ms()?.ok_or_else(err)?;
                let per = ms()?.unwrap_or(0);
                if parts.next().is_some() {
                    return Err(err());
                }
                Ok(Self::Custom {
                    rsa_sign: Duration::from_millis(rsa),
                    per_command: Duration::from_millis(per),
                })
            }
        }
    }
}

/// Whether the emulator sleeps to make the card time real, or only advances a simulated clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// Advance a simulated clock by the card time (tests, model-driven runs).
    Simulated,
    /// Sleep until the card time has passed in wall-clock time (a console user feels the card).
    RealTime,
}

/// Measured stage durations inside one command, filled in by the applet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stages {
    /// PIN comparison and retry-counter update (VERIFY, CHANGE REFERENCE DATA).
    pub pin_check: Option<Duration>,
    /// COMPUTE DIGITAL SIGNATURE's input check and encoding: the length the P1 scheme allows,
    /// and for the schemes that need it the on-card SHA-256 and DigestInfo wrapping. (The name
    /// is from when the applet accepted only a DigestInfo; P1 `00` now signs the data as sent,
    /// as the card does.)
    pub input_check: Option<Duration>,
    /// RSA private-key operation (COMPUTE DIGITAL SIGNATURE; key generation in STORE DATA is
    /// not timed).
    pub rsa: Option<Duration>,
}

/// The timing record every command returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimingRecord {
    /// APDU parsing and response encoding (the in-process "transport"), measured.
    pub transport: Duration,
    /// Measured stages inside the applet.
    pub stages: Stages,
    /// Everything the SE did for this command, measured (includes the stages and transport).
    pub measured: Duration,
    /// What the command takes on the profiled chip: measured time with the measured RSA stage
    /// replaced by the profile's figure, plus the profile's per-command charge. This is what the
    /// host waits for.
    pub card_time: Duration,
}

impl TimingRecord {
    /// Builds the record from the measured parts and the profile.
    pub fn new(profile: Profile, transport: Duration, stages: Stages, measured: Duration) -> Self {
        let rsa_charged = match (stages.rsa, profile.rsa_sign()) {
            (Some(measured_rsa), Some(chip)) => measured.saturating_sub(measured_rsa) + chip,
            _ => measured,
        };
        Self {
            transport,
            stages,
            measured,
            card_time: rsa_charged + profile.per_command(),
        }
    }

    /// A single line for the console: stage times in microseconds, card time in milliseconds.
    pub fn summary(&self) -> String {
        let us = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e6);
        let stage = |d: Option<Duration>| d.map_or_else(|| "-".to_owned(), us);
        format!(
            "transport_us={} pin_check_us={} input_check_us={} rsa_us={} measured_us={} card_time_ms={:.3}",
            us(self.transport),
            stage(self.stages.pin_check),
            stage(self.stages.input_check),
            stage(self.stages.rsa),
            us(self.measured),
            self.card_time.as_secs_f64() * 1e3
        )
    }
}

/// A stopwatch for one stage.
pub(crate) fn time<T>(slot: &mut Option<Duration>, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    *slot = Some(slot.unwrap_or_default() + start.elapsed());
    out
}

/// What the host learns from one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The card answered within the deadline.
    Answered(Response),
    /// The deadline passed first. The card may still have executed the command: after a VERIFY a
    /// try may have been spent, so a client must not retry blindly (it should query the counter
    /// with the case-1 VERIFY first).
    Unknown,
}

impl Outcome {
    /// Applies a host deadline to a card answer: the answer is lost if the card took longer.
    pub fn within(deadline: Duration, response: Response, record: &TimingRecord) -> Self {
        if record.card_time > deadline {
            Self::Unknown
        } else {
            Self::Answered(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::StatusWord;

    #[test]
    fn profiles_parse_and_print() {
        for s in ["instant", "jcop4", "sim", "custom:120:5"] {
            assert_eq!(
                s.parse::<Profile>().map(|p| p.to_string()),
                Ok(s.to_owned())
            );
        }
        assert_eq!(
            "custom:7".parse(),
            Ok(Profile::Custom {
                rsa_sign: Duration::from_millis(7),
                per_command: Duration::ZERO
            })
        );
        for bad in ["", "jcop", "custom:", "custom:x", "custom:1:2:3"] {
            assert!(bad.parse::<Profile>().is_err(), "{bad}");
        }
    }

    #[test]
    fn profile_replaces_the_measured_rsa_stage() {
        let stages = Stages {
            rsa: Some(Duration::from_millis(4)),
            ..Stages::default()
        };
        let measured = Duration::from_millis(5);
        let r = TimingRecord::new(Profile::Sim, Duration::ZERO, stages, measured);
        assert_eq!(r.card_time, Duration::from_millis(237));
        let r = TimingRecord::new(Profile::Instant, Duration::ZERO, stages, measured);
        assert_eq!(r.card_time, measured);
        let r = TimingRecord::new(Profile::Jcop4, Duration::ZERO, Stages::default(), measured);
        assert_eq!(r.card_time, measured, "no RSA, no charge");
    }

    #[test]
    fn deadline() {
        let stages = Stages {
            rsa: Some(Duration::from_millis(1)),
            ..Stages::default()
        };
        let r = TimingRecord::new(
            Profile::Sim,
            Duration::ZERO,
            stages,
            Duration::from_millis(1),
        );
        let resp = Response::status(StatusWord::OK);
        assert_eq!(
            Outcome::within(Duration::from_millis(200), resp.clone(), &r),
            Outcome::Unknown
        );
        assert_eq!(
            Outcome::within(Duration::from_millis(300), resp.clone(), &r),
            Outcome::Answered(resp)
        );
    }
}
