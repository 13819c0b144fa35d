//! The SP-TSM's transition: the issuance session, its refusals, the MVNO route and sealed keys.

mod common;
use common::*;

#[test]
fn sp_tsm_drives_issuance_and_supersedes_the_current_certificate() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let ca0 = ca::init(&c);
    let sp0 = sp_tsm::init(&c);
    let a = application(&cfg, &ca0, P0, SE0, 0);
    let s1 = sp_tsm::on_msg(&c, &sp0, Party::Applicant(P0), &Msg::Apply(a));
    assert_eq!(
        s1.out.0,
        vec![(
            Party::SeTsm,
            Msg::InstallApplet {
                person: P0,
                se: SE0,
                app: AppNo(0)
            }
        )]
    );
    let key = se_key(SE0, 0);
    let s2 = sp_tsm::on_msg(
        &c,
        &s1.state,
        Party::Se(SE0),
        &Msg::AppletInstalled {
            person: P0,
            se: SE0,
            app: AppNo(0),
            key: Some(key),
            escrow: None,
        },
    );
    assert!(matches!(
        s2.out.0[..],
        [(
            Party::Ca,
            Msg::IssueCert {
                supersedes: None,
                card: Serial(1),
                ..
            }
        )]
    ));
    let cert = phone_cert(3, P0, SE0, 0);
    let s3 = sp_tsm::on_msg(
        &c,
        &s2.state,
        Party::Ca,
        &Msg::CertIssued {
            app: AppNo(0),
            cert,
        },
    );
    assert_eq!(
        s3.out.0,
        vec![(
            Party::Se(SE0),
            Msg::StoreData {
                app: AppNo(0),
                cert,
                key: None
            }
        )]
    );
    assert_eq!(s3.state.persons[0].current, Some(Serial(3)));
    assert_eq!(s3.state.persons[0].in_flight, None);
    // The next application supersedes serial 3.
    let b = application(&cfg, &ca0, P0, SE1, 1);
    let s4 = sp_tsm::on_msg(&c, &s3.state, Party::Applicant(P0), &Msg::Apply(b));
    let key1 = se_key(SE1, 1);
    let s5 = sp_tsm::on_msg(
        &c,
        &s4.state,
        Party::Se(SE1),
        &Msg::AppletInstalled {
            person: P0,
            se: SE1,
            app: AppNo(1),
            key: Some(key1),
            escrow: None,
        },
    );
    assert!(matches!(
        s5.out.0[..],
        [(
            Party::Ca,
            Msg::IssueCert {
                supersedes: Some(Serial(3)),
                ..
            }
        )]
    ));
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::SkipIssuedCheck),
        ..cfg
    };
    let s5f = sp_tsm::on_msg(
        &ctx(&flawed),
        &s4.state,
        Party::Se(SE1),
        &Msg::AppletInstalled {
            person: P0,
            se: SE1,
            app: AppNo(1),
            key: Some(key1),
            escrow: None,
        },
    );
    assert!(matches!(
        s5f.out.0[..],
        [(
            Party::Ca,
            Msg::IssueCert {
                supersedes: None,
                ..
            }
        )]
    ));
}

#[test]
fn sp_tsm_refuses_bad_signatures_concurrent_and_stale_applications() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let ca0 = ca::init(&c);
    let sp0 = sp_tsm::init(&c);
    let a = application(&cfg, &ca0, P0, SE0, 0);
    // Retargeted to another SE: the signature covers the SE, so it fails.
    let retargeted = Application { se: SE1, ..a };
    assert_eq!(
        sp_tsm::on_msg(&c, &sp0, Party::Applicant(P0), &Msg::Apply(retargeted)).state,
        sp0
    );
    // Signed with person 1's card for person 0.
    let forged = Application {
        card_cert: card_cert(&ca0, P1),
        ..a
    };
    assert_eq!(
        sp_tsm::on_msg(&c, &sp0, Party::Applicant(P0), &Msg::Apply(forged)).state,
        sp0
    );
    // A second application while one is in flight, a duplicate, and a stale one change nothing.
    let s1 = sp_tsm::on_msg(&c, &sp0, Party::Applicant(P0), &Msg::Apply(a)).state;
    let b = application(&cfg, &ca0, P0, SE1, 1);
    let s2 = sp_tsm::on_msg(&c, &s1, Party::Applicant(P0), &Msg::Apply(b));
    assert_eq!(s2.state, s1);
    assert!(s2.out.is_empty());
    assert_eq!(
        sp_tsm::on_msg(&c, &s1, Party::Applicant(P0), &Msg::Apply(a)).state,
        s1
    );
    // With the flawed signature, the retargeted application is accepted.
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::UnboundSeInApplication),
        ..cfg
    };
    let fc = ctx(&flawed);
    let fa = application(&flawed, &ca0, P0, SE0, 0);
    let step = sp_tsm::on_msg(
        &fc,
        &sp0,
        Party::Applicant(P0),
        &Msg::Apply(Application { se: SE1, ..fa }),
    );
    assert_eq!(step.state.persons[0].in_flight.map(|s| s.se), Some(SE1));
}

#[test]
fn sp_tsm_ignores_a_stale_refusal_for_a_session_that_moved_on() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let a = application(&cfg, &ca::init(&c), P0, SE0, 0);
    let s1 = sp_tsm::on_msg(&c, &sp_tsm::init(&c), Party::Applicant(P0), &Msg::Apply(a)).state;
    let key = se_key(SE0, 0);
    let s2 = sp_tsm::on_msg(
        &c,
        &s1,
        Party::Se(SE0),
        &Msg::AppletInstalled {
            person: P0,
            se: SE0,
            app: AppNo(0),
            key: Some(key),
            escrow: None,
        },
    )
    .state;
    let stale = sp_tsm::on_msg(
        &c,
        &s2,
        Party::SeTsm,
        &Msg::InstallRefused {
            person: P0,
            app: AppNo(0),
        },
    );
    assert_eq!(
        stale.state, s2,
        "certification is under way; an old refusal does not end it"
    );
    let refused = sp_tsm::on_msg(
        &c,
        &s1,
        Party::SeTsm,
        &Msg::InstallRefused {
            person: P0,
            app: AppNo(0),
        },
    );
    assert_eq!(refused.state.persons[0].in_flight, None);
    let ca_refused = sp_tsm::on_msg(
        &c,
        &s2,
        Party::Ca,
        &Msg::IssueRefused {
            person: P0,
            app: AppNo(0),
        },
    );
    assert_eq!(ca_refused.state.persons[0].in_flight, None);
}

#[test]
fn sp_tsm_goes_through_the_mvno_and_seals_centre_keys() {
    let cfg = Config {
        carrier: Carrier::Mvno,
        keygen: KeyGen::Center,
        ..Config::default()
    };
    let c = ctx(&cfg);
    let ca0 = ca::init(&c);
    let a = application(&cfg, &ca0, P0, SE0, 0);
    let s1 = sp_tsm::on_msg(&c, &sp_tsm::init(&c), Party::Applicant(P0), &Msg::Apply(a));
    assert_eq!(s1.out.0[0].0, Party::Mvno);
    let s2 = sp_tsm::on_msg(
        &c,
        &s1.state,
        Party::Se(SE0),
        &Msg::AppletInstalled {
            person: P0,
            se: SE0,
            app: AppNo(0),
            key: None,
            escrow: None,
        },
    );
    let center = KeyName::Center {
        person: P0,
        app: AppNo(0),
    };
    assert!(
        matches!(s2.state.persons[0].in_flight.map(|s| s.stage), Some(Stage::Certifying { center_key: Some(k), .. }) if k == center)
    );
    let cert = Certificate {
        key: PublicKey(center),
        ..phone_cert(3, P0, SE0, 0)
    };
    let s3 = sp_tsm::on_msg(
        &c,
        &s2.state,
        Party::Ca,
        &Msg::CertIssued {
            app: AppNo(0),
            cert,
        },
    );
    assert!(matches!(
        s3.out.0[..],
        [(
            Party::Se(SE0),
            Msg::StoreData {
                key: Some(KeyDelivery::Sealed { for_se: SE0, .. }),
                ..
            }
        )]
    ));
    let plain = Config {
        flaws: cfg.flaws.with(Flaw::CenterKeyPlaintext),
        ..cfg
    };
    let s3p = sp_tsm::on_msg(
        &ctx(&plain),
        &s2.state,
        Party::Ca,
        &Msg::CertIssued {
            app: AppNo(0),
            cert,
        },
    );
    assert!(matches!(
        s3p.out.0[..],
        [(
            _,
            Msg::StoreData {
                key: Some(KeyDelivery::Plain(_)),
                ..
            }
        )]
    ));
}
