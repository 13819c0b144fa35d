//! The TSM's host side of card management: it opens an SCP03 secure channel to the issuer
//! security domain, sends the typed GlobalPlatform commands of [`crate::gp`] through it, splits
//! personalization data into STORE DATA blocks, and records the transcript.
//!
//! It is what a TSM (or the reference runtime acting as one) uses to carry out a management
//! decision on a card; it decides nothing about *whether* to install, personalize, lock or
//! delete. A status word other than `90 00` stops the script with [`PersoError::Refused`].

use crate::{
    apdu::{Command, Response, StatusWord},
    gp::{Management, StoreDataBlock},
    isd::ISD_AID,
    scp03::{HostSession, ScpError, SecurityLevel, StaticKeys},
    se::SecureElement,
};

/// Largest plain data per STORE DATA block: after C-DEC padding (to 240) and the 8-byte C-MAC the
/// command still fits a short APDU.
pub const STORE_DATA_CHUNK: usize = 239;

/// Why personalization stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersoError {
    /// The card refused a step.
    #[error("{step}: card answered {sw}")]
    Refused {
        /// Which step.
        step: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The secure channel could not be opened or a command could not be wrapped.
    #[error("secure channel: {0}")]
    Scp(#[from] ScpError),
}

/// One recorded command/response pair (plain bytes as sent on the wire).
pub type Transcript = Vec<(Vec<u8>, Vec<u8>)>;

/// A TSM talking to one secure element: sends commands, records the transcript.
pub struct Tsm<'a> {
    se: &'a mut SecureElement,
    host: HostSession,
    /// Every exchange so far.
    pub transcript: Transcript,
}

impl<'a> Tsm<'a> {
    /// A TSM holding `keys` (the ISD keys of this particular SE) that opens its next session with
    /// `host_challenge`.
    pub fn new(se: &'a mut SecureElement, keys: StaticKeys, host_challenge: [u8; 8]) -> Self {
        Self {
            se,
            host: HostSession::new(keys, host_challenge),
            transcript: Vec::new(),
        }
    }

    /// Sends a command as is; a status other than `90 00` is an error naming `step`.
    pub fn send(&mut self, step: &'static str, cmd: &Command) -> Result<Response, PersoError> {
        let bytes = cmd.to_bytes().ok_or(PersoError::Scp(ScpError::Malformed))?;
        let ex = self.se.transmit(&bytes);
        let response = ex.response;
        self.transcript.push((bytes, ex.wire));
        if response.sw != StatusWord::OK {
            return Err(PersoError::Refused {
                step,
                sw: response.sw,
            });
        }
        Ok(response)
    }

    /// Wraps a command in the secure channel without sending it (to record, tamper with or
    /// replay it in tests). Advances the host's MAC chain and counter as sending would.
    pub fn wrap(&mut self, cmd: &Command) -> Result<Command, ScpError> {
        self.host.wrap(cmd)
    }

    /// Sends a command wrapped in the secure channel.
    pub fn send_secure(
        &mut self,
        step: &'static str,
        cmd: &Command,
    ) -> Result<Response, PersoError> {
        let wrapped = self.host.wrap(cmd)?;
        self.send(step, &wrapped)
    }

    /// SELECT ISD, INITIALIZE UPDATE, EXTERNAL AUTHENTICATE at `level`.
    pub fn open_secure_channel(&mut self, level: SecurityLevel) -> Result<(), PersoError> {
        self.send(
            "SELECT ISD",
            &Command::new(0x00, 0xA4, 0x04, 0x00, ISD_AID.to_vec(), None),
        )?;
        let init = self.host.initialize_update();
        let resp = self.send("INITIALIZE UPDATE", &init)?;
        let ext = self.host.external_authenticate(&resp.data, level)?;
        self.send("EXTERNAL AUTHENTICATE", &ext)?;
        Ok(())
    }

    /// STORE DATA of a DGI stream in blocks of [`STORE_DATA_CHUNK`], numbering from `first_block`;
    /// returns the next block number.
    pub fn store_stream(
        &mut self,
        stream: &[u8],
        encrypted: bool,
        last: bool,
        first_block: u8,
    ) -> Result<u8, PersoError> {
        let chunks: Vec<&[u8]> = stream.chunks(STORE_DATA_CHUNK).collect();
        let mut block = first_block;
        for (i, chunk) in chunks.iter().enumerate() {
            self.manage(&Management::StoreData {
                block: StoreDataBlock {
                    encrypted,
                    last: last && i + 1 == chunks.len(),
                    number: block,
                },
                data: chunk,
                expects_response: false,
            })?;
            block = block.wrapping_add(1);
        }
        Ok(block)
    }

    /// Sends a management command wrapped in the secure channel, named as GlobalPlatform names it.
    pub fn manage(&mut self, cmd: &Management<'_>) -> Result<Response, PersoError> {
        self.send_secure(cmd.name(), &cmd.command())
    }
}
