//! The issuer security domain: the GlobalPlatform subset a TSM needs to install, personalize,
//! lock and delete the JPKI applet over SCP03 — INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, INSTALL
//! [for install (and make selectable)], INSTALL [for make selectable], INSTALL [for
//! personalization], STORE DATA in DGI format (secret DGIs under the DEK), DELETE, GET STATUS and
//! SET STATUS (lock/unlock) — and the registry of application instances with their life-cycle
//! states.
//!
//! What it is not: a card manager with LOAD (the JPKI package is in ROM), supplementary or
//! delegated-management security domains, PUT KEY, GET DATA, or card-level life-cycle changes.
//! Every management command requires an authenticated SCP03 session with at least C-MAC; a
//! command whose MAC fails (tampered or replayed) is rejected with `69 82`, has no effect, and
//! closes the session.

use std::collections::BTreeMap;

use crate::{
    apdu::{Command, Response, StatusWord},
    applet::{Build, InstallParams, JpkiApplet},
    scp03::{dek_decrypt, pseudo_random_card_challenge, CardSession, ScpError, StaticKeys},
};

/// AID of the issuer security domain (GlobalPlatform default).
pub const ISD_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

/// Executable load file AID of the JPKI package in ROM (jpkisim's choice; not public).
pub const JPKI_PACKAGE_AID: [u8; 9] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00];

/// Executable module AID of the JPKI applet class in that package (jpkisim's choice).
pub const JPKI_MODULE_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// Life-cycle byte of the security domain itself: SECURED.
pub const ISD_LIFECYCLE_SECURED: u8 = 0x0F;

/// GlobalPlatform application life-cycle states used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppState {
    /// `03`: installed, not selectable.
    Installed,
    /// `07`: selectable (not yet personalized).
    Selectable,
    /// `0F`: application-specific state "personalized" (keeps the low bits `07`).
    Personalized,
}

impl AppState {
    /// The GlobalPlatform life-cycle byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Installed => 0x03,
            Self::Selectable => 0x07,
            Self::Personalized => 0x0F,
        }
    }
}

/// One installed application instance.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Its state before any lock.
    pub state: AppState,
    /// Locked by SET STATUS: not selectable until unlocked.
    pub locked: bool,
    /// Privileges byte given at install (reported by GET STATUS).
    pub privileges: u8,
    /// The applet itself.
    pub applet: JpkiApplet,
}

impl Instance {
    /// The life-cycle byte as GET STATUS reports it: a lock sets bit 8 and keeps the state's low
    /// bits, so `(byte & 0x83) == 0x83` means LOCKED (`83` from INSTALLED, `8F` from personalized).
    pub fn lifecycle_byte(&self) -> u8 {
        let base = self.state.byte();
        if self.locked {
            base | 0x80
        } else {
            base
        }
    }

    /// Whether SELECT may reach it.
    pub fn is_selectable(&self) -> bool {
        !self.locked && self.state != AppState::Installed
    }
}

/// Installed applications by AID.
pub type Registry = BTreeMap<Vec<u8>, Instance>;

/// STORE DATA reassembly: DGIs may span blocks.
#[derive(Clone, Debug, Default)]
struct StoreState {
    next_block: u8,
    buffer: Vec<u8>,
    /// Whether the DGI at the head of `buffer` started in an encrypted block.
    buffer_encrypted: bool,
}

/// The issuer security domain.
#[derive(Clone, Debug)]
pub struct Isd {
    keys: StaticKeys,
    key_diversification: [u8; 10],
    /// Sequence counter of the pseudo-random card challenge; rises on every INITIALIZE UPDATE.
    sequence: u32,
    session: Option<CardSession>,
    perso_target: Option<Vec<u8>>,
    store: StoreState,
    next_applet_seed: u64,
    build: Build,
}

impl Isd {
    /// A security domain with these static keys. `seed` seeds the applets it installs.
    pub fn new(keys: StaticKeys, seed: u64) -> Self {
        Self {
            keys,
            key_diversification: [0; 10],
            sequence: 0,
            session: None,
            perso_target: None,
            store: StoreState::default(),
            next_applet_seed: seed,
            build: Build::Correct,
        }
    }

    /// Which applet package build later INSTALLs instantiate (a defective one only to replay a
    /// broken protocol variant).
    pub fn set_package_build(&mut self, build: Build) {
        self.build = build;
    }

    /// Ends the secure channel (power cycle, deselection, or a security failure).
    pub fn close_session(&mut self) {
        self.session = None;
        self.perso_target = None;
        self.store = StoreState::default();
    }

    /// Whether an authenticated secure channel is open.
    pub fn is_authenticated(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(CardSession::is_authenticated)
    }

    /// Processes a command sent to the selected security domain.
    pub fn process(&mut self, cmd: &Command, registry: &mut Registry) -> Response {
        match self.dispatch(cmd, registry) {
            Ok(r) => r,
            Err(sw) => Response::status(sw),
        }
    }

    fn dispatch(&mut self, cmd: &Command, registry: &mut Registry) -> Result<Response, StatusWord> {
        let class = cmd.class().map_err(|e| e.status())?;
        if !matches!(cmd.ins, 0x50 | 0x82 | 0xE6 | 0xE2 | 0xE4 | 0xF2 | 0xF0) {
            return Err(StatusWord::INS_NOT_SUPPORTED);
        }
        if !class.proprietary {
            return Err(StatusWord::CLA_NOT_SUPPORTED);
        }
        match cmd.ins {
            0x50 if !class.secure_messaging => return self.initialize_update(cmd),
            0x82 if class.secure_messaging => return self.external_authenticate(cmd),
            0x50 | 0x82 => return Err(StatusWord::CLA_NOT_SUPPORTED),
            _ => {}
        }
        // Management commands: only inside an authenticated session, MAC verified first.
        let Some(session) = self.session.as_mut().filter(|s| s.is_authenticated()) else {
            return Err(StatusWord::SECURITY_STATUS);
        };
        if !class.secure_messaging {
            self.close_session();
            return Err(StatusWord::SECURITY_STATUS);
        }
        let plain = match session.unwrap(cmd) {
            Ok(plain) => plain,
            Err(e) => {
                self.close_session();
                return Err(e.status());
            }
        };
        match plain.ins {
            0xE6 => self.install(&plain, registry),
            0xE2 => {
                let result = self.store_data(&plain, registry);
                if result.is_err() {
                    // A refused block aborts the sequence: the TSM starts again at block 0.
                    self.store = StoreState::default();
                }
                result
            }
            0xE4 => self.delete(&plain, registry),
            0xF2 => self.get_status(&plain, registry),
            _ => self.set_status(&plain, registry),
        }
    }

    /// `80 50 KVN 00 08 <host challenge> 00`.
    fn initialize_update(&mut self, cmd: &Command) -> Result<Response, StatusWord> {
        self.close_session();
        if cmd.p2 != 0x00 {
            return Err(StatusWord::WRONG_P1P2);
        }
        if cmd.p1 != 0x00 && cmd.p1 != self.keys.kvn {
            return Err(StatusWord::REF_DATA_NOT_FOUND);
        }
        let Ok(host_challenge) = <[u8; 8]>::try_from(cmd.data.as_slice()) else {
            return Err(StatusWord::WRONG_LENGTH);
        };
        self.sequence = (self.sequence + 1) & 0x00FF_FFFF;
        let seq = self.sequence.to_be_bytes();
        let sequence = [seq[1], seq[2], seq[3]];
        let card_challenge = pseudo_random_card_challenge(&self.keys, sequence, &ISD_AID);
        let session = CardSession::new(&self.keys, host_challenge, card_challenge);
        let mut data = self.key_diversification.to_vec();
        // KVN, SCP 03, i = 10 (pseudo-random card challenge; no R-MAC, no R-ENC).
        data.extend_from_slice(&[self.keys.kvn, 0x03, 0x10]);
        data.extend_from_slice(&card_challenge);
        data.extend_from_slice(&session.card_cryptogram());
        data.extend_from_slice(&sequence);
        self.session = Some(session);
        Ok(Response::ok(data))
    }

    /// `84 82 <level> 00 10 <host cryptogram> <C-MAC>`.
    fn external_authenticate(&mut self, cmd: &Command) -> Result<Response, StatusWord> {
        let Some(session) = self.session.as_mut().filter(|s| !s.is_authenticated()) else {
            self.close_session();
            return Err(StatusWord::CONDITIONS);
        };
        match session.external_authenticate(cmd) {
            Ok(()) => Ok(Response::status(StatusWord::OK)),
            Err(e) => {
                self.close_session();
                Err(match e {
                    ScpError::Malformed => StatusWord::WRONG_LENGTH,
                    e => e.status(),
                })
            }
        }
    }

    /// INSTALL: P1 `04` install, `0C` install and make selectable, `08` make selectable, `20` for
    /// personalization.
    fn install(&mut self, cmd: &Command, registry: &mut Registry) -> Result<Response, StatusWord> {
        if cmd.p2 != 0x00 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let fields = lv_fields(&cmd.data).ok_or(StatusWord::WRONG_DATA)?;
        match cmd.p1 {
            0x04 | 0x0C => {
                let [package, module, aid, privileges, params, token] = fields[..] else {
                    return Err(StatusWord::WRONG_DATA);
                };
                if package != JPKI_PACKAGE_AID || module != JPKI_MODULE_AID {
                    return Err(StatusWord::REF_DATA_NOT_FOUND);
                }
                if !(5..=16).contains(&aid.len()) || privileges.len() > 3 || !token.is_empty() {
                    return Err(StatusWord::WRONG_DATA);
                }
                let Some(params) = InstallParams::parse(params) else {
                    return Err(StatusWord::WRONG_DATA);
                };
                if registry.contains_key(aid) || aid == ISD_AID {
                    return Err(StatusWord::WRONG_DATA);
                }
                let state = if cmd.p1 == 0x0C {
                    AppState::Selectable
                } else {
                    AppState::Installed
                };
                self.next_applet_seed = self.next_applet_seed.wrapping_add(1);
                let instance = Instance {
                    state,
                    locked: false,
                    privileges: privileges.first().copied().unwrap_or(0),
                    applet: JpkiApplet::built(self.next_applet_seed, params, self.build),
                };
                registry.insert(aid.to_vec(), instance);
                Ok(Response::ok(vec![0x00]))
            }
            0x08 => {
                let [_, _, aid, _, _, _] = fields[..] else {
                    return Err(StatusWord::WRONG_DATA);
                };
                let inst = registry
                    .get_mut(aid)
                    .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
                if inst.state != AppState::Installed || inst.locked {
                    return Err(StatusWord::CONDITIONS);
                }
                inst.state = AppState::Selectable;
                Ok(Response::ok(vec![0x00]))
            }
            0x20 => {
                let [_, _, aid, _, _, _] = fields[..] else {
                    return Err(StatusWord::WRONG_DATA);
                };
                let inst = registry.get(aid).ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
                if !inst.is_selectable() {
                    return Err(StatusWord::CONDITIONS);
                }
                self.perso_target = Some(aid.to_vec());
                self.store = StoreState::default();
                Ok(Response::ok(vec![0x00]))
            }
            _ => Err(StatusWord::WRONG_P1P2),
        }
    }

    /// STORE DATA `80 E2 <P1> <block>`: P1 bit 8 last block, bits 7–6 `11` DEK-encrypted, bits
    /// 5–4 `01` DGI format (the only one accepted). DGIs may span blocks; each is handed to the
    /// applet when complete. The last block moves a complete applet to personalized (`0F`). A
    /// refused block aborts the sequence (DGIs already handed over stay applied).
    fn store_data(
        &mut self,
        cmd: &Command,
        registry: &mut Registry,
    ) -> Result<Response, StatusWord> {
        let aid = self.perso_target.clone().ok_or(StatusWord::CONDITIONS)?;
        let inst = registry.get_mut(&aid).ok_or(StatusWord::CONDITIONS)?;
        let encrypted = match cmd.p1 & 0x60 {
            0x00 => false,
            0x60 => true,
            _ => return Err(StatusWord::WRONG_P1P2),
        };
        if cmd.p1 & 0x18 != 0x08 || cmd.p1 & 0x07 != 0 || cmd.p2 != self.store.next_block {
            return Err(StatusWord::WRONG_P1P2);
        }
        if cmd.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        if self.store.buffer.is_empty() {
            self.store.buffer_encrypted = encrypted;
        } else if self.store.buffer_encrypted != encrypted {
            return Err(StatusWord::WRONG_DATA);
        }
        self.store.next_block = self.store.next_block.wrapping_add(1);
        self.store.buffer.extend_from_slice(&cmd.data);
        let mut response = Vec::new();
        while let Some((tag, value, used)) = next_dgi(&self.store.buffer) {
            let plain = if self.store.buffer_encrypted {
                dek_decrypt(&self.keys.dek, value).ok_or(StatusWord::WRONG_DATA)?
            } else {
                value.to_vec()
            };
            if let Some(out) = inst
                .applet
                .store_dgi(tag, &plain, self.store.buffer_encrypted)?
            {
                response = out;
            }
            self.store.buffer.drain(..used);
            self.store.buffer_encrypted = encrypted;
        }
        if cmd.p1 & 0x80 != 0 {
            let partial = !self.store.buffer.is_empty();
            self.store = StoreState::default();
            if partial {
                return Err(StatusWord::WRONG_DATA);
            }
            if !inst.applet.is_complete() {
                return Err(StatusWord::CONDITIONS);
            }
            inst.state = AppState::Personalized;
        }
        Ok(Response::ok(response))
    }

    /// DELETE `80 E4 00 00 4F <len> <AID>`: removes the instance and wipes its keys and PINs.
    fn delete(&mut self, cmd: &Command, registry: &mut Registry) -> Result<Response, StatusWord> {
        if cmd.p1 != 0x00 || (cmd.p2 != 0x00 && cmd.p2 != 0x80) {
            return Err(StatusWord::WRONG_P1P2);
        }
        let aid = tlv_4f(&cmd.data).ok_or(StatusWord::WRONG_DATA)?;
        if aid == ISD_AID {
            return Err(StatusWord::CONDITIONS);
        }
        let mut inst = registry.remove(aid).ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        inst.applet.wipe();
        if self.perso_target.as_deref() == Some(aid) {
            self.perso_target = None;
        }
        Ok(Response::ok(vec![0x00]))
    }

    /// GET STATUS `80 F2 <80 ISD | 40 applications> <00 legacy | 02 TLV> 4F 00`.
    fn get_status(&mut self, cmd: &Command, registry: &Registry) -> Result<Response, StatusWord> {
        if cmd.data != [0x4F, 0x00] {
            return Err(StatusWord::WRONG_DATA); // only "all", no other search criteria
        }
        if !matches!(cmd.p2, 0x00 | 0x02) {
            return Err(StatusWord::WRONG_P1P2);
        }
        let entries: Vec<(&[u8], u8, u8)> = match cmd.p1 {
            0x80 => vec![(&ISD_AID[..], ISD_LIFECYCLE_SECURED, 0x9E)],
            0x40 => registry
                .iter()
                .map(|(aid, i)| (aid.as_slice(), i.lifecycle_byte(), i.privileges))
                .collect(),
            _ => return Err(StatusWord::WRONG_P1P2),
        };
        if entries.is_empty() {
            return Err(StatusWord::REF_DATA_NOT_FOUND);
        }
        let mut out = Vec::new();
        for (aid, lc, privileges) in entries {
            // AIDs are 5–16 bytes, so every length below fits one byte.
            let aid_len = aid.len() as u8;
            if cmd.p2 == 0x02 {
                out.extend_from_slice(&[0xE3, aid_len + 10, 0x4F, aid_len]);
                out.extend_from_slice(aid);
                out.extend_from_slice(&[0x9F, 0x70, 0x01, lc, 0xC5, 0x01, privileges]);
            } else {
                out.push(aid_len);
                out.extend_from_slice(aid);
                out.extend_from_slice(&[lc, privileges]);
            }
        }
        Ok(Response::ok(out))
    }

    /// SET STATUS `80 F0 40 <80 lock | 00 unlock> <AID>`.
    fn set_status(
        &mut self,
        cmd: &Command,
        registry: &mut Registry,
    ) -> Result<Response, StatusWord> {
        if cmd.p1 != 0x40 || !matches!(cmd.p2, 0x80 | 0x00) {
            return Err(StatusWord::WRONG_P1P2);
        }
        let inst = registry
            .get_mut(cmd.data.as_slice())
            .ok_or(StatusWord::REF_DATA_NOT_FOUND)?;
        let lock = cmd.p2 == 0x80;
        if inst.locked == lock {
            return Err(StatusWord::CONDITIONS);
        }
        inst.locked = lock;
        if lock && self.perso_target.as_deref() == Some(cmd.data.as_slice()) {
            self.perso_target = None;
        }
        Ok(Response::status(StatusWord::OK))
    }
}

/// Splits length-value fields (INSTALL data); `None` if a length overruns.
fn lv_fields(mut data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while let [len, rest @ ..] = data {
        let len = usize::from(*len);
        if rest.len() < len {
            return None;
        }
        out.push(&rest[..len]);
        data = &rest[len..];
    }
    Some(out)
}

/// The AID of a `4F len AID` search criterion, with nothing after it.
fn tlv_4f(data: &[u8]) -> Option<&[u8]> {
    match data {
        [0x4F, len, aid @ ..] if aid.len() == usize::from(*len) && !aid.is_empty() => Some(aid),
        _ => None,
    }
}

/// The first complete DGI in `buf`: tag, value, bytes used. Lengths: one byte below `FF`, or `FF`
/// and two bytes.
fn next_dgi(buf: &[u8]) -> Option<(u16, &[u8], usize)> {
    let (tag, len, header) = match buf {
        [t1, t2, 0xFF, l1, l2, ..] => (
            u16::from_be_bytes([*t1, *t2]),
            usize::from(u16::from_be_bytes([*l1, *l2])),
            5,
        ),
        [_, _, 0xFF, ..] => return None,
        [t1, t2, l, ..] => (u16::from_be_bytes([*t1, *t2]), usize::from(*l), 3),
        _ => return None,
    };
    let value = buf.get(header..header + len)?;
    Some((tag, value, header + len))
}

/// Encodes one DGI (for TSM scripts and tests); `None` if the value exceeds the 65 535 bytes a
/// DGI length can say.
pub fn encode_dgi(tag: u16, value: &[u8]) -> Option<Vec<u8>> {
    let mut out = tag.to_be_bytes().to_vec();
    match u8::try_from(value.len()) {
        Ok(l) if l < 0xFF => out.push(l),
        _ => {
            out.push(0xFF);
            out.extend_from_slice(&u16::try_from(value.len()).ok()?.to_be_bytes());
        }
    }
    out.extend_from_slice(value);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dgi_framing() {
        let long = vec![7u8; 300];
        let mut buf = encode_dgi(0x010A, &long).expect("fits");
        buf.extend(encode_dgi(0x8118, b"abcd").expect("fits"));
        assert_eq!(encode_dgi(0x0101, &vec![0; 0x1_0000]), None);
        let (tag, value, used) = next_dgi(&buf).expect("first");
        assert_eq!((tag, value.len(), used), (0x010A, 300, 305));
        let (tag, value, _) = next_dgi(&buf[used..]).expect("second");
        assert_eq!((tag, value), (0x8118, &b"abcd"[..]));
        assert_eq!(next_dgi(&buf[..100]), None, "partial");
        assert_eq!(next_dgi(&[0x01, 0x0A, 0xFF, 0x01]), None);
    }

    #[test]
    fn lv_and_4f() {
        assert_eq!(
            lv_fields(&[1, 0xAA, 0, 2, 1, 2]),
            Some(vec![&[0xAA][..], &[], &[1, 2]])
        );
        assert_eq!(lv_fields(&[3, 1]), None);
        assert_eq!(tlv_4f(&[0x4F, 2, 1, 2]), Some(&[1u8, 2][..]));
        assert_eq!(tlv_4f(&[0x4F, 3, 1, 2]), None);
    }
}
