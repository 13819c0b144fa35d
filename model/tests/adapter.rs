//! The Stateright adapter calls the same transitions, and the SE takes no PIN before personalization.

mod common;
use common::*;
use jpkisim_model::actors::PartyChoice;
use jpkisim_model::ca::CaChoice;
use jpkisim_model::config::RevocationCheck;

#[test]
fn the_adapter_calls_the_same_transitions() {
    let cfg = Config::default();
    let actor = PartyActor {
        party: Party::Se(SE0),
        cfg,
    };
    let s0 = actor.initial_state();
    let step = actor.deliver(&s0, Party::SeTsm, &install(P0, 0));
    let direct = se::on_msg(&ctx(&cfg), &se::init(SE0), Party::SeTsm, &install(P0, 0));
    assert_eq!(step.state, PartyState::Se(direct.state));
    assert_eq!(step.out, direct.out);
}

#[test]
fn se_takes_no_pin_before_personalization() {
    // The applet has no PIN until STORE DATA provisions it and answers every command 69 85;
    // the reference's differential test found the model counting a wrong PIN here.
    let cfg = Config::default();
    let c = ctx(&cfg);
    let installed = se::on_msg(&c, &se::init(SE0), Party::SeTsm, &install(P0, 0)).state;
    assert_eq!(installed.applet.map(|a| a.life), Some(Lifecycle::Installed));
    let wrong = se::on_msg(
        &c,
        &installed,
        Party::Applicant(P0),
        &Msg::Authenticate {
            login: LoginId { person: P0, n: 0 },
            pin_correct: false,
        },
    );
    assert_eq!(wrong.state, installed, "no try spent, nothing else changed");
    assert!(wrong.out.is_empty());
}

/// The CA's own choice (publishing a CRL) goes through the adapter to the CA's transition too.
#[test]
fn the_adapter_passes_the_cas_choice_to_the_ca() {
    let cfg = Config {
        revocation: RevocationCheck::Crl,
        ..Config::default()
    };
    let actor = PartyActor {
        party: Party::Ca,
        cfg,
    };
    let mut ca0 = ca::init(&ctx(&cfg));
    ca0.epoch = Epoch(ca0.crl_published.0 + 1);
    let s0 = PartyState::Ca(ca0.clone());
    assert_eq!(
        actor.choices(&s0),
        vec![PartyChoice::Ca(CaChoice::PublishCrl)]
    );
    let step = actor.choose(&s0, PartyChoice::Ca(CaChoice::PublishCrl));
    let direct = ca::on_choice(&ctx(&cfg), &ca0, CaChoice::PublishCrl);
    assert_eq!(direct.state.crl_published, ca0.epoch);
    assert_eq!(step.state, PartyState::Ca(direct.state));
}
