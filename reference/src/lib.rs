//! Reference implementation of jpkisim: the emulated secure element of a phone, holding the JPKI
//! applet and managed by a GlobalPlatform issuer security domain over SCP03, with a timed signing
//! path.
//!
//! It is for driving a JPKI client or a TSM byte for byte as a real SE would answer, and for
//! measuring the signing path. It is not part of the model checker and models no network: the
//! protocol model lives in `jpkisim-model`. Module map: [`apdu`] (bytes and status words),
//! [`applet`] (the JPKI application), [`scp03`] (secure channel), [`isd`] (issuer security domain),
//! [`timing`] (performance profiles and the host deadline), [`se`] (the whole secure element),
//! [`testcard`] (test keys, certificates, PINs and the personalization script), [`console`] (the
//! `jpkisim applet` line format), [`bench`](mod@bench) (the signing-path benchmark), and with the `arbitrary` feature
//! `fuzzing` (the harness shared by `fuzz/` and the fuzz smoke test).

pub mod apdu;
pub mod applet;
pub mod backend;
pub mod bench;
pub mod console;
pub mod device;
pub mod export;
#[cfg(feature = "arbitrary")]
pub mod fuzzing;
pub mod inproc;
pub mod isd;
pub mod node;
pub mod observe;
pub mod pki;
pub mod scenario;
pub mod scp03;
pub mod se;
pub mod testcard;
pub mod timing;
pub mod udp;
pub mod wire;
