//! The applicant's transition: what it offers, and what it learns.

mod common;
use common::*;

#[test]
fn applicant_offers_only_what_its_situation_and_budgets_allow() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let card = ca::init(&c).card_of(P0).map(|r| r.cert);
    let a0 = applicant::init(&c, P0, card);
    let offered = applicant::choices(&c, &a0);
    assert!(offered.contains(&Choice::Apply { se: SE0 }));
    assert!(
        !offered.contains(&Choice::Apply { se: SE1 }),
        "SE 1 is a spare SIM, not in service"
    );
    assert!(offered.contains(&Choice::RetireSim {
        se: SE0,
        why: Retirement::PortedHandedBack
    }));
    assert!(!offered.contains(&Choice::ReportLoss), "nothing lost yet");

    let applied = applicant::on_choice(&c, &a0, Choice::Apply { se: SE0 });
    assert!(matches!(
        applied.out.0[..],
        [(
            Party::SpTsm,
            Msg::Apply(Application {
                se: SE0,
                app: AppNo(0),
                ..
            })
        )]
    ));
    assert_eq!(applied.state.applications, vec![(AppNo(0), SE0)]);

    let stolen = applicant::on_choice(&c, &applied.state, Choice::Steal { se: SE0 }).state;
    assert_eq!(stolen.devices[0].holder, Holder::Thief);
    let offered = applicant::choices(&c, &stolen);
    assert!(offered.contains(&Choice::ReportLoss));
    assert!(offered.contains(&Choice::ThiefGuessesPin { se: SE0 }));
    assert!(
        !offered.contains(&Choice::Login {
            se: SE0,
            pin_correct: true
        }),
        "the owner no longer has the phone"
    );
    assert!(!offered.contains(&Choice::Unsuspend));

    // A choice that is not enabled changes nothing.
    let same = applicant::on_choice(&c, &a0, Choice::Unsuspend);
    assert_eq!(same.state, a0);
    assert!(same.out.is_empty());

    // The total budget of counted events closes every counted choice.
    let tight = Config {
        budgets: jpkisim_model::config::Budgets {
            events: 1,
            ..cfg.budgets
        },
        ..cfg
    };
    let tc = ctx(&tight);
    let after = applicant::on_choice(&tc, &a0, Choice::Apply { se: SE0 }).state;
    assert!(applicant::choices(&tc, &after).is_empty());
}

#[test]
fn applicant_learns_retirement_and_renewed_card() {
    let cfg = Config {
        medium: Medium::Uicc,
        ..Config::default()
    };
    let c = ctx(&cfg);
    let card = ca::init(&c).card_of(P0).map(|r| r.cert);
    let a0 = applicant::init(&c, P0, card);
    let retiring = applicant::on_choice(
        &c,
        &a0,
        Choice::RetireSim {
            se: SE0,
            why: Retirement::Disposed,
        },
    )
    .state;
    assert_eq!(
        retiring.devices[0].service,
        Service::Retiring(Retirement::Disposed)
    );
    let retired =
        applicant::on_msg(&c, &retiring, Party::SeTsm, &Msg::SimRetired { se: SE0 }).state;
    assert_eq!(
        retired.devices[0].service,
        Service::Retired(Retirement::Disposed)
    );
    let renewing = applicant::on_choice(&c, &a0, Choice::Card(CardEventKind::Renewed)).state;
    assert_eq!(renewing.card, None);
    let new = Certificate {
        serial: Serial(9),
        subject: Subject::Card {
            person: P0,
            gen: CardGen(1),
        },
        key: PublicKey(KeyName::Card {
            person: P0,
            gen: CardGen(1),
        }),
    };
    let renewed = applicant::on_msg(&c, &renewing, Party::Ca, &Msg::CardIssued { cert: new }).state;
    assert_eq!(renewed.card, Some(new));
}

/// Porting the number hands the line to a spare SIM (the old one handed back or disposed of), so
/// with one SIM and no spare only plain disposal is offered, and no move.
#[test]
fn porting_needs_a_spare_sim_disposal_does_not() {
    let cfg = Config {
        ses_per_person: 1,
        ..Config::default()
    };
    let c = ctx(&cfg);
    let card = ca::init(&c).card_of(P0).map(|r| r.cert);
    let a0 = applicant::init(&c, P0, card);
    let offered = applicant::choices(&c, &a0);
    assert!(offered.contains(&Choice::RetireSim {
        se: SE0,
        why: Retirement::Disposed
    }));
    assert!(
        !offered.iter().any(|ch| matches!(
            ch,
            Choice::RetireSim {
                why: Retirement::PortedHandedBack | Retirement::PortedDisposed,
                ..
            } | Choice::MoveSim { .. }
        )),
        "{offered:?}"
    );
}
