//! The emulated secure element of a phone: the JPKI applet, managed by a GlobalPlatform issuer
//! security domain over SCP03, answering APDUs with a timed signing path.
//!
//! It is for driving a JPKI client or a TSM byte for byte as a real SE would answer, and for
//! measuring the signing path. It must never know the protocol model: it depends on no other
//! jpkisim crate, decides nothing about issuance, revocation or who may ask, and answers only
//! what a card answers (status words, exactly as a card returns them). The reference runtime
//! (`jpkisim-reference`) tells it what to do through [`tsm`], the TSM's host side.
//!
//! Module map: [`apdu`] (bytes and status words), [`applet`] (the JPKI application),
//! [`scp03`] (secure channel), [`isd`] (issuer security domain), [`gp`] (typed GlobalPlatform
//! commands the host builds), [`tsm`] (the TSM host side: a secure channel and the management
//! commands over it), [`timing`] (performance profiles and the host deadline), [`se`] (the whole
//! secure element), [`token`] (what a personalized JPKI token holds and the TSM script that
//! personalizes one), [`testcard`] (published test keys, certificates and PINs), [`vpcd`] (the
//! vsmartcard virtual-reader protocol: the SE as a PC/SC card), [`console`] (the `jpkisim
//! applet` line format), [`bench`](mod@bench) (the signing-path benchmark), and with the
//! `arbitrary` feature `fuzzing` (the harness shared by `fuzz/` and the fuzz smoke test).

pub mod apdu;
pub mod applet;
pub mod bench;
pub mod console;
#[cfg(feature = "arbitrary")]
pub mod fuzzing;
pub mod gp;
pub mod isd;
pub mod scp03;
pub mod se;
pub mod testcard;
pub mod timing;
pub mod token;
pub mod tsm;
pub mod vpcd;
