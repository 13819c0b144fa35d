//! Reference implementation of jpkisim.
//!
//! This crate will hold the emulated secure element (the JPKI applet at APDU level, GlobalPlatform
//! management over SCP03, the timed signing path) and the runtimes that drive the model's own
//! transition functions with real crypto. It is not part of the model checker.
