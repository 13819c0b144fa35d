//! The specification of the JPKI smartphone protocol: what must always hold, what must be
//! reachable, and the deliberately broken variants that each property must catch.
//!
//! [`catalogue`] lists every property with its guarantee, its source in the studies, where it
//! applies and (for a safety property) what triggers it; [`variants`] lists the broken designs;
//! [`applicable`] splits the catalogue for one configuration; [`checked_model`] attaches the
//! applicable properties to the Stateright model.
//!
//! It must never explore, render or serve anything: searching for counterexamples, reports and
//! the Explorer belong to `jpkisim-checker`, and nothing here may depend on how a check is run.

pub mod catalogue;
pub mod variants;

pub use catalogue::{Kind, PropertyDef, Trigger, ALL};

use jpkisim_model::{Config, ConfigError, JpkiModel};
use stateright::actor::ActorModel;

/// The properties that apply to `cfg`, and those that do not, with the reason.
pub fn applicable(
    cfg: &Config,
) -> (
    Vec<&'static PropertyDef>,
    Vec<(&'static PropertyDef, &'static str)>,
) {
    let mut yes = Vec::new();
    let mut no = Vec::new();
    for p in ALL {
        match (p.applies)(cfg) {
            Ok(()) => yes.push(p),
            Err(why) => no.push((p, why)),
        }
    }
    (yes, no)
}

/// The safety (`always`) properties that apply to `cfg`: what a run checks on every step.
pub fn applicable_safety(cfg: &Config) -> impl Iterator<Item = &'static PropertyDef> + '_ {
    ALL.iter()
        .filter(move |p| p.kind == Kind::Always && (p.applies)(cfg).is_ok())
}

/// The triggers of the safety properties that apply to `cfg`, as the reachability targets an
/// exploration searches for (`<property>.trigger`), in catalogue order.
pub fn applicable_triggers(cfg: &Config) -> Vec<&'static PropertyDef> {
    applicable_safety(cfg)
        .filter_map(|p| p.trigger.map(|t| t.target))
        .collect()
}

/// The Stateright model of `cfg` with every applicable property attached.
pub fn checked_model(cfg: Config) -> Result<JpkiModel, ConfigError> {
    let (props, _) = applicable(&cfg);
    attach(jpkisim_model::build(cfg)?, props)
}

/// [`checked_model`] with the applicable safety properties' triggers attached too, as
/// reachability properties: what a check runs, so that it can tell "holds" from "holds, never
/// triggered".
pub fn checked_model_with_triggers(cfg: Config) -> Result<JpkiModel, ConfigError> {
    let (mut props, _) = applicable(&cfg);
    props.extend(applicable_triggers(&cfg));
    attach(jpkisim_model::build(cfg)?, props)
}

fn attach(model: JpkiModel, props: Vec<&'static PropertyDef>) -> Result<JpkiModel, ConfigError> {
    Ok(props
        .into_iter()
        .fold(model, |m: JpkiModel, p| match p.kind {
            Kind::Always => {
                ActorModel::property(m, stateright::Expectation::Always, p.id, p.stateright)
            }
            Kind::Sometimes => {
                ActorModel::property(m, stateright::Expectation::Sometimes, p.id, p.stateright)
            }
        }))
}
