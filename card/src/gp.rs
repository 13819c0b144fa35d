//! The GlobalPlatform card-management commands a TSM sends to the issuer security domain, as typed
//! values built into APDUs in one place (GlobalPlatform Card Specification 2.3.1, §11).
//!
//! It is for the host side: the TSM ([`crate::tsm`]), the test card's personalization script and
//! the reference runtime's device all build INSTALL, STORE DATA, SET STATUS and DELETE here, so the
//! header bytes and the length-value layouts exist once. It is not the card's parser of those
//! commands (that is [`crate::isd`]) and it does not wrap them in the secure channel
//! ([`crate::scp03::HostSession::wrap`] does).

use crate::apdu::Command;

/// CLA of a GlobalPlatform proprietary command before secure messaging.
const CLA_GP: u8 = 0x80;

/// INS bytes (GP CS 2.3.1 Table 11-10).
mod ins {
    pub(super) const INSTALL: u8 = 0xE6;
    pub(super) const STORE_DATA: u8 = 0xE2;
    pub(super) const SET_STATUS: u8 = 0xF0;
    pub(super) const DELETE: u8 = 0xE4;
}

/// Where the data of a STORE DATA block goes and how it is protected (P1, GP CS 2.3.1 §11.11.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreDataBlock {
    /// The data are DEK-encrypted (P1 bits 7–6 `11`).
    pub encrypted: bool,
    /// This is the last block of the personalization (P1 bit 8).
    pub last: bool,
    /// The block number (P2), counting from 0 within one INSTALL [for personalization].
    pub number: u8,
}

/// A card-management command, named as in GlobalPlatform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Management<'a> {
    /// INSTALL [for install and make selectable] (P1 `0C`): instantiate `module` of `package` as
    /// `instance`, with the privileges byte and the application-specific install parameters
    /// (the value of tag `C9`).
    InstallAndMakeSelectable {
        /// Executable load file AID.
        package: &'a [u8],
        /// Executable module AID.
        module: &'a [u8],
        /// Application (instance) AID.
        instance: &'a [u8],
        /// Privileges byte.
        privileges: u8,
        /// The install parameters inside tag `C9`.
        params: &'a [u8],
    },
    /// INSTALL [for personalization] (P1 `20`): the following STORE DATA go to `instance`.
    InstallForPersonalization {
        /// Application (instance) AID.
        instance: &'a [u8],
    },
    /// STORE DATA of DGI-formatted data (P1 bits 5–4 `01`).
    StoreData {
        /// P1 flags and block number.
        block: StoreDataBlock,
        /// The DGI bytes of this block.
        data: &'a [u8],
        /// Whether the command expects response data (a generated key's modulus).
        expects_response: bool,
    },
    /// SET STATUS of an application (P1 `40`): lock (P2 `80`) or unlock (P2 `00`).
    SetApplicationStatus {
        /// Application (instance) AID.
        instance: &'a [u8],
        /// Lock or unlock.
        lock: bool,
    },
    /// DELETE of an object by AID (`4F len AID`).
    Delete {
        /// The AID to delete.
        aid: &'a [u8],
    },
}

/// Appends each field as one length byte and the value (INSTALL data layout). Every field here is
/// an AID (≤ 16 bytes) or a short parameter block, so each length fits a byte.
fn lv(fields: &[&[u8]]) -> Vec<u8> {
    let mut d = Vec::new();
    for f in fields {
        d.push(f.len() as u8);
        d.extend_from_slice(f);
    }
    d
}

impl Management<'_> {
    /// The command APDU, before secure messaging.
    pub fn command(&self) -> Command {
        match *self {
            Management::InstallAndMakeSelectable {
                package,
                module,
                instance,
                privileges,
                params,
            } => {
                let mut c9 = vec![0xC9, params.len() as u8];
                c9.extend_from_slice(params);
                Command::new(
                    CLA_GP,
                    ins::INSTALL,
                    0x0C,
                    0x00,
                    lv(&[package, module, instance, &[privileges], &c9, &[]]),
                    Some(256),
                )
            }
            Management::InstallForPersonalization { instance } => Command::new(
                CLA_GP,
                ins::INSTALL,
                0x20,
                0x00,
                lv(&[&[], &[], instance, &[], &[], &[]]),
                Some(256),
            ),
            Management::StoreData {
                block,
                data,
                expects_response,
            } => {
                let mut p1 = 0x08;
                if block.encrypted {
                    p1 |= 0x60;
                }
                if block.last {
                    p1 |= 0x80;
                }
                Command::new(
                    CLA_GP,
                    ins::STORE_DATA,
                    p1,
                    block.number,
                    data.to_vec(),
                    expects_response.then_some(256),
                )
            }
            Management::SetApplicationStatus { instance, lock } => Command::new(
                CLA_GP,
                ins::SET_STATUS,
                0x40,
                if lock { 0x80 } else { 0x00 },
                instance.to_vec(),
                None,
            ),
            Management::Delete { aid } => {
                let mut data = vec![0x4F, aid.len() as u8];
                data.extend_from_slice(aid);
                Command::new(CLA_GP, ins::DELETE, 0x00, 0x00, data, None)
            }
        }
    }

    /// The step's name in transcripts and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Management::InstallAndMakeSelectable { .. } => {
                "INSTALL [for install and make selectable]"
            }
            Management::InstallForPersonalization { .. } => "INSTALL [for personalization]",
            Management::StoreData { .. } => "STORE DATA",
            Management::SetApplicationStatus { lock: true, .. } => "SET STATUS (lock)",
            Management::SetApplicationStatus { lock: false, .. } => "SET STATUS (unlock)",
            Management::Delete { .. } => "DELETE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_layouts_are_the_specifications() {
        let aid = [0xA0, 0x00, 0x00, 0x00, 0x01];
        let c = Management::InstallAndMakeSelectable {
            package: &[0x01, 0x02, 0x03, 0x04, 0x05],
            module: &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06],
            instance: &aid,
            privileges: 0x00,
            params: &[0x01],
        }
        .command();
        assert_eq!(
            (c.cla, c.ins, c.p1, c.p2, c.le),
            (0x80, 0xE6, 0x0C, 0x00, Some(256))
        );
        assert_eq!(
            c.data,
            [5, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 5, 0xA0, 0, 0, 0, 1, 1, 0, 3, 0xC9, 1, 1, 0]
        );
        let p = Management::InstallForPersonalization { instance: &aid }.command();
        assert_eq!(p.data, [0, 0, 5, 0xA0, 0, 0, 0, 1, 0, 0, 0]);
        let s = Management::StoreData {
            block: StoreDataBlock {
                encrypted: true,
                last: true,
                number: 7,
            },
            data: &[1],
            expects_response: false,
        }
        .command();
        assert_eq!((s.p1, s.p2, s.le), (0xE8, 7, None));
        let l = Management::SetApplicationStatus {
            instance: &aid,
            lock: true,
        }
        .command();
        assert_eq!((l.ins, l.p1, l.p2), (0xF0, 0x40, 0x80));
        let d = Management::Delete { aid: &aid }.command();
        assert_eq!(d.data, [0x4F, 5, 0xA0, 0, 0, 0, 1]);
    }
}
