//! The SE's transition: installation from the ISD key holder, personalisation, sealed keys, the PIN counter, the boot-time wipe.

mod common;
use common::*;

#[test]
fn se_installs_only_from_the_isd_key_holder_and_ignores_replays() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let fresh = se::init(SE0);
    for from in [Party::Mvno, Party::SpTsm, Party::Applicant(P0)] {
        assert_eq!(se::on_msg(&c, &fresh, from, &install(P0, 0)).state, fresh);
    }
    let done = personalised(&cfg);
    let replay = se::on_msg(&c, &done, Party::SeTsm, &install(P0, 0));
    assert_eq!(replay.state, done);
    assert!(replay.out.is_empty());
    // A newer installation replaces the applet and wipes the old key.
    let newer = se::on_msg(&c, &done, Party::SeTsm, &install(P0, 1)).state;
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
    let installed = se::on_msg(&c, &se::init(SE0), Party::SeTsm, &install(P0, 0)).state;
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
    let installed = se::on_msg(&c, &se::init(SE0), Party::SeTsm, &install(P0, 0)).state;
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
    let valid = se::on_msg(&c, &s, Party::Ca, &boot_status(3, CertStatus::Valid));
    assert_eq!(valid.state, s);
    // An answer about another certificate says nothing about this one.
    let other = se::on_msg(&c, &s, Party::Ca, &boot_status(4, CertStatus::Revoked));
    assert_eq!(other.state, s);
    let wiped = se::on_msg(&c, &s, Party::Ca, &boot_status(3, CertStatus::Revoked)).state;
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
        &boot_status(3, CertStatus::Revoked),
    )
    .state;
    assert!(kept.learned_revoked && kept.key.is_some());
}

/// The CA's signed answer to a booting phone about certificate `serial`.
fn boot_status(serial: u8, status: CertStatus) -> Msg {
    Msg::BootStatus {
        evidence: StatusEvidence::Ocsp {
            serial: Serial(serial),
            status,
            at: Epoch(2),
            nonce: None,
        },
    }
}

#[test]
fn se_signs_a_revocation_of_its_own_certificate_with_its_key_after_the_pin() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    assert!(
        se::on_msg(
            &c,
            &se::init(SE0),
            Party::Applicant(P0),
            &Msg::SignRevocation
        )
        .out
        .is_empty(),
        "nothing to revoke before personalisation"
    );
    let s = personalised(&cfg);
    let step = se::on_msg(&c, &s, Party::Applicant(P0), &Msg::SignRevocation);
    let sig = Symbolic.sign(se_key(SE0, 0).0, Digest::Revocation { serial: Serial(3) });
    assert_eq!(
        step.out.0,
        vec![(
            Party::Ca,
            Msg::RevokeFromPhone {
                cert: phone_cert(3, P0, SE0, 0),
                sig
            }
        )]
    );
    assert_eq!(
        effect(&step),
        Some(&SeEffect::CheckPin {
            entered: PinEntry::Correct,
            outcome: PinOutcome::Accepted,
            signature: Some(sig),
        })
    );
    // Only the phone's owner (its UI app) asks the SE to sign.
    assert!(
        se::on_msg(&c, &s, Party::Applicant(P1), &Msg::SignRevocation)
            .out
            .is_empty()
    );
}

#[test]
fn the_escrowing_applet_sends_its_private_key_and_a_correct_one_never_does() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let installed = se::on_msg(&c, &se::init(SE0), Party::SeTsm, &install(P0, 0));
    assert!(matches!(
        installed.out.0[..],
        [(Party::SpTsm, Msg::AppletInstalled { escrow: None, .. })]
    ));
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::SeKeyEscrow),
        ..cfg
    };
    let escrowed = se::on_msg(&ctx(&flawed), &se::init(SE0), Party::SeTsm, &install(P0, 0));
    assert!(matches!(
        escrowed.out.0[..],
        [(Party::SpTsm, Msg::AppletInstalled { escrow: Some(KeyDelivery::Plain(k)), .. })] if PublicKey(k) == se_key(SE0, 0)
    ));
}

/// The effect each SE step hands the card: what the reference's device carries out.
fn effect(step: &jpkisim_model::transition::Step<se::SeState, SeEffect>) -> Option<&SeEffect> {
    step.effect.as_ref()
}

#[test]
fn se_steps_name_the_card_work_install_personalise_lock_wipe() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let install = |s: &se::SeState, app: u8| se::on_msg(&c, s, Party::SeTsm, &install(P0, app));
    let first = install(&se::init(SE0), 0);
    assert_eq!(
        effect(&first),
        Some(&SeEffect::Install {
            app: AppNo(0),
            pin_tries: AUTH_PIN_TRIES,
            replaces: false,
            generated: Some(KeyName::Se {
                se: SE0,
                app: AppNo(0)
            }),
            escrow: None,
        })
    );
    assert_eq!(
        effect(&install(&first.state, 0)),
        None,
        "a replay asks nothing"
    );
    let s = personalised(&cfg);
    assert!(
        matches!(
            effect(&install(&s, 1)),
            Some(SeEffect::Install { replaces: true, .. })
        ),
        "a live instance is deleted first"
    );
    let store = se::on_msg(
        &c,
        &first.state,
        Party::SpTsm,
        &Msg::StoreData {
            app: AppNo(0),
            cert: phone_cert(3, P0, SE0, 0),
            key: None,
        },
    );
    assert_eq!(
        effect(&store),
        Some(&SeEffect::Personalise {
            cert: phone_cert(3, P0, SE0, 0),
            delivery: None
        })
    );
    let lock = se::on_msg(&c, &s, Party::SeTsm, &Msg::LockApplet);
    assert_eq!(effect(&lock), Some(&SeEffect::Lock));
    assert_eq!(
        effect(&se::on_msg(&c, &lock.state, Party::SeTsm, &Msg::LockApplet)),
        None,
        "locking a locked applet asks nothing"
    );
    let revoked = boot_status(3, CertStatus::Revoked);
    assert_eq!(
        effect(&se::on_msg(&c, &s, Party::Ca, &revoked)),
        Some(&SeEffect::Wipe)
    );
    let flawed = Config {
        flaws: cfg.flaws.with(Flaw::NoWipeOnBoot),
        ..cfg
    };
    assert_eq!(
        effect(&se::on_msg(&ctx(&flawed), &s, Party::Ca, &revoked)),
        None
    );
}

#[test]
fn se_pin_checks_name_the_entry_the_outcome_and_the_signature() {
    let cfg = Config::default();
    let c = ctx(&cfg);
    let login = |s: &se::SeState, pin_correct: bool| {
        se::on_msg(
            &c,
            s,
            Party::Applicant(P0),
            &Msg::Authenticate {
                login: LoginId { person: P0, n: 0 },
                pin_correct,
            },
        )
    };
    assert_eq!(effect(&login(&se::init(SE0), true)), None, "no token yet");
    let mut s = personalised(&cfg);
    for left in (0..AUTH_PIN_TRIES).rev() {
        let wrong = login(&s, false);
        assert_eq!(
            effect(&wrong),
            Some(&SeEffect::CheckPin {
                entered: PinEntry::Wrong,
                outcome: PinOutcome::Wrong { tries_left: left },
                signature: None,
            })
        );
        s = wrong.state;
    }
    assert_eq!(
        effect(&login(&s, true)),
        Some(&SeEffect::CheckPin {
            entered: PinEntry::Correct,
            outcome: PinOutcome::Blocked,
            signature: None,
        })
    );
    let ok = login(&personalised(&cfg), true);
    let Some(SeEffect::CheckPin {
        entered: PinEntry::Correct,
        outcome: PinOutcome::Accepted,
        signature: Some(sig),
    }) = effect(&ok)
    else {
        panic!("an accepted PIN signs: {:?}", ok.effect);
    };
    assert!(
        matches!(ok.out.0[..], [(Party::RelyingParty, Msg::LoginResponse { sig: sent, .. })] if sent == *sig),
        "the signature the card makes is the one sent"
    );
}
