//! The named properties of the JPKI smartphone protocol and the checker that verifies them.
//!
//! [`catalogue`] lists every property with its guarantee and source; [`checked_model`] attaches
//! the ones that apply to a configuration to the Stateright model; [`check`] runs an exhaustive
//! check and returns a [`check::Report`] whose JSON shape is the CI interface of `jpkisim check`.

pub mod catalogue;
pub mod check;
pub mod counterexample;
pub mod explorer;
pub mod explorer_http;
pub mod itf;
pub mod markdown;
pub mod matrix;
pub mod replay;
pub mod shortest;
pub mod variants;

pub use catalogue::{Kind, PropertyDef, ALL};

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

/// The Stateright model of `cfg` with every applicable property attached.
pub fn checked_model(cfg: Config) -> Result<JpkiModel, ConfigError> {
    let model: JpkiModel = jpkisim_model::build(cfg)?;
    let (props, _) = applicable(&cfg);
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
