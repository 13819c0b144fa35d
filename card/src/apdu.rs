//! ISO/IEC 7816-4 short APDUs: parsing a command into its four cases, encoding a response, and the
//! status words the emulated secure element answers with.
//!
//! This module is for the byte layer only: it knows lengths, classes and status words, never what a
//! command means (that is the applet's and the issuer security domain's business). Extended-length
//! APDUs, command chaining and ISO secure messaging are not supported and are rejected with the
//! status word a short-APDU card gives. Every malformed input becomes an [`ApduError`] that maps to a
//! status word: parsing never panics.
//!
//! trussed-dev's `iso7816` crate was considered; it accepts extended lengths and folds "case 1" and
//! "case 2 with Le = 00" into one view, while the JPKI retry-counter query depends on telling exactly
//! those two apart (`00 20 00 80` → `63 Cx`, `00 20 00 80 00` → `67 00`), so a small typed parser of
//! our own is used.

use std::fmt;

/// A two-byte ISO 7816 status word (SW1 SW2), kept as the card sends it.
///
/// A newtype rather than an enum because `63 Cx` and `61 xx` carry a count in SW2.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `90 00`: normal processing.
    pub const OK: Self = Self(0x9000);
    /// `62 82`: end of file reached before reading Ne bytes (READ BINARY past the end).
    pub const END_OF_FILE: Self = Self(0x6282);
    /// `63 10`: more data available (GET STATUS).
    pub const MORE_DATA: Self = Self(0x6310);
    /// `65 81`: memory failure (used when a key cannot be generated or stored).
    pub const MEMORY_FAILURE: Self = Self(0x6581);
    /// `67 00`: wrong length (Lc or Le not as the command requires).
    pub const WRONG_LENGTH: Self = Self(0x6700);
    /// `68 82`: secure messaging not supported (ISO SM bits in CLA of an applet command).
    pub const SM_NOT_SUPPORTED: Self = Self(0x6882);
    /// `68 84`: command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: Self = Self(0x6884);
    /// `69 81`: command incompatible with file structure (READ BINARY of a key or PIN EF, …).
    pub const INCOMPATIBLE_FILE: Self = Self(0x6981);
    /// `69 82`: security status not satisfied (PIN not verified, or a secure-channel MAC failed).
    pub const SECURITY_STATUS: Self = Self(0x6982);
    /// `69 83`: authentication method blocked (retry counter at zero).
    pub const AUTH_BLOCKED: Self = Self(0x6983);
    /// `69 85`: conditions of use not satisfied (wrong life-cycle state, wrong order).
    pub const CONDITIONS: Self = Self(0x6985);
    /// `69 86`: command not allowed, no current EF.
    pub const NO_CURRENT_EF: Self = Self(0x6986);
    /// `6A 80`: incorrect data in the command data field.
    pub const WRONG_DATA: Self = Self(0x6A80);
    /// `6A 82`: file or application not found.
    pub const NOT_FOUND: Self = Self(0x6A82);
    /// `6A 84`: not enough memory space (an AID is already installed).
    pub const NO_SPACE: Self = Self(0x6A84);
    /// `6A 86`: incorrect parameters P1-P2.
    pub const WRONG_P1P2: Self = Self(0x6A86);
    /// `6A 88`: referenced data not found (no such key version, no such application to delete).
    pub const REF_DATA_NOT_FOUND: Self = Self(0x6A88);
    /// `6B 00`: wrong parameters (READ BINARY offset outside the EF).
    pub const WRONG_OFFSET: Self = Self(0x6B00);
    /// `6D 00`: instruction not supported.
    pub const INS_NOT_SUPPORTED: Self = Self(0x6D00);
    /// `6E 00`: class not supported.
    pub const CLA_NOT_SUPPORTED: Self = Self(0x6E00);

    /// `63 Cx`: verification failed, `x` tries left (0 to 15).
    pub fn tries_left(x: u8) -> Self {
        Self(0x63C0 | u16::from(x.min(15)))
    }

    /// `61 xx`: the command succeeded and `remaining` response bytes wait for GET RESPONSE
    /// (`xx = 00` means 256 or more, as ISO 7816-4 encodes it).
    pub fn bytes_remaining(remaining: usize) -> Self {
        Self(0x6100 | u16::from(u8::try_from(remaining).unwrap_or(0)))
    }

    /// The two bytes as sent on the wire.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

/// Why a byte string is not a command this card accepts; each variant is the status word a
/// short-APDU card returns for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// Fewer than four header bytes, an Lc that disagrees with the length, or an extended-length
    /// encoding (Lc = 00 followed by more bytes): `67 00`.
    #[error("wrong length (6700)")]
    WrongLength,
    /// CLA `FF` or a class value ISO reserves: `6E 00`.
    #[error("class not supported (6E00)")]
    ClaNotSupported,
    /// CLA with the command-chaining bit: `68 84`.
    #[error("command chaining not supported (6884)")]
    ChainingNotSupported,
}

impl ApduError {
    /// The status word the card answers with.
    pub fn status(self) -> StatusWord {
        match self {
            Self::WrongLength => StatusWord::WRONG_LENGTH,
            Self::ClaNotSupported => StatusWord::CLA_NOT_SUPPORTED,
            Self::ChainingNotSupported => StatusWord::CHAINING_NOT_SUPPORTED,
        }
    }
}

/// The class byte decoded: who defines the command, whether it is secure-messaged, which channel.
///
/// Logical channels are decoded because Android reaches the SE through Open Mobile API channels
/// (CLA `01`–`03`, `40`–`4F`); the emulator accepts the channel bits on every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// The raw byte.
    pub byte: u8,
    /// `true` for proprietary (GlobalPlatform, JPKI `80 2A`) classes, bit 8 set.
    pub proprietary: bool,
    /// Secure-messaging indication (bit 3 for channels 0–3, bit 6 for channels 4–19). For
    /// GlobalPlatform commands this is the SCP "C-MAC present" bit (`84`).
    pub secure_messaging: bool,
    /// Logical channel number 0–19.
    pub channel: u8,
}

impl Class {
    /// Decodes a CLA byte; ISO-reserved and `FF` values are rejected.
    pub fn parse(byte: u8) -> Result<Self, ApduError> {
        if byte == 0xFF {
            return Err(ApduError::ClaNotSupported);
        }
        let proprietary = byte & 0x80 != 0;
        let low = byte & 0x7F;
        match low {
            0x00..=0x0F => Ok(Self {
                byte,
                proprietary,
                secure_messaging: low & 0x0C != 0,
                channel: low & 0x03,
            }),
            0x10..=0x1F => Err(ApduError::ChainingNotSupported),
            0x40..=0x7F if low & 0x10 != 0 => Err(ApduError::ChainingNotSupported),
            0x40..=0x7F => Ok(Self {
                byte,
                proprietary,
                secure_messaging: low & 0x20 != 0,
                channel: 4 + (low & 0x0F),
            }),
            _ => Err(ApduError::ClaNotSupported),
        }
    }
}

/// An ISO 7816-4 short command APDU.
///
/// The case is derivable from the fields: no data and no Le is case 1, Le only case 2, data only
/// case 3, both case 4.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte as sent (channel and SM bits included).
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc bytes; empty for cases 1 and 2).
    pub data: Vec<u8>,
    /// Ne, the maximum number of response bytes expected (1–256; Le = `00` means 256), `None` for
    /// cases 1 and 3.
    pub le: Option<u16>,
}

/// The four ISO 7816-3 command cases (short form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// Header only.
    One,
    /// Header and Le.
    Two,
    /// Header, Lc and data.
    Three,
    /// Header, Lc, data and Le.
    Four,
}

impl Command {
    /// Builds a command; `data` longer than 255 bytes or `le` outside 1–256 is the caller's bug and
    /// is reported by [`Command::to_bytes`] returning `None`.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: Vec<u8>, le: Option<u16>) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data,
            le,
        }
    }

    /// Parses a short APDU. Never panics; every rejection is an [`ApduError`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(ApduError::WrongLength);
        };
        Class::parse(*cla)?;
        let (data, le) = match body {
            [] => (Vec::new(), None),
            [le] => (Vec::new(), Some(decode_le(*le))),
            [0, _, ..] => return Err(ApduError::WrongLength), // extended length
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                match rest.len().checked_sub(lc) {
                    Some(0) => (rest.to_vec(), None),
                    Some(1) => (rest[..lc].to_vec(), Some(decode_le(rest[lc]))),
                    _ => return Err(ApduError::WrongLength),
                }
            }
        };
        Ok(Self {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
            data,
            le,
        })
    }

    /// The decoded class byte. Only [`Command::parse`] guarantees it is valid; a hand-built
    /// command with a reserved class gets the error here.
    pub fn class(&self) -> Result<Class, ApduError> {
        Class::parse(self.cla)
    }

    /// Which of the four cases this command is.
    pub fn case(&self) -> Case {
        match (self.data.is_empty(), self.le.is_some()) {
            (true, false) => Case::One,
            (true, true) => Case::Two,
            (false, false) => Case::Three,
            (false, true) => Case::Four,
        }
    }

    /// Encodes as a short APDU; `None` if the data or Le does not fit the short form.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !self.data.is_empty() {
            out.push(u8::try_from(self.data.len()).ok()?);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            out.push(match le {
                256 => 0,
                1..=255 => u8::try_from(le).ok()?,
                _ => return None,
            });
        }
        Some(out)
    }
}

/// Short Le: `00` means 256.
fn decode_le(le: u8) -> u16 {
    if le == 0 {
        256
    } else {
        u16::from(le)
    }
}

impl fmt::Debug for Command {
    /// Shows the header and lengths only: a VERIFY's data is a PIN and must never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command {{ {:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?} }}",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

/// A response APDU: data followed by the status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (at most 256 bytes for short APDUs).
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl Response {
    /// A response with only a status word.
    pub fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    /// A `90 00` response carrying data.
    pub fn ok(data: Vec<u8>) -> Self {
        Self {
            data,
            sw: StatusWord::OK,
        }
    }

    /// Data then SW1 SW2, as the card sends it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

impl From<StatusWord> for Response {
    fn from(sw: StatusWord) -> Self {
        Self::status(sw)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response {{ {} data bytes, {:?} }}",
            self.data.len(),
            self.sw
        )
    }
}

/// Upper-case hex without separators, as used in transcripts and the `applet` console.
pub fn to_hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// Why a line is not hex.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// A character that is neither a hex digit nor whitespace.
    #[error("'{0}' at column {1} is not a hex digit")]
    BadChar(char, usize),
    /// An odd number of hex digits.
    #[error("odd number of hex digits ({0})")]
    OddLength(usize),
}

/// Parses hex digits, ignoring spaces and tabs between them (so `00 A4 04 0C` and `00A4040C` both
/// parse). Columns in errors are 1-based.
pub fn from_hex(text: &str) -> Result<Vec<u8>, HexError> {
    let mut digits = Vec::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None if c == ' ' || c == '\t' => {}
            None => return Err(HexError::BadChar(c, i + 1)),
        }
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddLength(digits.len()));
    }
    Ok(digits.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_cases_parse_and_round_trip() {
        let cases: [(&[u8], Case); 4] = [
            (&[0x00, 0x20, 0x00, 0x80], Case::One),
            (&[0x00, 0xB0, 0x00, 0x00, 0x00], Case::Two),
            (&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18], Case::Three),
            (&[0x80, 0x2A, 0x00, 0x80, 0x01, 0xAA, 0x00], Case::Four),
        ];
        for (bytes, case) in cases {
            let cmd = Command::parse(bytes).expect("valid");
            assert_eq!(cmd.case(), case, "{bytes:02X?}");
            assert_eq!(cmd.to_bytes().as_deref(), Some(bytes));
        }
        assert_eq!(
            Command::parse(&[0, 0xB0, 0, 0, 0]).map(|c| c.le),
            Ok(Some(256))
        );
    }

    #[test]
    fn malformed_lengths_are_6700() {
        for bytes in [
            &[][..],
            &[0x00, 0xA4, 0x04],
            &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00], // Lc 2, one byte
            &[0x00, 0xA4, 0x02, 0x0C, 0x01, 0x00, 0x18, 0x00, 0x00], // two trailing bytes
            &[0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00], // extended length
        ] {
            assert_eq!(
                Command::parse(bytes),
                Err(ApduError::WrongLength),
                "{bytes:02X?}"
            );
        }
        assert_eq!(ApduError::WrongLength.status(), StatusWord::WRONG_LENGTH);
    }

    #[test]
    fn classes() {
        assert_eq!(
            Command::parse(&[0xFF, 0, 0, 0]),
            Err(ApduError::ClaNotSupported)
        );
        assert_eq!(
            Command::parse(&[0x20, 0, 0, 0]),
            Err(ApduError::ClaNotSupported)
        );
        assert_eq!(
            Command::parse(&[0x10, 0, 0, 0]),
            Err(ApduError::ChainingNotSupported)
        );
        assert_eq!(Class::parse(0x03).map(|c| c.channel), Ok(3));
        assert_eq!(Class::parse(0x41).map(|c| c.channel), Ok(5));
        assert_eq!(
            Class::parse(0x84).map(|c| (c.proprietary, c.secure_messaging)),
            Ok((true, true))
        );
        assert_eq!(Class::parse(0x90), Err(ApduError::ChainingNotSupported));
    }

    #[test]
    fn debug_hides_data() {
        let cmd = Command::new(0, 0x20, 0, 0x80, b"1234".to_vec(), None);
        let shown = format!("{cmd:?}");
        assert!(!shown.contains("31") && !shown.contains("1234"), "{shown}");
    }

    proptest::proptest! {
        /// Any well-formed short command survives encode → parse unchanged.
        #[test]
        fn encode_parse_round_trip(
            ins in 0u8..=255, p1 in 0u8..=255, p2 in 0u8..=255,
            channel in 0u8..4, proprietary: bool,
            data in proptest::collection::vec(0u8..=255, 0..=255),
            le in proptest::option::of(1u16..=256),
        ) {
            let cla = channel | if proprietary { 0x80 } else { 0x00 };
            let cmd = Command::new(cla, ins, p1, p2, data, le);
            let bytes = cmd.to_bytes().expect("short form");
            proptest::prop_assert_eq!(Command::parse(&bytes), Ok(cmd));
        }

        /// Arbitrary bytes parse or are refused with a status word; never a panic.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(0u8..=255, 0..300)) {
            if let Err(e) = Command::parse(&bytes) {
                proptest::prop_assert!(matches!(e.status().0, 0x6700 | 0x6E00 | 0x6884));
            }
        }
    }

    #[test]
    fn hex() {
        assert_eq!(from_hex("00 a4\t0C"), Ok(vec![0x00, 0xA4, 0x0C]));
        assert_eq!(from_hex("0"), Err(HexError::OddLength(1)));
        assert_eq!(from_hex("0g"), Err(HexError::BadChar('g', 2)));
        assert_eq!(to_hex(&[0xD3, 0x92]), "D392");
    }
}
