//! The Stateright adapter calls the same transitions, and the SE takes no PIN before personalization.

mod common;
use common::*;

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
