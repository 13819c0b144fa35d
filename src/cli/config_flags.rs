//! The configuration flags shared by every subcommand that builds a model.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use jpkisim_model::config::{
    Carrier, Config, DeviceChange, Dimension, Flaw, KeyGen, Medium, Ordering, Proofing,
    RevocationCheck, Role, Thief, Timeouts,
};
use jpkisim_model::ConfigError;
use jpkisim_properties::variants::{self, Variant};

/// The command-line parser of a model dimension: its possible values are the dimension's serde
/// names (listed in `--help` with their meaning), parsed back by the model itself.
fn dimension<T: Dimension + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::VALUES
            .iter()
            .map(|v| PossibleValue::new(v.name()).help(v.help())),
    )
    .try_map(|text| T::parse(&text))
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
    #[arg(long, value_parser = dimension::<Medium>())]
    medium: Option<Medium>,
    /// Subscribers' carrier kind, SIM medium [default: mno].
    #[arg(long, value_parser = dimension::<Carrier>())]
    carrier: Option<Carrier>,
    /// Where phone key pairs are generated [default: on-se].
    #[arg(long, value_parser = dimension::<KeyGen>())]
    keygen: Option<KeyGen>,
    /// How relying parties check certificate status [default: ocsp].
    #[arg(long, value_parser = dimension::<RevocationCheck>())]
    revocation: Option<RevocationCheck>,
    /// How the applicant proves their identity when applying [default: card-signature].
    #[arg(long, value_parser = dimension::<Proofing>())]
    proofing: Option<Proofing>,
    /// What a device change requires of the old phone [default: new-phone-only].
    #[arg(long, value_parser = dimension::<DeviceChange>())]
    device_change: Option<DeviceChange>,
    /// What a thief can do with a stolen phone [default: guesses-pin].
    #[arg(long, value_parser = dimension::<Thief>())]
    thief: Option<Thief>,
    /// A Dolev–Yao intruder controls the open network links (replays, injects, forges).
    #[arg(long)]
    intruder: bool,
    /// A party whose keys and channel credentials the intruder holds (repeatable).
    #[arg(long = "compromised", value_name = "PARTY", value_parser = dimension::<Role>())]
    compromised: Vec<Role>,
    /// Message ordering [default: unordered].
    #[arg(long, value_parser = dimension::<Ordering>())]
    network: Option<Ordering>,
    /// The network may lose messages.
    #[arg(long)]
    lossy: bool,
    /// The network may deliver messages more than once (replays).
    #[arg(long)]
    duplicating: bool,
    /// How many of the CA, SP-TSM and SE-TSM may be down at once; each may crash and restart
    /// from its database any number of times (docs/recovery.md) [default: 0].
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    crashes: Option<u8>,
    /// When an armed timer may fire (timers are armed with --lossy or --crashes) [default: patient].
    #[arg(long, value_parser = dimension::<Timeouts>())]
    timeouts: Option<Timeouts>,
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
    /// Budget: messages the intruder injects or forges [default: 1].
    #[arg(long)]
    intrusions: Option<u8>,
    /// Optional depth bound (the budgets already make exploration finite).
    #[arg(long)]
    max_depth: Option<usize>,
    /// Switch on a deliberate flaw by id (repeatable; `jpkisim variants` lists them).
    #[arg(long = "flaw", value_name = "ID", value_parser = dimension::<Flaw>(), hide_possible_values = true)]
    flaws: Vec<Flaw>,
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
        for flaw in &self.flaws {
            cfg.flaws = cfg.flaws.with(*flaw);
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
        set!(cfg.medium, self.medium);
        set!(cfg.carrier, self.carrier);
        set!(cfg.keygen, self.keygen);
        set!(cfg.revocation, self.revocation);
        set!(cfg.proofing, self.proofing);
        set!(cfg.device_change, self.device_change);
        set!(cfg.thief, self.thief);
        cfg.intruder |= self.intruder;
        for role in &self.compromised {
            cfg.compromised = cfg.compromised.with(*role);
        }
        set!(cfg.network.ordering, self.network);
        cfg.network.lossy |= self.lossy;
        cfg.network.duplicating |= self.duplicating;
        set!(cfg.crashes, self.crashes);
        set!(cfg.timeouts, self.timeouts);
        set!(cfg.budgets.applications, self.applications);
        set!(cfg.budgets.thefts, self.thefts);
        set!(cfg.budgets.pin_entries, self.pin_entries);
        set!(cfg.budgets.card_events, self.card_events);
        set!(cfg.budgets.sim_events, self.sim_events);
        set!(cfg.budgets.device_events, self.device_events);
        set!(cfg.budgets.events, self.events);
        set!(cfg.budgets.intrusions, self.intrusions);
        if self.max_depth.is_some() {
            cfg.max_depth = self.max_depth;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}
