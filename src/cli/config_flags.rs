//! The configuration flags shared by every subcommand that builds a model.

use jpkisim_model::config::{
    Budgets, Carrier, Config, Flaw, Flaws, KeyGen, Medium, NetworkSemantics, Ordering,
    RevocationCheck,
};
use jpkisim_model::ConfigError;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum MediumFlag {
    Uicc,
    GpSe,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum CarrierFlag {
    Mno,
    Mvno,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum KeyGenFlag {
    OnSe,
    Center,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum RevocationFlag {
    Ocsp,
    Crl,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum NetworkFlag {
    /// Unordered delivery (reordering).
    Unordered,
    /// Per-channel FIFO.
    Ordered,
}

/// Model configuration (defaults: the SIM design through the carrier's TSM).
#[derive(clap::Args, Debug)]
pub(crate) struct ConfigFlags {
    /// Number of persons.
    #[arg(long, default_value_t = 2)]
    persons: u8,
    /// SEs (SIMs or phones) per person.
    #[arg(long, default_value_t = 2)]
    ses_per_person: u8,
    /// Secure element medium.
    #[arg(long, value_enum, default_value = "uicc")]
    medium: MediumFlag,
    /// Subscribers' carrier kind (SIM medium).
    #[arg(long, value_enum, default_value = "mno")]
    carrier: CarrierFlag,
    /// Where phone key pairs are generated.
    #[arg(long, value_enum, default_value = "on-se")]
    keygen: KeyGenFlag,
    /// How relying parties check certificate status.
    #[arg(long, value_enum, default_value = "ocsp")]
    revocation: RevocationFlag,
    /// Message ordering.
    #[arg(long, value_enum, default_value = "unordered")]
    network: NetworkFlag,
    /// The network may lose messages.
    #[arg(long)]
    lossy: bool,
    /// The network may deliver messages more than once (replays).
    #[arg(long)]
    duplicating: bool,
    /// Budget: applications (all persons together).
    #[arg(long, default_value_t = Budgets::default().applications)]
    applications: u8,
    /// Budget: phone thefts.
    #[arg(long, default_value_t = Budgets::default().thefts)]
    thefts: u8,
    /// Budget: PIN entries (owner or thief, right or wrong).
    #[arg(long, default_value_t = Budgets::default().pin_entries)]
    pin_entries: u8,
    /// Budget: card events (lost, renewed, expired).
    #[arg(long, default_value_t = Budgets::default().card_events)]
    card_events: u8,
    /// Budget: SIM events (move, port, dispose).
    #[arg(long, default_value_t = Budgets::default().sim_events)]
    sim_events: u8,
    /// Budget: device events (revoke from phone, boot an old phone).
    #[arg(long, default_value_t = Budgets::default().device_events)]
    device_events: u8,
    /// Budget: total of all counted events.
    #[arg(long, default_value_t = Budgets::default().events)]
    events: u8,
    /// Optional depth bound (the budgets already make exploration finite).
    #[arg(long)]
    max_depth: Option<usize>,
    /// Switch on a deliberate flaw (repeatable), by id as listed in docs/properties.md.
    #[arg(long = "flaw", value_name = "ID")]
    flaws: Vec<String>,
}

impl ConfigFlags {
    pub(crate) fn to_config(&self) -> Result<Config, ConfigError> {
        let mut flaws = Flaws::NONE;
        for id in &self.flaws {
            flaws = flaws.with(parse_flaw(id)?);
        }
        let cfg = Config {
            persons: self.persons,
            ses_per_person: self.ses_per_person,
            medium: match self.medium {
                MediumFlag::Uicc => Medium::Uicc,
                MediumFlag::GpSe => Medium::GpSe,
            },
            carrier: match self.carrier {
                CarrierFlag::Mno => Carrier::Mno,
                CarrierFlag::Mvno => Carrier::Mvno,
            },
            keygen: match self.keygen {
                KeyGenFlag::OnSe => KeyGen::OnSe,
                KeyGenFlag::Center => KeyGen::Center,
            },
            revocation: match self.revocation {
                RevocationFlag::Ocsp => RevocationCheck::Ocsp,
                RevocationFlag::Crl => RevocationCheck::Crl,
            },
            network: NetworkSemantics {
                ordering: match self.network {
                    NetworkFlag::Unordered => Ordering::Unordered,
                    NetworkFlag::Ordered => Ordering::Ordered,
                },
                lossy: self.lossy,
                duplicating: self.duplicating,
            },
            budgets: Budgets {
                applications: self.applications,
                thefts: self.thefts,
                pin_entries: self.pin_entries,
                card_events: self.card_events,
                sim_events: self.sim_events,
                device_events: self.device_events,
                events: self.events,
            },
            max_depth: self.max_depth,
            flaws,
        };
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
