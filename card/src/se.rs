//! The secure element as a whole: one APDU in, one response and its timing record out. It routes
//! SELECT by DF name to the issuer security domain or an application instance, sends every other
//! command to whatever is selected, and keeps the clock (simulated, or slept in real time).
//!
//! It is for being driven exactly like a card reader or an OMAPI channel drives a real SE. It is not
//! a multi-channel runtime: logical-channel bits in CLA are accepted but all channels share one
//! selection (MANAGE CHANNEL is not emulated). Responses come whole, as over T=1, except where the
//! JPKI applet itself defers one behind `61 xx` for GET RESPONSE. A command can also be torn
//! ([`SecureElement::transmit_torn`]): the power goes in the middle of it.

use std::time::{Duration, Instant};

use crate::{
    apdu::{Command, Response, StatusWord},
    isd::{AppState, Instance, Isd, Registry, ISD_AID},
    scp03::StaticKeys,
    timing::{ClockMode, Outcome, Profile, Stages, TimingRecord},
};

/// What is currently selected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selected {
    /// The issuer security domain (also the default after power-on).
    Isd,
    /// An application instance, by AID.
    Application(Vec<u8>),
}

/// One command's result as the reader sees it, plus how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The response APDU.
    pub response: Response,
    /// The response as sent on the wire (data ‖ SW1 SW2).
    pub wire: Vec<u8>,
    /// The timing record of this command.
    pub timing: TimingRecord,
}

/// The emulated secure element.
/// `Clone` forks the whole card, persistent and volatile state alike.
#[derive(Clone, Debug)]
pub struct SecureElement {
    isd: Isd,
    registry: Registry,
    selected: Selected,
    profile: Profile,
    clock_mode: ClockMode,
    clock: Duration,
}

impl SecureElement {
    /// A secure element with an issuer security domain holding `keys`, no application installed,
    /// the ISD selected. `seed` feeds every random choice of the applets it will host.
    pub fn new(keys: StaticKeys, profile: Profile, clock_mode: ClockMode, seed: u64) -> Self {
        Self {
            isd: Isd::new(keys, seed),
            registry: Registry::new(),
            selected: Selected::Isd,
            profile,
            clock_mode,
            clock: Duration::ZERO,
        }
    }

    /// Sends one command APDU (raw bytes) and returns the response with its timing record.
    pub fn transmit(&mut self, apdu: &[u8]) -> Exchange {
        let start = Instant::now();
        let mut stages = Stages::default();
        let parsed = Command::parse(apdu);
        let parse_time = start.elapsed();
        let response = match parsed {
            Ok(cmd) => self.route(&cmd, &mut stages),
            Err(e) => Response::status(e.status()),
        };
        let encode_start = Instant::now();
        let wire = response.to_bytes();
        let transport = parse_time + encode_start.elapsed();
        let measured = start.elapsed();
        let timing = TimingRecord::new(self.profile, transport, stages, measured);
        if self.clock_mode == ClockMode::RealTime {
            std::thread::sleep(timing.card_time.saturating_sub(start.elapsed()));
        }
        self.clock += timing.card_time;
        Exchange {
            response,
            wire,
            timing,
        }
    }

    /// Sends a command and applies the host's deadline: past it the host learns nothing, although
    /// the card did execute the command.
    pub fn transmit_with_deadline(
        &mut self,
        apdu: &[u8],
        deadline: Duration,
    ) -> (Outcome, TimingRecord) {
        let ex = self.transmit(apdu);
        (
            Outcome::within(deadline, ex.response, &ex.timing),
            ex.timing,
        )
    }

    /// The card loses power in the middle of `apdu` (tearing): it never answers, what it wrote
    /// to persistent memory before that point stays (a VERIFY's spent try, see
    /// [`crate::applet::JpkiApplet::process_torn`]), everything else is as if the command never
    /// came, and the power cycle ends every session.
    pub fn transmit_torn(&mut self, apdu: &[u8]) {
        if let Ok(cmd) = Command::parse(apdu) {
            let select_by_name = cmd.ins == 0xA4 && cmd.p1 == 0x04;
            if let (false, Selected::Application(aid)) = (select_by_name, &self.selected) {
                if let Some(inst) = self.registry.get_mut(aid) {
                    if inst.is_selectable() {
                        let personalized = inst.state == AppState::Personalized;
                        inst.applet.process_torn(&cmd, personalized);
                    }
                }
            }
        }
        self.power_cycle();
    }

    /// Power cycle (or card reset): volatile state goes, persistent state (files, keys, PINs,
    /// retry counters, life-cycle states) stays; the ISD is selected again.
    pub fn power_cycle(&mut self) {
        self.isd.close_session();
        for inst in self.registry.values_mut() {
            inst.applet.reset_session();
        }
        self.selected = Selected::Isd;
    }

    /// Simulated time spent in the card since creation: the sum of all card times.
    pub fn clock(&self) -> Duration {
        self.clock
    }

    /// The performance profile in force.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// What is selected.
    pub fn selected(&self) -> &Selected {
        &self.selected
    }

    /// An installed application instance (for tests, conformance checks and the console).
    pub fn instance(&self, aid: &[u8]) -> Option<&Instance> {
        self.registry.get(aid)
    }

    /// Chooses the applet package build in ROM (see [`crate::applet::Build`]).
    pub fn set_package_build(&mut self, build: crate::applet::Build) {
        self.isd.set_package_build(build);
    }

    /// The issuer security domain (for checks on its session state).
    pub fn isd(&self) -> &Isd {
        &self.isd
    }

    fn route(&mut self, cmd: &Command, stages: &mut Stages) -> Response {
        if cmd.ins == 0xA4 && cmd.p1 == 0x04 {
            return self.select_by_name(cmd);
        }
        match &self.selected {
            Selected::Isd => self.isd.process(cmd, &mut self.registry),
            Selected::Application(aid) => match self.registry.get_mut(aid) {
                Some(inst) if inst.is_selectable() => {
                    let personalized = inst.state == AppState::Personalized;
                    inst.applet.process(cmd, personalized, stages)
                }
                // Unreachable over one channel (the ISD must be selected to lock or delete).
                _ => Response::status(StatusWord::CONDITIONS),
            },
        }
    }

    /// SELECT by DF name `00 A4 04 <00|0C> Lc AID [Le]`; an empty AID selects the ISD. No FCI is
    /// returned. A locked or merely installed application is not found (`6A 82`).
    fn select_by_name(&mut self, cmd: &Command) -> Response {
        let class = match cmd.class() {
            Ok(c) => c,
            Err(e) => return e.status().into(),
        };
        if class.proprietary {
            return StatusWord::CLA_NOT_SUPPORTED.into();
        }
        if class.secure_messaging {
            return StatusWord::SM_NOT_SUPPORTED.into();
        }
        if cmd.p2 != 0x00 && cmd.p2 != 0x0C {
            return StatusWord::WRONG_P1P2.into();
        }
        let target = if cmd.data.is_empty() || cmd.data == ISD_AID {
            Selected::Isd
        } else {
            match self.registry.get(cmd.data.as_slice()) {
                Some(inst) if inst.is_selectable() => Selected::Application(cmd.data.clone()),
                _ => return StatusWord::NOT_FOUND.into(),
            }
        };
        // Leaving (or re-selecting) ends the previous selection's volatile state.
        self.isd.close_session();
        if let Selected::Application(old) = &self.selected {
            if let Some(inst) = self.registry.get_mut(old) {
                inst.applet.reset_session();
            }
        }
        if let Selected::Application(new) = &target {
            if let Some(inst) = self.registry.get_mut(new) {
                inst.applet.reset_session();
            }
        }
        self.selected = target;
        StatusWord::OK.into()
    }
}
