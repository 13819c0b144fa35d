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
            ses: vec![SE0],
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
            ses: vec![SE0],
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
            ses: vec![SE0],
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
        Party::Se(SE0),
        &revocation(SE0, 3, se_key(SE0, 0).0),
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
                    nonce: Some(n),
                    ..
                },
                ..
            }
        )] if *n == login
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

/// A revocation request for phone certificate `serial` on `se`, signed with `signer`.
fn revocation(se: SeId, serial: u8, signer: KeyName) -> Msg {
    Msg::RevokeFromPhone {
        cert: phone_cert(serial, P0, se, 0),
        sig: Symbolic.sign(
            signer,
            Digest::Revocation {
                serial: Serial(serial),
            },
        ),
    }
}

#[test]
fn ca_revokes_from_a_phone_only_what_its_own_key_signed() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let (issued, _) = issue(&cfg, &ca::init(&c), P0, SE0, 0, None);
    let status = |ca: &CaState| ca.record(Serial(3)).map(|r| r.status());
    // Signed by another key (the intruder's, or another SE's): nothing happens.
    for wrong in [KeyName::Intruder, se_key(SE1, 0).0] {
        let s = ca::on_msg(&c, &issued, Party::Se(SE0), &revocation(SE0, 3, wrong)).state;
        assert_eq!(s, issued, "{wrong:?}");
    }
    // A request naming a certificate the CA did not issue so (another subject) does nothing.
    let mut other = revocation(SE0, 3, se_key(SE0, 0).0);
    if let Msg::RevokeFromPhone { cert, .. } = &mut other {
        cert.subject = Subject::Phone {
            person: P0,
            se: SE1,
            app: AppNo(0),
        };
    }
    assert_eq!(
        ca::on_msg(&c, &issued, Party::Se(SE0), &other).state,
        issued
    );
    // Signed inside the SE with the certificate's key: revoked, and the audit log names the key.
    let ok = ca::on_msg(
        &c,
        &issued,
        Party::Se(SE0),
        &revocation(SE0, 3, se_key(SE0, 0).0),
    )
    .state;
    assert_eq!(status(&ok), Some(CertStatus::Revoked));
    assert_eq!(ok.phone_revocations, vec![(Serial(3), se_key(SE0, 0).0)]);
    // The claimed sender is not what counts: the link is open.
    assert_eq!(
        ca::on_msg(
            &c,
            &issued,
            Party::Se(SE1),
            &revocation(SE0, 3, se_key(SE0, 0).0)
        )
        .state,
        ok
    );
    // A late request for an old certificate cannot revoke the newer one on the same SE.
    let (newer, _) = issue(&cfg, &ok, P0, SE0, 1, Some(Serial(3)));
    let again = ca::on_msg(
        &c,
        &newer,
        Party::Se(SE0),
        &revocation(SE0, 3, se_key(SE0, 0).0),
    )
    .state;
    assert_eq!(again, newer);
    // The flawed CA takes the intruder's word for it.
    let careless = Config {
        flaws: cfg.flaws.with(Flaw::UncheckedPhoneRevocation),
        ..cfg
    };
    let s = ca::on_msg(
        &ctx(&careless),
        &issued,
        Party::Se(SE0),
        &revocation(SE0, 3, KeyName::Intruder),
    )
    .state;
    assert_eq!(status(&s), Some(CertStatus::Revoked));
    assert_eq!(s.phone_revocations, vec![(Serial(3), KeyName::Intruder)]);
}

#[test]
fn ca_certifies_nothing_for_an_se_reported_lost_until_the_case_closes() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let report = Msg::ReportLoss {
        person: P0,
        case: 1,
        ses: vec![SE0],
    };
    let lost = ca::on_msg(&c, &ca::init(&c), Party::Applicant(P0), &report).state;
    assert_eq!(lost.loss_cases.len(), 1);
    assert!(lost.loss_cases[0].open_at(lost.epoch));
    // An issuance in flight for the stolen SE is refused; another SE of the person is served.
    let (refused, out) = issue(&cfg, &lost, P0, SE0, 0, None);
    assert_eq!(refused.certs, lost.certs);
    assert_eq!(refused.refused, vec![(P0, AppNo(0))]);
    assert!(matches!(
        out[..],
        [(Party::SpTsm, Msg::IssueRefused { .. })]
    ));
    let (other, out) = issue(&cfg, &lost, P0, SE1, 0, None);
    assert!(matches!(out[..], [(Party::SpTsm, Msg::CertIssued { .. })]));
    assert_eq!(
        other.certs.last().map(|r| r.status()),
        Some(CertStatus::Valid)
    );
    // Found again and unsuspended: the case closes and the SE can be served.
    let closed = ca::on_msg(
        &c,
        &lost,
        Party::Applicant(P0),
        &Msg::Unsuspend {
            person: P0,
            case: 1,
        },
    )
    .state;
    assert!(closed.loss_cases[0].closed_at.is_some());
    let (_, out) = issue(&cfg, &closed, P0, SE0, 0, None);
    assert!(matches!(out[..], [(Party::SpTsm, Msg::CertIssued { .. })]));
    // A refusal is final: a duplicate of the refused request, delivered after the case closed,
    // is refused again (else it would be issued next to the newer application's certificate).
    let closed_after_refusal = ca::on_msg(
        &c,
        &refused,
        Party::Applicant(P0),
        &Msg::Unsuspend {
            person: P0,
            case: 1,
        },
    )
    .state;
    let (again, out) = issue(&cfg, &closed_after_refusal, P0, SE0, 0, None);
    assert_eq!(again.certs, closed_after_refusal.certs);
    assert!(matches!(
        out[..],
        [(Party::SpTsm, Msg::IssueRefused { .. })]
    ));
    let (_, out) = issue(&cfg, &closed_after_refusal, P0, SE0, 1, None);
    assert!(matches!(out[..], [(Party::SpTsm, Msg::CertIssued { .. })]));
    // The flawed CA certifies the stolen SE as if nothing had been reported.
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::ReportSuspendsOnlyCurrent),
        ..cfg
    };
    let (_, out) = issue(&flawed, &lost, P0, SE0, 0, None);
    assert!(matches!(out[..], [(Party::SpTsm, Msg::CertIssued { .. })]));
}

#[test]
fn ca_answers_a_booting_phone_with_a_signed_answer_to_the_phone_that_asked() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let (issued, _) = issue(&cfg, &ca::init(&c), P0, SE0, 0, None);
    let step = ca::on_msg(
        &c,
        &issued,
        Party::Se(SE1),
        &Msg::BootStatusQuery { serial: Serial(3) },
    );
    assert!(matches!(
        &step.out.0[..],
        [(
            Party::Se(SE1),
            Msg::BootStatus {
                evidence: StatusEvidence::Ocsp {
                    status: CertStatus::Valid,
                    nonce: None,
                    ..
                }
            }
        )]
    ));
    // Only a phone asks (the relying party uses StatusRequest).
    assert!(ca::on_msg(
        &c,
        &issued,
        Party::RelyingParty,
        &Msg::BootStatusQuery { serial: Serial(3) }
    )
    .out
    .is_empty());
}
