//! The configuration flags shared by every subcommand that builds a model.

use jpkisim_model::config::{
    Carrier, Config, DeviceChange, Flaw, KeyGen, Medium, Ordering, Proofing, RevocationCheck,
};
use jpkisim_model::ConfigError;
use jpkisim_properties::variants::{self, Variant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum MediumFlag {
    Uicc,
    GpSe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CarrierFlag {
    Mno,
    Mvno,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KeyGenFlag {
    OnSe,
    Center,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RevocationFlag {
    Ocsp,
    Crl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProofingFlag {
    /// The application is signed with the My Number card (covers the designated SE).
    CardSignature,
    /// An access code by restricted-delivery mail, typed into the phone (covers no SE).
    Mail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DeviceChangeFlag {
    /// Apply from the new phone; the CA revokes the old certificate on issuing the new one.
    NewPhoneOnly,
    /// The old phone must revoke its certificate before a new one is issued.
    NeedsOldPhone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum NetworkFlag {
    /// Unordered delivery (reordering).
    Unordered,
    /// Per-channel FIFO.
    Ordered,
}

/// Model configuration. Every flag is optional: unset flags take the default configuration, or,
/// with `--variant`, the configuration that variant needs; set flags override either.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct ConfigFlags {
    /// Check a deliberately broken variant (see `jpkisim variants`).
    #[arg(long, value_name = "ID")]
    variant: Option<String>,
    /// Number of persons [default: 2].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    persons: Option<u8>,
    /// SEs (SIMs or phones) per person [default: 2].
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    ses_per_person: Option<u8>,
    /// Secure element medium [default: uicc].
    #[arg(long, value_enum)]
    medium: Option<MediumFlag>,
    /// Subscribers' carrier kind, SIM medium [default: mno].
    #[arg(long, value_enum)]
    carrier: Option<CarrierFlag>,
    /// Where phone key pairs are generated [default: on-se].
    #[arg(long, value_enum)]
    keygen: Option<KeyGenFlag>,
    /// How relying parties check certificate status [default: ocsp].
    #[arg(long, value_enum)]
    revocation: Option<RevocationFlag>,
    /// How the applicant proves their identity when applying [default: card-signature].
    #[arg(long, value_enum)]
    proofing: Option<ProofingFlag>,
    /// What a device change requires of the old phone [default: new-phone-only].
    #[arg(long, value_enum)]
    device_change: Option<DeviceChangeFlag>,
    /// Message ordering [default: unordered].
    #[arg(long, value_enum)]
    network: Option<NetworkFlag>,
    /// The network may lose messages.
    #[arg(long)]
    lossy: bool,
    /// The network may deliver messages more than once (replays).
    #[arg(long)]
    duplicating: bool,
    /// Budget: applications, all persons together [default: 2].
    #[arg(long)]
    applications: Option<u8>,
    /// Budget: phone thefts [default: 1].
    #[arg(long)]
    thefts: Option<u8>,
    /// Budget: PIN entries, owner or thief, right or wrong [default: 3].
    #[arg(long)]
    pin_entries: Option<u8>,
    /// Budget: card events: lost, renewed, expired [default: 1].
    #[arg(long)]
    card_events: Option<u8>,
    /// Budget: SIM events: move, port, dispose [default: 1].
    #[arg(long)]
    sim_events: Option<u8>,
    /// Budget: device events: revoke from the phone, boot an old phone [default: 1].
    #[arg(long)]
    device_events: Option<u8>,
    /// Budget: total of all counted events [default: 4].
    #[arg(long)]
    events: Option<u8>,
    /// Optional depth bound (the budgets already make exploration finite).
    #[arg(long)]
    max_depth: Option<usize>,
    /// Switch on a deliberate flaw by id (repeatable; `jpkisim variants` lists them).
    #[arg(long = "flaw", value_name = "ID")]
    flaws: Vec<String>,
}

impl ConfigFlags {
    /// The variant chosen with `--variant`, if any.
    pub(crate) fn variant(&self) -> Result<Option<&'static Variant>, ConfigError> {
        self.variant
            .as_deref()
            .map(|id| {
                variants::by_id(id).ok_or_else(|| {
                    let known: Vec<&str> = variants::ALL.iter().map(|v| v.id).collect();
                    ConfigError(format!(
                        "unknown variant '{id}'; known variants: {}",
                        known.join(", ")
                    ))
                })
            })
            .transpose()
    }

    pub(crate) fn to_config(&self) -> Result<Config, ConfigError> {
        let mut cfg = match self.variant()? {
            Some(v) => v.config(Config::default()),
            None => Config::default(),
        };
        for id in &self.flaws {
            cfg.flaws = cfg.flaws.with(parse_flaw(id)?);
        }
        macro_rules! set {
            ($field:expr, $flag:expr) => {
                if let Some(v) = $flag {
                    $field = v;
                }
            };
        }
        set!(cfg.persons, self.persons);
        set!(cfg.ses_per_person, self.ses_per_person);
        set!(
            cfg.medium,
            self.medium.map(|m| match m {
                MediumFlag::Uicc => Medium::Uicc,
                MediumFlag::GpSe => Medium::GpSe,
            })
        );
        set!(
            cfg.carrier,
            self.carrier.map(|c| match c {
                CarrierFlag::Mno => Carrier::Mno,
                CarrierFlag::Mvno => Carrier::Mvno,
            })
        );
        set!(
            cfg.keygen,
            self.keygen.map(|k| match k {
                KeyGenFlag::OnSe => KeyGen::OnSe,
                KeyGenFlag::Center => KeyGen::Center,
            })
        );
        set!(
            cfg.revocation,
            self.revocation.map(|r| match r {
                RevocationFlag::Ocsp => RevocationCheck::Ocsp,
                RevocationFlag::Crl => RevocationCheck::Crl,
            })
        );
        set!(
            cfg.proofing,
            self.proofing.map(|p| match p {
                ProofingFlag::CardSignature => Proofing::CardSignature,
                ProofingFlag::Mail => Proofing::Mail,
            })
        );
        set!(
            cfg.device_change,
            self.device_change.map(|d| match d {
                DeviceChangeFlag::NewPhoneOnly => DeviceChange::NewPhoneOnly,
                DeviceChangeFlag::NeedsOldPhone => DeviceChange::NeedsOldPhone,
            })
        );
        set!(
            cfg.network.ordering,
            self.network.map(|n| match n {
                NetworkFlag::Unordered => Ordering::Unordered,
                NetworkFlag::Ordered => Ordering::Ordered,
            })
        );
        cfg.network.lossy |= self.lossy;
        cfg.network.duplicating |= self.duplicating;
        set!(cfg.budgets.applications, self.applications);
        set!(cfg.budgets.thefts, self.thefts);
        set!(cfg.budgets.pin_entries, self.pin_entries);
        set!(cfg.budgets.card_events, self.card_events);
        set!(cfg.budgets.sim_events, self.sim_events);
        set!(cfg.budgets.device_events, self.device_events);
        set!(cfg.budgets.events, self.events);
        if self.max_depth.is_some() {
            cfg.max_depth = self.max_depth;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

fn parse_flaw(id: &str) -> Result<Flaw, ConfigError> {
    Flaw::ALL
        .into_iter()
        .find(|f| flaw_id(*f) == id)
        .ok_or_else(|| {
            let known: Vec<String> = Flaw::ALL.into_iter().map(flaw_id).collect();
            ConfigError(format!(
                "unknown flaw '{id}'; known flaws: {}",
                known.join(", ")
            ))
        })
}

pub(crate) fn flaw_id(f: Flaw) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
