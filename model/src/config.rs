//! The configuration of one model instance: the design choices under study, the threats, and
//! the budgets that keep the state space finite without cutting exploration by depth.
//!
//! Every dimension here is a choice the studies discuss (see `docs/protocol.md`); the defaults are
//! the 2015–2019 SIM design through the carrier's TSM, with keys generated in the SE and relying
//! parties checking status online.

use crate::ids::{Party, PersonId, SeId};
use crate::name_set;
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A design dimension or flaw: a fieldless enum whose values are named — on the command line, in
/// traces, reports and the manifest — by their serde names, and nowhere else. Parsing goes through
/// serde, so a flag's spelling and its JSON spelling cannot drift apart.
pub trait Dimension: Copy + PartialEq + Serialize + DeserializeOwned + 'static {
    /// Every value, in declaration order.
    const VALUES: &'static [Self];

    /// What the value means, in one line (the command line's help).
    fn help(self) -> &'static str;

    /// The value's name: its serde name.
    fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            // A fieldless enum always serialises to its variant name.
            _ => String::new(),
        }
    }

    /// The value named `text` (its serde name); the error lists the names it accepts.
    fn parse(text: &str) -> Result<Self, ConfigError> {
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            text.into_deserializer();
        Self::deserialize(de).map_err(|e| ConfigError(e.to_string()))
    }
}

/// Implements [`Dimension`] for enums whose variants are listed with their help lines.
macro_rules! dimension {
    ($t:ty { $($v:ident => $help:literal),+ $(,)? }) => {
        impl Dimension for $t {
            const VALUES: &'static [Self] = &[$(<$t>::$v),+];
            fn help(self) -> &'static str {
                match self {
                    $(<$t>::$v => $help),+
                }
            }
        }
    };
}

/// Which secure element carries the JPKI applet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Medium {
    /// A SIM/UICC managed by the carrier's MNO-TSM: it can move between phones and be ported.
    Uicc,
    /// The phone's embedded GlobalPlatform SE managed by the SE issuer's TSM (the 2023 design).
    GpSe,
}

/// Whose subscriber the applicant is (SIM medium).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Carrier {
    /// A host mobile network operator with its own TSM.
    Mno,
    /// A virtual operator without a TSM: installation goes through the host MNO's TSM.
    Mvno,
}

/// Where the phone's key pair is generated (an open question of the 2016 plan, seed 003).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyGen {
    /// Inside the SE; only the public key leaves it.
    OnSe,
    /// At J-LIS, delivered to the SE encrypted for it.
    Center,
}

/// How relying parties learn certificate status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationCheck {
    /// A fresh OCSP-like answer from the CA for each login.
    Ocsp,
    /// The CA's published CRL, which the CA publishes on its own schedule and so may be stale.
    Crl,
}

/// How the applicant proves who they are when applying (seed 002 weighs both).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proofing {
    /// The application is signed online with the My Number card's signing certificate, and the
    /// signature covers the designated SE (the 2016 plan's first method, seed 003; the 2023 service).
    #[default]
    CardSignature,
    /// An access code sent by restricted-delivery mail (本人限定受取郵便), typed into the UI app on
    /// the phone, as in the commercial mobile-NFC credit-card flow (seed 002). The code proves the
    /// person and the application but cannot cover the SE: it is mailed before the phone is chosen.
    Mail,
}

/// What a device change requires of the old phone (seed 004, lifecycle ①).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChange {
    /// Apply from the new phone alone: the CA revokes the old certificate when it issues the new
    /// one (the flow seed 004 adopts because users rarely still operate the old phone).
    #[default]
    NewPhoneOnly,
    /// The old phone must revoke its certificate first: the CA refuses to issue while the person
    /// still has a valid or suspended phone certificate.
    NeedsOldPhone,
}

/// What a thief who takes a phone can do with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Thief {
    /// The thief does not know the PIN: every entry is a guess, and a guess is wrong (three
    /// wrong guesses block the PIN). The thief can still boot the phone and replay applications.
    #[default]
    GuessesPin,
    /// The thief saw the PIN typed (shoulder-surfing): they boot the phone, log in to relying
    /// parties and sign with it until the owner's loss report takes effect.
    KnowsPin,
}

/// A party that can be compromised (`--compromised`): the intruder then holds its keys and
/// channel credentials and may send anything they allow, in any state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// J-LIS's service-provider TSM.
    SpTsm,
    /// The SE issuer's TSM (the carrier's MNO-TSM, or the SEI-TSM).
    SeTsm,
    /// The virtual operator.
    Mvno,
    /// The relying party.
    Rp,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 4] = [Role::SpTsm, Role::SeTsm, Role::Mvno, Role::Rp];

    /// The protocol party playing this role.
    pub fn party(self) -> Party {
        match self {
            Role::SpTsm => Party::SpTsm,
            Role::SeTsm => Party::SeTsm,
            Role::Mvno => Party::Mvno,
            Role::Rp => Party::RelyingParty,
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The set of compromised parties; empty when every party is honest. Written as a list of role
/// names (`["sp-tsm"]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Compromised(u8);

name_set::serde_by_name!(
    Compromised,
    Role,
    "compromised parties",
    [Role::SpTsm, Role::SeTsm, Role::Mvno, Role::Rp,]
);

impl Compromised {
    /// Every party honest.
    pub const NONE: Compromised = Compromised(0);

    /// The set with `role` added.
    pub fn with(self, role: Role) -> Compromised {
        Compromised(self.0 | role.bit())
    }

    /// Whether `role` is compromised.
    pub fn has(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether no party is compromised.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The compromised roles, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }
}

/// Message ordering of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ordering {
    /// Any in-flight message may be delivered next (reordering).
    Unordered,
    /// Per-channel FIFO delivery.
    Ordered,
}

/// When an armed timer may fire (docs/recovery.md). Timers are armed only where a message can be
/// lost or a party crash (`Config::timers_armed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timeouts {
    /// Only once nothing it waits for is on its way (the request, or the answer to it, was
    /// lost, or waits at a party that is down): a timeout longer than any delivery.
    #[default]
    Patient,
    /// At any moment, also while the answer is on its way: a late answer then meets a retry or
    /// an abort.
    Eager,
}

/// Network semantics: what the network may do to messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NetworkSemantics {
    /// Ordered or unordered delivery.
    pub ordering: Ordering,
    /// Messages may be lost.
    pub lossy: bool,
    /// Messages may be delivered more than once (replay of old messages).
    pub duplicating: bool,
}

/// Limits on the environment's choices. Each limit bounds one kind of choice summed over all
/// persons; `events` bounds the total of counted choices. Together they make every run finite,
/// so exploration is exhaustive without a depth cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Budgets {
    /// Applications for issuance (including re-applications on another SE).
    pub applications: u8,
    /// Phones stolen (the thief keeps the SE and may guess PINs).
    pub thefts: u8,
    /// PIN entries at login, right or wrong, by owner or thief.
    pub pin_entries: u8,
    /// Card events: the card is lost (revoked), renewed, or expires.
    pub card_events: u8,
    /// SIM moves to another phone, carrier switches and SIM disposals (SIM medium).
    pub sim_events: u8,
    /// Revocations requested from the phone, and old phones powered on again.
    pub device_events: u8,
    /// Total of the counted choices above, across everything.
    pub events: u8,
    /// Messages the intruder (or a compromised party) injects or forges; counted apart from
    /// `events`, which bound the honest world.
    #[serde(default = "default_intrusions")]
    pub intrusions: u8,
}

fn default_intrusions() -> u8 {
    1
}

/// A deliberate protocol flaw: the variants catalogue switches these on inside the real
/// transition code to show that each property catches the mistake it exists for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flaw {
    /// The SP-TSM does not supersede (revoke) the person's existing certificate on a new issuance.
    SkipIssuedCheck,
    /// The CA issues again for a duplicated or retried issue request.
    NonIdempotentIssue,
    /// The relying party accepts whatever the status answer says.
    RpSkipsStatusCheck,
    /// Status checks treat a suspended certificate as valid.
    SuspendIgnored,
    /// The card signature on an application does not cover the designated SE.
    UnboundSeInApplication,
    /// Revoking a card certificate does not revoke the phone certificates linked to it.
    NoCardRevocationCascade,
    /// The applet does not count wrong PINs.
    NoRetryCounter,
    /// The issuing side does not check the card certificate's status.
    AcceptRevokedCard,
    /// A centre-generated key is sent to the SE unencrypted.
    CenterKeyPlaintext,
    /// The CA reuses a serial number.
    SerialReuse,
    /// An old SE keeps its key after learning that its certificate was revoked.
    NoWipeOnBoot,
    /// The MVNO installs the applet itself instead of through the host MNO's TSM.
    MvnoBypassesHostTsm,
    /// Switching carrier or disposing of a SIM does not revoke its certificate.
    NoRevokeOnCarrierSwitch,
    /// The applet sends its freshly generated private key to J-LIS for safekeeping.
    SeKeyEscrow,
    /// The CA revokes on a request from a phone without checking the phone's signature.
    UncheckedPhoneRevocation,
    /// The relying party accepts an OCSP answer made for another request (no nonce check).
    RpIgnoresOcspNonce,
    /// A loss report suspends only the certificates valid at the time: one issued later, from
    /// an application already in flight, is valid on the stolen phone.
    ReportSuspendsOnlyCurrent,
    /// The SP-TSM's session timer, once its retries are spent, stops without aborting: the
    /// session waits for an answer that will never come.
    TimerNeverAborts,
    /// The SP-TSM sends each step's request before making the step durable (it persists a step
    /// only when it takes the next one): a crash in between forgets a request already sent.
    SpTsmAnswersBeforePersisting,
    /// The CA, asked to abort an application, refuses it from then on but leaves a certificate
    /// it already issued for it valid.
    AbortKeepsCertificate,
    /// The SE issuer's TSM never re-sends a lost request to revoke a retiring SIM's certificates.
    SeTsmNeverRetries,
    /// The CA answers "already issued" from an in-memory index of applications rather than from
    /// its database: after a crash, a retried request is issued again.
    CaIndexNotDurable,
}

impl Flaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [Flaw; 22] = [
        Flaw::SkipIssuedCheck,
        Flaw::NonIdempotentIssue,
        Flaw::RpSkipsStatusCheck,
        Flaw::SuspendIgnored,
        Flaw::UnboundSeInApplication,
        Flaw::NoCardRevocationCascade,
        Flaw::NoRetryCounter,
        Flaw::AcceptRevokedCard,
        Flaw::CenterKeyPlaintext,
        Flaw::SerialReuse,
        Flaw::NoWipeOnBoot,
        Flaw::MvnoBypassesHostTsm,
        Flaw::NoRevokeOnCarrierSwitch,
        Flaw::SeKeyEscrow,
        Flaw::UncheckedPhoneRevocation,
        Flaw::RpIgnoresOcspNonce,
        Flaw::ReportSuspendsOnlyCurrent,
        Flaw::TimerNeverAborts,
        Flaw::SpTsmAnswersBeforePersisting,
        Flaw::AbortKeepsCertificate,
        Flaw::SeTsmNeverRetries,
        Flaw::CaIndexNotDurable,
    ];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

#[cfg(test)]
mod dimension_tests {
    use super::*;

    fn names_round_trip<T: Dimension + fmt::Debug>() {
        for v in T::VALUES {
            assert!(!v.name().is_empty());
            assert_eq!(T::parse(&v.name()), Ok(*v));
        }
        let e = T::parse("no-such-value").expect_err("unknown name");
        assert!(e.0.contains(&T::VALUES[0].name()), "{}", e.0);
    }

    #[test]
    fn every_dimension_parses_its_serde_names_and_lists_them_when_wrong() {
        names_round_trip::<Medium>();
        names_round_trip::<Carrier>();
        names_round_trip::<KeyGen>();
        names_round_trip::<RevocationCheck>();
        names_round_trip::<Proofing>();
        names_round_trip::<DeviceChange>();
        names_round_trip::<Ordering>();
        names_round_trip::<Flaw>();
        names_round_trip::<Thief>();
        names_round_trip::<Role>();
        names_round_trip::<Timeouts>();
        assert_eq!(Role::SpTsm.name(), "sp-tsm");
        assert_eq!(Thief::KnowsPin.name(), "knows-pin");
        assert_eq!(Medium::GpSe.name(), "gp-se");
        assert_eq!(Flaw::SkipIssuedCheck.name(), "skip_issued_check");
        assert_eq!(Flaw::VALUES, &Flaw::ALL[..]);
    }

    #[test]
    fn flaw_and_role_sets_are_written_by_name_and_read_back() {
        let flaws = Flaws::NONE
            .with(Flaw::SkipIssuedCheck)
            .with(Flaw::ReportSuspendsOnlyCurrent);
        let json = serde_json::to_string(&flaws).expect("json");
        assert_eq!(
            json,
            r#"["skip_issued_check","report_suspends_only_current"]"#
        );
        assert_eq!(serde_json::from_str::<Flaws>(&json).ok(), Some(flaws));
        let roles = Compromised::NONE.with(Role::Rp).with(Role::SpTsm);
        let json = serde_json::to_string(&roles).expect("json");
        assert_eq!(json, r#"["sp-tsm","rp"]"#);
        assert_eq!(serde_json::from_str::<Compromised>(&json).ok(), Some(roles));
        assert!(Compromised::NONE.is_empty() && !roles.is_empty());
        assert_eq!(
            serde_json::to_string(&Flaws::NONE).ok().as_deref(),
            Some("[]")
        );
    }

    #[test]
    fn old_bit_sets_keep_the_meaning_they_were_written_with() {
        // Written before the sets were named: bit 0 = skip_issued_check, bit 16 =
        // report_suspends_only_current; 8 = rp (sp-tsm, se-tsm, mvno, rp).
        let old: Flaws = serde_json::from_str("65537").expect("a legacy bit set");
        assert_eq!(
            old.iter().collect::<Vec<_>>(),
            [Flaw::SkipIssuedCheck, Flaw::ReportSuspendsOnlyCurrent]
        );
        let old: Compromised = serde_json::from_str("8").expect("a legacy bit set");
        assert_eq!(old.iter().collect::<Vec<_>>(), [Role::Rp]);
        assert_eq!(serde_json::from_str::<Flaws>("0").ok(), Some(Flaws::NONE));
        // Bits no flaw ever had, unknown names and other shapes are refused, saying what is wanted.
        let e = serde_json::from_str::<Flaws>("131072").expect_err("bit 17 never existed");
        assert!(e.to_string().contains("list of names"), "{e}");
        let e = serde_json::from_str::<Compromised>("16").expect_err("bit 4 never existed");
        assert!(e.to_string().contains("compromised parties"), "{e}");
        let e = serde_json::from_str::<Flaws>(r#"["no_such_flaw"]"#).expect_err("unknown id");
        assert!(e.to_string().contains("skip_issued_check"), "{e}");
        let e = serde_json::from_str::<Flaws>(r#""skip_issued_check""#).expect_err("not a list");
        assert!(e.to_string().contains("a list of flaws by name"), "{e}");
        assert!(serde_json::from_str::<Compromised>("-1").is_err());
    }
}

dimension!(Medium {
    Uicc => "a SIM managed by the carrier's MNO-TSM (the 2015-2019 design)",
    GpSe => "the phone's GlobalPlatform SE managed by the SE issuer's TSM (the 2023 design)",
});
dimension!(Carrier {
    Mno => "subscribers of a host operator with its own TSM",
    Mvno => "subscribers of a virtual operator, installed through the host MNO-TSM",
});
dimension!(KeyGen {
    OnSe => "the key pair is generated inside the SE",
    Center => "J-LIS generates the key and delivers it sealed for the SE",
});
dimension!(RevocationCheck {
    Ocsp => "relying parties ask the CA for a fresh status answer per login",
    Crl => "relying parties use the CA's published CRL (may be stale)",
});
dimension!(Proofing {
    CardSignature => "the application is signed with the My Number card (covers the designated SE)",
    Mail => "an access code by restricted-delivery mail, typed into the phone (covers no SE)",
});
dimension!(DeviceChange {
    NewPhoneOnly => "apply from the new phone; the CA revokes the old certificate on issuing the new one",
    NeedsOldPhone => "the old phone must revoke its certificate before a new one is issued",
});
dimension!(Ordering {
    Unordered => "unordered delivery (reordering)",
    Ordered => "per-channel FIFO",
});
dimension!(Flaw {
    SkipIssuedCheck => "the SP-TSM does not supersede the existing certificate",
    NonIdempotentIssue => "the CA issues again for a duplicated or retried request",
    RpSkipsStatusCheck => "the relying party accepts whatever the status answer says",
    SuspendIgnored => "status checks treat a suspended certificate as valid",
    UnboundSeInApplication => "the card signature does not cover the designated SE",
    NoCardRevocationCascade => "revoking a card does not revoke its phone certificates",
    NoRetryCounter => "the applet does not count wrong PINs",
    AcceptRevokedCard => "the issuing side does not check the card certificate's status",
    CenterKeyPlaintext => "a centre-generated key is sent to the SE unencrypted",
    SerialReuse => "the CA reuses a serial number",
    NoWipeOnBoot => "an old SE keeps its key after learning of its revocation",
    MvnoBypassesHostTsm => "the MVNO installs the applet itself",
    NoRevokeOnCarrierSwitch => "switching carrier or disposing of a SIM does not revoke",
    SeKeyEscrow => "the applet sends its private key to J-LIS for safekeeping",
    UncheckedPhoneRevocation => "the CA does not check the phone's signature on a revocation",
    RpIgnoresOcspNonce => "the relying party accepts an OCSP answer made for another request",
    ReportSuspendsOnlyCurrent => "a loss report does not cover a certificate issued after it",
    TimerNeverAborts => "the SP-TSM's timer stops after its retries without aborting the session",
    SpTsmAnswersBeforePersisting => "the SP-TSM sends a request before making the step durable",
    AbortKeepsCertificate => "the CA aborts an application but leaves its certificate valid",
    SeTsmNeverRetries => "the SE issuer's TSM never re-sends a lost revocation request",
    CaIndexNotDurable => "the CA's already-issued check reads an in-memory index lost on a crash",
});
dimension!(Timeouts {
    Patient => "a timer fires only once what it waits for is lost or stuck at a party that is down",
    Eager => "a timer may fire at any moment, also while the answer is on its way",
});
dimension!(Thief {
    GuessesPin => "the thief does not know the PIN and only guesses (wrongly)",
    KnowsPin => "the thief saw the PIN: boots the phone, logs in and signs with it",
});
dimension!(Role {
    SpTsm => "J-LIS's service-provider TSM",
    SeTsm => "the SE issuer's TSM (MNO-TSM or SEI-TSM)",
    Mvno => "the virtual operator",
    Rp => "the relying party",
});

/// A set of flaws; empty for the correct protocol. Written as a list of flaw ids
/// (`["skip_issued_check"]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flaws(u32);

// The catalogue order of December 2026, when flaws were last written as numbers.
name_set::serde_by_name!(
    Flaws,
    Flaw,
    "flaws",
    [
        Flaw::SkipIssuedCheck,
        Flaw::NonIdempotentIssue,
        Flaw::RpSkipsStatusCheck,
        Flaw::SuspendIgnored,
        Flaw::UnboundSeInApplication,
        Flaw::NoCardRevocationCascade,
        Flaw::NoRetryCounter,
        Flaw::AcceptRevokedCard,
        Flaw::CenterKeyPlaintext,
        Flaw::SerialReuse,
        Flaw::NoWipeOnBoot,
        Flaw::MvnoBypassesHostTsm,
        Flaw::NoRevokeOnCarrierSwitch,
        Flaw::SeKeyEscrow,
        Flaw::UncheckedPhoneRevocation,
        Flaw::RpIgnoresOcspNonce,
        Flaw::ReportSuspendsOnlyCurrent,
    ]
);

impl Flaws {
    /// No flaw: the protocol as designed.
    pub const NONE: Flaws = Flaws(0);

    /// The set with `flaw` added.
    pub fn with(self, flaw: Flaw) -> Flaws {
        Flaws(self.0 | flaw.bit())
    }

    /// Whether `flaw` is switched on.
    pub fn has(self, flaw: Flaw) -> bool {
        self.0 & flaw.bit() != 0
    }

    /// The flaws switched on, in catalogue order.
    pub fn iter(self) -> impl Iterator<Item = Flaw> {
        Flaw::ALL.into_iter().filter(move |f| self.has(*f))
    }
}

/// One model instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    /// Number of persons (applicants).
    pub persons: u8,
    /// Secure elements per person (SIMs or phones with a GP-SE).
    pub ses_per_person: u8,
    /// SIM/UICC or GP-SE.
    pub medium: Medium,
    /// MNO or MVNO subscribers (SIM medium).
    pub carrier: Carrier,
    /// Where phone keys are generated.
    pub keygen: KeyGen,
    /// How relying parties check status.
    pub revocation: RevocationCheck,
    /// How the applicant's identity is proved when applying.
    #[serde(default)]
    pub proofing: Proofing,
    /// What a device change requires of the old phone.
    #[serde(default)]
    pub device_change: DeviceChange,
    /// What a thief can do with a stolen phone.
    #[serde(default)]
    pub thief: Thief,
    /// A Dolev–Yao intruder on the open network links (see `model::intruder`).
    #[serde(default)]
    pub intruder: bool,
    /// Parties whose keys and channel credentials the intruder holds.
    #[serde(default)]
    pub compromised: Compromised,
    /// What the network may do.
    pub network: NetworkSemantics,
    /// Limits on the environment's choices.
    pub budgets: Budgets,
    /// Optional depth bound for exploration (the budgets already make the space finite).
    pub max_depth: Option<usize>,
    /// Deliberate flaws (empty for the correct protocol).
    pub flaws: Flaws,
    /// How many of the CA, SP-TSM and SE-TSM may be down at once (each may crash and restart
    /// any number of times; what it made durable survives, the rest is lost).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub crashes: u8,
    /// When an armed timer may fire.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: Timeouts,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// A configuration that cannot describe a meaningful model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Self {
        Config {
            persons: 2,
            ses_per_person: 2,
            medium: Medium::Uicc,
            carrier: Carrier::Mno,
            keygen: KeyGen::OnSe,
            revocation: RevocationCheck::Ocsp,
            proofing: Proofing::CardSignature,
            device_change: DeviceChange::NewPhoneOnly,
            thief: Thief::GuessesPin,
            intruder: false,
            compromised: Compromised::NONE,
            network: NetworkSemantics {
                ordering: Ordering::Unordered,
                lossy: false,
                duplicating: false,
            },
            budgets: Budgets::default(),
            max_depth: None,
            flaws: Flaws::NONE,
            crashes: 0,
            timeouts: Timeouts::Patient,
        }
    }
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            applications: 2,
            thefts: 1,
            pin_entries: 3,
            card_events: 1,
            sim_events: 1,
            device_events: 1,
            events: 4,
            intrusions: default_intrusions(),
        }
    }
}

impl Config {
    /// Rejects configurations the model cannot represent, with one clear sentence.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3).contains(&self.persons) {
            return Err(ConfigError(format!(
                "persons must be 1 to 3, got {}",
                self.persons
            )));
        }
        if !(1..=3).contains(&self.ses_per_person) {
            return Err(ConfigError(format!(
                "ses-per-person must be 1 to 3, got {}",
                self.ses_per_person
            )));
        }
        if self.carrier == Carrier::Mvno && self.medium == Medium::GpSe {
            return Err(ConfigError(
                "carrier mvno needs medium uicc: a GP-SE is managed by its issuer's TSM, not a carrier's"
                    .into(),
            ));
        }
        if self.flaws.has(Flaw::MvnoBypassesHostTsm) && self.carrier != Carrier::Mvno {
            return Err(ConfigError(
                "flaw mvno_bypasses_host_tsm needs carrier mvno".into(),
            ));
        }
        if self.compromised.has(Role::Mvno) && self.carrier != Carrier::Mvno {
            return Err(ConfigError(
                "compromised mvno needs carrier mvno: with MNO subscribers there is no MVNO on the path"
                    .into(),
            ));
        }
        if self.crashes > 3 {
            return Err(ConfigError(format!(
                "crashes must be 0 to 3 (the CA, SP-TSM and SE-TSM are the parties that crash), got {}",
                self.crashes
            )));
        }
        if self.budgets.events == 0 {
            return Err(ConfigError("budget events must be at least 1".into()));
        }
        Ok(())
    }

    /// Whether parties arm their retry timers: where a message can be lost or a party crash.
    /// Every recovery step — a retry, an abort, an acknowledgement that a step is done — exists
    /// only there; elsewhere every answer comes and the protocol is the one without recovery.
    pub fn timers_armed(&self) -> bool {
        self.network.lossy || self.crashes > 0
    }

    /// Whether the model has an intruder party: a network intruder, or compromised parties whose
    /// credentials it holds.
    pub fn adversary(&self) -> bool {
        self.intruder || !self.compromised.is_empty()
    }

    /// The SEs belonging to `person`, in order.
    pub fn ses_of(&self, person: PersonId) -> impl Iterator<Item = SeId> {
        let k = self.ses_per_person;
        (0..k).map(move |j| SeId(person.0 * k + j))
    }

    /// All SEs.
    pub fn all_ses(&self) -> impl Iterator<Item = SeId> {
        (0..self.persons * self.ses_per_person).map(SeId)
    }

    /// All persons.
    pub fn all_persons(&self) -> impl Iterator<Item = PersonId> {
        (0..self.persons).map(PersonId)
    }

    /// The owner of an SE (fixed: SEs are given to persons at the start).
    pub fn owner_of(&self, se: SeId) -> PersonId {
        PersonId(se.0 / self.ses_per_person)
    }

    /// Whether `se` is in service at the start: on a SIM only the first SIM of each person is an
    /// active subscription and the others are blank SIMs a new carrier may hand out; every GP-SE is
    /// in a phone the person owns.
    pub fn initially_active(&self, se: SeId) -> bool {
        self.medium == Medium::GpSe || se.0.is_multiple_of(self.ses_per_person)
    }
}
