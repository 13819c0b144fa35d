//! The CA's transition: issuance, supersession, the card cascade, suspension, status answers.

mod common;
use common::*;

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
            key: se_key(SE0, 0),
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
