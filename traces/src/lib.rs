//! Recorded traces and conformance checking.
//!
//! The trace format and `jpkisim conform` arrive with the trace issue; for now this crate only
//! states its place in the workspace, so that the workspace layout is the final one from the start.
