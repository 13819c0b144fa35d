//! Each party's transition function, called directly (as the reference runtime will), on the
//! inputs that matter: the happy path, and each rule that must refuse something.

use jpkisim_model::applicant::{self, Choice, Holder};
use jpkisim_model::ca::{self, CaState};
use jpkisim_model::config::{Carrier, Config, Flaw, KeyGen, Medium};
use jpkisim_model::crypto::{
    Certificate, Crypto, KeyDelivery, KeyName, PublicKey, Subject, Symbolic,
};
use jpkisim_model::ids::{AppNo, CardGen, Epoch, LoginId, Party, PersonId, SeId, Serial};
use jpkisim_model::msg::{Application, CardEventKind, CertStatus, Msg, Retirement, StatusEvidence};
use jpkisim_model::relying_party::{self, RpState};
use jpkisim_model::se::{self, Lifecycle, AUTH_PIN_TRIES};
use jpkisim_model::se_tsm::{self, Service};
use jpkisim_model::sp_tsm::{self, Stage};
use jpkisim_model::transition::Ctx;
use jpkisim_model::{mvno, PartyActor, PartyState};

const P0: PersonId = PersonId(0);
const P1: PersonId = PersonId(1);
const SE0: SeId = SeId(0);
const SE1: SeId = SeId(1);
const SE2: SeId = SeId(2);

fn ctx(cfg: &Config) -> Ctx<'_, Symbolic> {
    Ctx {
        cfg,
        crypto: &Symbolic,
    }
}

fn card_cert(ca: &CaState, p: PersonId) -> Certificate {
    ca.card_of(p)
        .map(|r| r.cert)
        .expect("every person starts with a card")
}

fn application(cfg: &Config, ca: &CaState, person: PersonId, se: SeId, app: u8) -> Application {
    let c = ctx(cfg);
    let card = card_cert(ca, person);
    let digest = sp_tsm::application_digest(&c, person, se, AppNo(app), card.serial);
    Application {
        person,
        se,
        app: AppNo(app),
        card_cert: card,
        sig: Symbolic.sign(card.key.0, digest),
    }
}

fn phone_cert(serial: u8, person: PersonId, se: SeId, app: u8) -> Certificate {
    Certificate {
        serial: Serial(serial),
        subject: Subject::Phone {
            person,
            se,
            app: AppNo(app),
        },
        key: PublicKey(KeyName::Se {
            se,
            app: AppNo(app),
        }),
    }
}

// ---- CA -----------------------------------------------------------------------------------

fn issue(
    cfg: &Config,
    ca: &CaState,
    person: PersonId,
    se: SeId,
    app: u8,
    supersedes: Option<Serial>,
) -> (CaState, Vec<(Party, Msg)>) {
    let c = ctx(cfg);
    let card = card_cert(ca, person).serial;
    let step = ca::on_msg(
        &c,
        ca,
        Party::SpTsm,
        &Msg::IssueCert {
            person,
            se,
            app: AppNo(app),
            key: PublicKey(KeyName::Se {
                se,
                app: AppNo(app),
            }),
            card,
            supersedes,
        },
    );
    (step.state, step.out.0)
}

#[test]
fn ca_starts_with_one_valid_card_certificate_per_person() {
    let cfg = Config::default();
    let ca = ca::init(&ctx(&cfg));
    assert_eq!(ca.certs.len(), 2);
    assert_eq!(card_cert(&ca, P0).serial, Serial(1));
    assert_eq!(card_cert(&ca, P1).serial, Serial(2));
    assert!(ca.certs.iter().all(|r| r.status() == CertStatus::Valid));
}

#[test]
fn ca_issues_links_to_the_card_and_supersedes_the_previous_certificate() {
    let cfg = Config::default();
    let ca0 = ca::init(&ctx(&cfg));
    let (ca1, out) = issue(&cfg, &ca0, P0, SE0, 0, None);
    let serial = match &out[..] {
        [(Party::SpTsm, Msg::CertIssued { cert, .. })] => cert.serial,
        other => panic!("expected CertIssued, got {other:?}"),
    };
    assert_eq!(
        serial,
        Serial(3),
        "phone serials continue after the card serials"
    );
    assert_eq!(
        ca1.record(serial).and_then(|r| r.linked_card),
        Some(Serial(1))
    );
    let (ca2, _) = issue(&cfg, &ca1, P0, SE1, 1, Some(serial));
    assert_eq!(
        ca2.record(serial).map(|r| r.status()),
        Some(CertStatus::Revoked)
    );
    assert_eq!(
        ca2.record(Serial(4)).map(|r| r.status()),
        Some(CertStatus::Valid)
    );
    assert!(ca2.epoch > ca1.epoch);
}

#[test]
fn ca_answers_a_repeated_issue_request_with_the_same_certificate() {
    let cfg = Config::default();
    let (ca1, out1) = issue(&cfg, &ca::init(&ctx(&cfg)), P0, SE0, 0, None);
    let (ca2, out2) = issue(&cfg, &ca1, P0, SE0, 0, None);
    assert_eq!(ca1, ca2);
    assert_eq!(out1, out2);
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NonIdempotentIssue),
        ..cfg
    };
    let (ca3, _) = issue(&flawed, &ca1, P0, SE0, 0, None);
    assert_eq!(
        ca3.phone_certs_of(P0).count(),
        2,
        "the flawed CA issues twice"
    );
}

#[test]
fn ca_refuses_issuance_on_a_revoked_card_or_for_a_retired_se() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let ca0 = ca::init(&c);
    let lost = ca::on_msg(
        &c,
        &ca0,
        Party::Applicant(P0),
        &Msg::CardEvent {
            person: P0,
            gen: CardGen(0),
            event: CardEventKind::Lost,
        },
    )
    .state;
    let step = ca::on_msg(
        &c,
        &lost,
        Party::SpTsm,
        &Msg::IssueCert {
            person: P0,
            se: SE0,
            app: AppNo(0),
            key: PublicKey(KeyName::Se {
                se: SE0,
                app: AppNo(0),
            }),
            card: Serial(1),
            supersedes: None,
        },
    );
    assert_eq!(
        step.out.0,
        vec![(
            Party::SpTsm,
            Msg::IssueRefused {
                person: P0,
                app: AppNo(0)
            }
        )]
    );
    let retired = ca::on_msg(&c, &ca0, Party::SeTsm, &Msg::RevokeForSe { se: SE0 }).state;
    let (_, out) = issue(&cfg, &retired, P0, SE0, 0, None);
    assert_eq!(
        out,
        vec![(
            Party::SpTsm,
            Msg::IssueRefused {
                person: P0,
                app: AppNo(0)
            }
        )]
    );
}

#[test]
fn ca_cascades_card_revocation_renewal_and_expiry() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let (issued, _) = issue(&cfg, &ca::init(&c), P0, SE0, 0, None);
    for (event, card_to, phone_to) in [
        (
            CardEventKind::Lost,
            CertStatus::Revoked,
            CertStatus::Revoked,
        ),
        (
            CardEventKind::Renewed,
            CertStatus::Revoked,
            CertStatus::Revoked,
        ),
        (
            CardEventKind::Expired,
            CertStatus::Expired,
            CertStatus::Expired,
        ),
    ] {
        let step = ca::on_msg(
            &c,
            &issued,
            Party::Applicant(P0),
            &Msg::CardEvent {
                person: P0,
                gen: CardGen(0),
                event,
            },
        );
        assert_eq!(
            step.state.record(Serial(1)).map(|r| r.status()),
            Some(card_to),
            "{event:?}"
        );
        assert_eq!(
            step.state.record(Serial(3)).map(|r| r.status()),
            Some(phone_to),
            "{event:?}"
        );
        let replay = ca::on_msg(
            &c,
            &step.state,
            Party::Applicant(P0),
            &Msg::CardEvent {
                person: P0,
                gen: CardGen(0),
                event,
            },
        );
        assert_eq!(
            replay.state, step.state,
            "a replayed {event:?} about the old card changes nothing"
        );
        if event == CardEventKind::Renewed {
            assert!(
                matches!(&step.out.0[..], [(Party::Applicant(P0), Msg::CardIssued { cert })]
                if cert.subject == Subject::Card { person: P0, gen: CardGen(1) })
            );
        }
    }
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NoCardRevocationCascade),
        ..cfg
    };
    let step = ca::on_msg(
        &ctx(&flawed),
        &issued,
        Party::Applicant(P0),
        &Msg::CardEvent {
            person: P0,
            gen: CardGen(0),
            event: CardEventKind::Lost,
        },
    );
    assert_eq!(
        step.state.record(Serial(3)).map(|r| r.status()),
        Some(CertStatus::Valid)
    );
}

#[test]
fn ca_suspends_on_loss_and_unsuspends_only_what_was_suspended() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let (issued, _) = issue(&cfg, &ca::init(&c), P0, SE0, 0, None);
    let lost = ca::on_msg(
        &c,
        &issued,
        Party::Applicant(P0),
        &Msg::ReportLoss {
            person: P0,
            case: 1,
        },
    )
    .state;
    assert_eq!(
        lost.record(Serial(3)).map(|r| r.status()),
        Some(CertStatus::Suspended)
    );
    assert_eq!(
        lost.record(Serial(1)).map(|r| r.status()),
        Some(CertStatus::Valid),
        "the card is not suspended"
    );
    let back = ca::on_msg(
        &c,
        &lost,
        Party::Applicant(P0),
        &Msg::Unsuspend {
            person: P0,
            case: 1,
        },
    )
    .state;
    assert_eq!(
        back.record(Serial(3)).map(|r| r.status()),
        Some(CertStatus::Valid)
    );
    assert_eq!(
        back.record(Serial(3)).and_then(|r| r.status_at(lost.epoch)),
        Some(CertStatus::Suspended),
        "history keeps the suspension"
    );
    // A replayed report or unsuspension of the same case changes nothing.
    let replayed = ca::on_msg(
        &c,
        &back,
        Party::Applicant(P0),
        &Msg::ReportLoss {
            person: P0,
            case: 1,
        },
    )
    .state;
    assert_eq!(replayed, back);
    assert_eq!(
        ca::on_msg(
            &c,
            &back,
            Party::Applicant(P0),
            &Msg::Unsuspend {
                person: P0,
                case: 1
            }
        )
        .state,
        back
    );
    // Only the person themself can report their loss.
    let other = ca::on_msg(
        &c,
        &issued,
        Party::Applicant(P1),
        &Msg::ReportLoss {
            person: P0,
            case: 1,
        },
    )
    .state;
    assert_eq!(other, issued);
}

#[test]
fn ca_answers_ocsp_fresh_and_crl_as_published() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let (issued, _) = issue(&cfg, &ca::init(&c), P0, SE0, 0, None);
    let revoked = ca::on_msg(
        &c,
        &issued,
        Party::Applicant(P0),
        &Msg::RevokeFromPhone {
            person: P0,
            se: SE0,
        },
    )
    .state;
    let login = LoginId { person: P0, n: 0 };
    let ocsp = ca::on_msg(
        &c,
        &revoked,
        Party::RelyingParty,
        &Msg::StatusRequest {
            login,
            serial: Serial(3),
        },
    );
    assert!(matches!(
        &ocsp.out.0[..],
        [(
            Party::RelyingParty,
            Msg::StatusResponse {
                evidence: StatusEvidence::Ocsp {
                    status: CertStatus::Revoked,
                    ..
                },
                ..
            }
        )]
    ));

    let crl_cfg = Config {
        revocation: jpkisim_model::config::RevocationCheck::Crl,
        ..cfg
    };
    let cc = ctx(&crl_cfg);
    assert_eq!(ca::choices(&cc, &revoked), vec![ca::CaChoice::PublishCrl]);
    let stale = ca::on_msg(
        &cc,
        &revoked,
        Party::RelyingParty,
        &Msg::StatusRequest {
            login,
            serial: Serial(3),
        },
    );
    let Msg::StatusResponse { evidence, .. } = &stale.out.0[0].1 else {
        panic!("no response")
    };
    assert_eq!(
        relying_party::status_in(evidence, Serial(3)),
        CertStatus::Valid,
        "the CRL is not yet published"
    );
    let published = ca::on_choice(&cc, &revoked, ca::CaChoice::PublishCrl).state;
    assert!(ca::choices(&cc, &published).is_empty());
    let fresh = ca::on_msg(
        &cc,
        &published,
        Party::RelyingParty,
        &Msg::StatusRequest {
            login,
            serial: Serial(3),
        },
    );
    let Msg::StatusResponse { evidence, .. } = &fresh.out.0[0].1 else {
        panic!("no response")
    };
    assert_eq!(
        relying_party::status_in(evidence, Serial(3)),
        CertStatus::Revoked
    );
}

#[test]
fn ca_flaw_serial_reuse_repeats_a_serial() {
    let cfg = Config {
        flaws: jpkisim_model::config::Flaws::NONE.with(Flaw::SerialReuse),
        ..Config::default()
    };
    let (ca1, _) = issue(&cfg, &ca::init(&ctx(&cfg)), P0, SE0, 0, None);
    let (ca2, _) = issue(&cfg, &ca1, P1, SE2, 0, None);
    let serials: Vec<_> = ca2.certs.iter().map(|r| r.cert.serial).collect();
    assert_eq!(serials, vec![Serial(1), Serial(2), Serial(3), Serial(3)]);
}

// ---- SP-TSM -------------------------------------------------------------------------------

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
    let key = PublicKey(KeyName::Se {
        se: SE0,
        app: AppNo(0),
    });
    let s2 = sp_tsm::on_msg(
        &c,
        &s1.state,
        Party::Se(SE0),
        &Msg::AppletInstalled {
            person: P0,
            se: SE0,
            app: AppNo(0),
            key: Some(key),
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
    let key1 = PublicKey(KeyName::Se {
        se: SE1,
        app: AppNo(1),
    });
    let s5 = sp_tsm::on_msg(
        &c,
        &s4.state,
        Party::Se(SE1),
        &Msg::AppletInstalled {
            person: P0,
            se: SE1,
            app: AppNo(1),
            key: Some(key1),
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
    let key = PublicKey(KeyName::Se {
        se: SE0,
        app: AppNo(0),
    });
    let s2 = sp_tsm::on_msg(
        &c,
        &s1,
        Party::Se(SE0),
        &Msg::AppletInstalled {
            person: P0,
            se: SE0,
            app: AppNo(0),
            key: Some(key),
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

// ---- SE-TSM and MVNO ----------------------------------------------------------------------

#[test]
fn se_tsm_installs_only_on_the_persons_active_se() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let t0 = se_tsm::init(&c);
    assert_eq!(t0.service[..2], [Service::Active, Service::Spare]);
    let ok = se_tsm::on_msg(
        &c,
        &t0,
        Party::SpTsm,
        &Msg::InstallApplet {
            person: P0,
            se: SE0,
            app: AppNo(0),
        },
    );
    assert_eq!(
        ok.out.0,
        vec![(
            Party::Se(SE0),
            Msg::Install {
                person: P0,
                app: AppNo(0)
            }
        )]
    );
    for (person, se) in [(P1, SE0), (P0, SE1)] {
        let no = se_tsm::on_msg(
            &c,
            &t0,
            Party::SpTsm,
            &Msg::InstallApplet {
                person,
                se,
                app: AppNo(0),
            },
        );
        assert_eq!(
            no.out.0,
            vec![(
                Party::SpTsm,
                Msg::InstallRefused {
                    person,
                    app: AppNo(0)
                }
            )]
        );
    }
}

#[test]
fn se_tsm_ports_a_sim_only_after_jlis_revoked_it() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let t0 = se_tsm::init(&c);
    let why = Retirement::PortedHandedBack;
    let s1 = se_tsm::on_msg(
        &c,
        &t0,
        Party::Applicant(P0),
        &Msg::RetireSim {
            se: SE0,
            replacement: Some(SE1),
            why,
        },
    );
    assert_eq!(
        s1.state.service[..2],
        [Service::Retiring(why), Service::Active]
    );
    assert_eq!(s1.out.0, vec![(Party::Ca, Msg::RevokeForSe { se: SE0 })]);
    let s2 = se_tsm::on_msg(&c, &s1.state, Party::Ca, &Msg::SeRevoked { se: SE0 });
    assert_eq!(s2.state.service[0], Service::Retired(why));
    assert_eq!(
        s2.out.0,
        vec![
            (Party::Applicant(P0), Msg::SimRetired { se: SE0 }),
            (Party::Se(SE0), Msg::LockApplet)
        ]
    );
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NoRevokeOnCarrierSwitch),
        ..cfg
    };
    let f = se_tsm::on_msg(
        &ctx(&flawed),
        &t0,
        Party::Applicant(P0),
        &Msg::RetireSim {
            se: SE0,
            replacement: None,
            why: Retirement::Disposed,
        },
    );
    assert_eq!(
        f.out.0,
        vec![(Party::Applicant(P0), Msg::SimRetired { se: SE0 })]
    );
}

#[test]
fn mvno_asks_the_host_tsm_unless_flawed() {
    let cfg = Config {
        carrier: Carrier::Mvno,
        ..Config::default()
    };
    let req = Msg::InstallApplet {
        person: P0,
        se: SE0,
        app: AppNo(0),
    };
    let honest = mvno::on_msg(&ctx(&cfg), &(), Party::SpTsm, &req);
    assert_eq!(
        honest.out.0,
        vec![(
            Party::SeTsm,
            Msg::AuthoriseInstall {
                person: P0,
                se: SE0,
                app: AppNo(0)
            }
        )]
    );
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::MvnoBypassesHostTsm),
        ..cfg
    };
    let bypass = mvno::on_msg(&ctx(&flawed), &(), Party::SpTsm, &req);
    assert_eq!(
        bypass.out.0,
        vec![(
            Party::Se(SE0),
            Msg::Install {
                person: P0,
                app: AppNo(0)
            }
        )]
    );
}

// ---- SE -----------------------------------------------------------------------------------

fn personalised(cfg: &Config) -> se::SeState {
    let c = ctx(cfg);
    let s1 = se::on_msg(
        &c,
        &se::init(SE0),
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    );
    assert!(matches!(
        s1.out.0[..],
        [(Party::SpTsm, Msg::AppletInstalled { key: Some(_), .. })]
    ));
    let s2 = se::on_msg(
        &c,
        &s1.state,
        Party::SpTsm,
        &Msg::StoreData {
            app: AppNo(0),
            cert: phone_cert(3, P0, SE0, 0),
            key: None,
        },
    );
    assert!(s2.state.usable());
    s2.state
}

#[test]
fn se_installs_only_from_the_isd_key_holder_and_ignores_replays() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let fresh = se::init(SE0);
    for from in [Party::Mvno, Party::SpTsm, Party::Applicant(P0)] {
        assert_eq!(
            se::on_msg(
                &c,
                &fresh,
                from,
                &Msg::Install {
                    person: P0,
                    app: AppNo(0)
                }
            )
            .state,
            fresh
        );
    }
    let done = personalised(&cfg);
    let replay = se::on_msg(
        &c,
        &done,
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    );
    assert_eq!(replay.state, done);
    assert!(replay.out.is_empty());
    // A newer installation replaces the applet and wipes the old key.
    let newer = se::on_msg(
        &c,
        &done,
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(1),
        },
    )
    .state;
    assert_eq!(
        newer.applet.map(|a| (a.app, a.life)),
        Some((AppNo(1), Lifecycle::Installed))
    );
    assert_eq!(
        newer.key,
        Some(KeyName::Se {
            se: SE0,
            app: AppNo(1)
        })
    );
    assert_eq!(newer.cert, None);
}

#[test]
fn se_rejects_store_data_for_another_key_or_application() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let installed = se::on_msg(
        &c,
        &se::init(SE0),
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    )
    .state;
    let wrong_key = phone_cert(3, P0, SE1, 0);
    assert_eq!(
        se::on_msg(
            &c,
            &installed,
            Party::SpTsm,
            &Msg::StoreData {
                app: AppNo(0),
                cert: wrong_key,
                key: None
            }
        )
        .state,
        installed
    );
    assert_eq!(
        se::on_msg(
            &c,
            &installed,
            Party::SpTsm,
            &Msg::StoreData {
                app: AppNo(1),
                cert: phone_cert(3, P0, SE0, 0),
                key: None
            }
        )
        .state,
        installed
    );
}

#[test]
fn se_opens_only_keys_sealed_for_it() {
    let cfg = Config {
        keygen: KeyGen::Center,
        ..Config::default()
    };
    let c = ctx(&cfg);
    let installed = se::on_msg(
        &c,
        &se::init(SE0),
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    )
    .state;
    assert_eq!(installed.key, None);
    let k = KeyName::Center {
        person: P0,
        app: AppNo(0),
    };
    let cert = Certificate {
        key: PublicKey(k),
        ..phone_cert(3, P0, SE0, 0)
    };
    let other = se::on_msg(
        &c,
        &installed,
        Party::SpTsm,
        &Msg::StoreData {
            app: AppNo(0),
            cert,
            key: Some(KeyDelivery::Sealed {
                for_se: SE1,
                key: k,
            }),
        },
    );
    assert_eq!(other.state, installed);
    let mine = se::on_msg(
        &c,
        &installed,
        Party::SpTsm,
        &Msg::StoreData {
            app: AppNo(0),
            cert,
            key: Some(KeyDelivery::Sealed {
                for_se: SE0,
                key: k,
            }),
        },
    );
    assert!(mine.state.usable());
}

#[test]
fn se_blocks_the_pin_after_three_wrong_entries_and_a_success_resets_the_count() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let mut s = personalised(&cfg);
    let auth = |n: u8, ok: bool| Msg::Authenticate {
        login: LoginId { person: P0, n },
        pin_correct: ok,
    };
    s = se::on_msg(&c, &s, Party::Applicant(P0), &auth(0, false)).state;
    s = se::on_msg(&c, &s, Party::Applicant(P0), &auth(1, false)).state;
    assert_eq!(s.pin_tries_left, 1);
    let ok = se::on_msg(&c, &s, Party::Applicant(P0), &auth(2, true));
    assert_eq!(ok.state.pin_tries_left, AUTH_PIN_TRIES);
    assert!(matches!(
        ok.out.0[..],
        [(Party::RelyingParty, Msg::LoginResponse { .. })]
    ));
    for n in 3..6 {
        s = se::on_msg(&c, &s, Party::Applicant(P0), &auth(n, false)).state;
    }
    assert_eq!(s.pin_tries_left, 0);
    let blocked = se::on_msg(&c, &s, Party::Applicant(P0), &auth(9, true));
    assert_eq!(
        blocked.state, s,
        "a blocked PIN stays blocked, even for the right PIN"
    );
    assert!(blocked.out.is_empty());
    // Without the retry counter the right PIN still works after three wrong ones.
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NoRetryCounter),
        ..cfg
    };
    let fc = ctx(&flawed);
    let mut f = personalised(&flawed);
    for n in 0..3 {
        f = se::on_msg(&fc, &f, Party::Applicant(P0), &auth(n, false)).state;
    }
    let signed = se::on_msg(&fc, &f, Party::Applicant(P0), &auth(3, true));
    assert!(signed.state.ghost_signed_after_lockout);
}

#[test]
fn se_wipes_on_boot_when_its_certificate_was_revoked() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let s = personalised(&cfg);
    let boot = se::on_msg(&c, &s, Party::Applicant(P0), &Msg::Boot);
    assert_eq!(
        boot.out.0,
        vec![(Party::Ca, Msg::BootStatusQuery { serial: Serial(3) })]
    );
    let valid = se::on_msg(
        &c,
        &s,
        Party::Ca,
        &Msg::BootStatus {
            serial: Serial(3),
            status: CertStatus::Valid,
        },
    );
    assert_eq!(valid.state, s);
    let wiped = se::on_msg(
        &c,
        &s,
        Party::Ca,
        &Msg::BootStatus {
            serial: Serial(3),
            status: CertStatus::Revoked,
        },
    )
    .state;
    assert!(wiped.learned_revoked && wiped.key.is_none() && wiped.cert.is_none());
    assert_eq!(wiped.applet.map(|a| a.life), Some(Lifecycle::Deleted));
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NoWipeOnBoot),
        ..cfg
    };
    let kept = se::on_msg(
        &ctx(&flawed),
        &s,
        Party::Ca,
        &Msg::BootStatus {
            serial: Serial(3),
            status: CertStatus::Revoked,
        },
    )
    .state;
    assert!(kept.learned_revoked && kept.key.is_some());
}

// ---- relying party ------------------------------------------------------------------------

#[test]
fn relying_party_accepts_only_valid_status_and_good_signatures() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let cert = phone_cert(3, P0, SE0, 0);
    let login = LoginId { person: P0, n: 0 };
    let sig = Symbolic.sign(
        KeyName::Se {
            se: SE0,
            app: AppNo(0),
        },
        jpkisim_model::crypto::Digest::Login(login),
    );
    let forged = Symbolic.sign(
        KeyName::Se {
            se: SE1,
            app: AppNo(0),
        },
        jpkisim_model::crypto::Digest::Login(login),
    );
    let rp0 = RpState::default();
    assert_eq!(
        relying_party::on_msg(
            &c,
            &rp0,
            Party::Se(SE0),
            &Msg::LoginResponse {
                login,
                cert,
                sig: forged
            }
        )
        .state,
        rp0
    );
    let pending = relying_party::on_msg(
        &c,
        &rp0,
        Party::Se(SE0),
        &Msg::LoginResponse { login, cert, sig },
    );
    assert_eq!(
        pending.out.0,
        vec![(
            Party::Ca,
            Msg::StatusRequest {
                login,
                serial: Serial(3)
            }
        )]
    );
    let answer = |status| Msg::StatusResponse {
        login,
        evidence: StatusEvidence::Ocsp {
            serial: Serial(3),
            status,
            at: Epoch(4),
        },
    };
    let ok = relying_party::on_msg(&c, &pending.state, Party::Ca, &answer(CertStatus::Valid)).state;
    assert_eq!(ok.accepted.len(), 1);
    assert_eq!(ok.accepted[0].evidence_at, Epoch(4));
    for bad in [
        CertStatus::Suspended,
        CertStatus::Revoked,
        CertStatus::Expired,
    ] {
        let no = relying_party::on_msg(&c, &pending.state, Party::Ca, &answer(bad)).state;
        assert!(
            no.accepted.is_empty() && no.rejected == vec![login],
            "{bad:?}"
        );
    }
    let lax = Config {
        flaws: cfg.flaws.with(Flaw::SuspendIgnored),
        ..cfg
    };
    let s = relying_party::on_msg(
        &ctx(&lax),
        &pending.state,
        Party::Ca,
        &answer(CertStatus::Suspended),
    )
    .state;
    assert_eq!(s.accepted.len(), 1);
    let blind = Config {
        flaws: cfg.flaws.with(Flaw::RpSkipsStatusCheck),
        ..cfg
    };
    let s = relying_party::on_msg(
        &ctx(&blind),
        &pending.state,
        Party::Ca,
        &answer(CertStatus::Revoked),
    )
    .state;
    assert_eq!(s.accepted.len(), 1);
}

// ---- applicant ----------------------------------------------------------------------------

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

// ---- the Stateright adapter ---------------------------------------------------------------

#[test]
fn the_adapter_calls_the_same_transitions() {
    let cfg = Config::default();
    let actor = PartyActor {
        party: Party::Se(SE0),
        cfg,
    };
    let s0 = actor.initial_state();
    let step = actor.deliver(
        &s0,
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    );
    let direct = se::on_msg(
        &ctx(&cfg),
        &se::init(SE0),
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    );
    assert_eq!(step.state, PartyState::Se(direct.state));
    assert_eq!(step.out, direct.out);
}

#[test]
fn se_takes_no_pin_before_personalization() {
    // The applet has no PIN until STORE DATA provisions it and answers every command 69 85;
    // the reference's differential test found the model counting a wrong PIN here.
    let cfg = Config::default();
    let c = ctx(&cfg);
    let installed = se::on_msg(
        &c,
        &se::init(SE0),
        Party::SeTsm,
        &Msg::Install {
            person: P0,
            app: AppNo(0),
        },
    )
    .state;
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
