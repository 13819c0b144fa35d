//! Personalization over SCP03: the golden transcript, life-cycle changes, key generation inside
//! the SE, and what a wrong MAC or a replay does (rejected with `69 82`, nothing changed).

mod common;

use common::*;
use jpkisim_card::{
    apdu::{to_hex, Command, StatusWord},
    applet::{dgi, fid, sha256_digest_info, PinKind, JPKI_AID},
    gp::Management,
    isd::{encode_dgi, AppState, ISD_AID},
    scp03::{dek_encrypt, SecurityLevel},
    se::SecureElement,
    testcard::{self, install_command, isd_keys},
    timing::{ClockMode, Profile},
    tsm::{PersoError, Tsm},
};
use rsa::{
    pkcs1v15::{Signature, VerifyingKey},
    signature::Verifier,
    BigUint, RsaPublicKey,
};
use sha2::Sha256;

fn empty_se() -> SecureElement {
    SecureElement::new(
        isd_keys(),
        Profile::Instant,
        ClockMode::Simulated,
        testcard::SEED,
    )
}

fn get_status_apps() -> Command {
    Command::new(0x80, 0xF2, 0x40, 0x02, vec![0x4F, 0x00], Some(256))
}

/// The lifecycle byte GET STATUS reports for the JPKI instance, over a new secure channel.
fn lifecycle(se: &mut SecureElement) -> Option<u8> {
    let mut tsm = Tsm::new(se, isd_keys(), testcard::HOST_CHALLENGE);
    tsm.open_secure_channel(SecurityLevel::C_MAC)
        .expect("channel");
    let data = tsm.send_secure("GET STATUS", &get_status_apps()).ok()?.data;
    // E3 len 4F 0A <AID> 9F70 01 <LC> C5 01 <priv>
    let pos = data.windows(3).position(|w| w == [0x9F, 0x70, 0x01])?;
    assert_eq!(&data[4..14], &JPKI_AID);
    Some(data[pos + 3])
}

#[test]
fn golden_personalization_transcript() {
    let mut se = empty_se();
    let transcript = testcard::personalize(&mut se).expect("personalization");
    let mut text = String::new();
    for (cmd, resp) in &transcript {
        text.push_str(&format!("> {}\n< {}\n", to_hex(cmd), to_hex(resp)));
    }
    assert_golden("personalization.txt", &text);
    // Independent of the golden file: every step answered 90 00 and the applet is personalized.
    assert!(transcript.iter().all(|(_, r)| r.ends_with(&[0x90, 0x00])));
    assert_eq!(
        se.instance(&JPKI_AID).map(|i| i.state),
        Some(AppState::Personalized)
    );
    assert_eq!(lifecycle(&mut se), Some(0x0F));
    // The first wrapped command really is C-MAC'd and C-DEC'd: CLA 84, data not in the clear.
    let install = &transcript[3].0;
    assert_eq!(install[..4], [0x84, 0xE6, 0x0C, 0x00]);
    assert!(!install.windows(JPKI_AID.len()).any(|w| w == JPKI_AID));
}

#[test]
fn management_needs_an_authenticated_channel() {
    let mut se = empty_se();
    let install = install_command().command().to_bytes().expect("apdu");
    assert_eq!(sw(&mut se, &install), StatusWord::SECURITY_STATUS);
    assert!(se.instance(&JPKI_AID).is_none());
    // INITIALIZE UPDATE with an unknown key version.
    assert_eq!(
        sw(&mut se, &hex("8050 3100 08 1122334455667788 00")),
        StatusWord::REF_DATA_NOT_FOUND
    );
    // Wrong static keys: the card's cryptogram does not verify at the host, and a host that
    // pushes on anyway fails EXTERNAL AUTHENTICATE.
    let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
    tsm.send(
        "SELECT ISD",
        &Command::new(0, 0xA4, 4, 0, ISD_AID.to_vec(), None),
    )
    .expect("select");
    let mut wrong = isd_keys();
    wrong.mac = jpkisim_card::scp03::AesKey::new([0; 16]);
    let mut host = jpkisim_card::scp03::HostSession::new(wrong, testcard::HOST_CHALLENGE);
    let resp = tsm
        .send("INITIALIZE UPDATE", &host.initialize_update())
        .expect("init update");
    assert!(host
        .external_authenticate(&resp.data, SecurityLevel::C_MAC)
        .is_err());
}

/// Opens a channel, installs and targets the applet for personalization; returns the TSM.
fn ready_for_store_data(se: &mut SecureElement) -> Tsm<'_> {
    let mut tsm = Tsm::new(se, isd_keys(), testcard::HOST_CHALLENGE);
    tsm.open_secure_channel(SecurityLevel::C_DEC_C_MAC)
        .expect("channel");
    tsm.send_secure("INSTALL", &install_command().command())
        .expect("install");
    tsm.send_secure(
        "INSTALL perso",
        &Management::InstallForPersonalization {
            instance: &JPKI_AID,
        }
        .command(),
    )
    .expect("install for perso");
    tsm
}

#[test]
fn wrong_mac_is_rejected_and_changes_nothing() {
    let mut se = empty_se();
    let mut tsm = ready_for_store_data(&mut se);
    let token =
        encode_dgi(dgi::FILE_BASE | fid::TOKEN_INFO, &testcard::token_info()).expect("fits");
    let mut wrapped = tsm
        .wrap(&Command::new(0x80, 0xE2, 0x88, 0x00, token.clone(), None))
        .expect("wrap")
        .to_bytes()
        .expect("apdu");
    let last = wrapped.len() - 1;
    wrapped[last] ^= 0x01; // flip one bit of the C-MAC
    let r = tsm.send(
        "tampered STORE DATA",
        &Command::parse(&wrapped).expect("apdu"),
    );
    assert_eq!(
        r.err(),
        Some(PersoError::Refused {
            step: "tampered STORE DATA",
            sw: StatusWord::SECURITY_STATUS
        })
    );
    // The session is closed: even a correctly wrapped next command is refused.
    let r = tsm.send_secure("after failure", &get_status_apps());
    assert!(
        matches!(
            r,
            Err(PersoError::Refused {
                sw: StatusWord::SECURITY_STATUS,
                ..
            })
        ),
        "{r:?}"
    );
    drop(tsm);
    // Nothing changed: still selectable, not personalized, no token info stored.
    assert_eq!(
        se.instance(&JPKI_AID)
            .map(|i| (i.state, i.applet.is_complete())),
        Some((AppState::Selectable, false))
    );
    assert_eq!(lifecycle(&mut se), Some(0x07));
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    assert_eq!(
        sw(&mut se, &select_ef(fid::TOKEN_INFO)),
        StatusWord::CONDITIONS,
        "not personalized"
    );
}

#[test]
fn replayed_pin_reset_is_rejected_and_the_users_pin_stays() {
    // A TSM session resets the auth PIN to 1234; an attacker records that STORE DATA.
    let mut se = testcard::personalized_se(Profile::Instant, ClockMode::Simulated).expect("card");
    let dek = isd_keys().dek;
    let pin_dgi = encode_dgi(dgi::AUTH_PIN, &dek_encrypt(&dek, b"1234")).expect("fits");
    let recorded = {
        let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
        tsm.open_secure_channel(SecurityLevel::C_MAC)
            .expect("channel");
        tsm.send_secure(
            "INSTALL perso",
            &Management::InstallForPersonalization {
                instance: &JPKI_AID,
            }
            .command(),
        )
        .expect("perso");
        let wrapped = tsm
            .wrap(&Command::new(0x80, 0xE2, 0xE8, 0x00, pin_dgi, None))
            .expect("wrap");
        tsm.send("STORE DATA", &wrapped).expect("store");
        wrapped.to_bytes().expect("apdu")
    };
    // The user changes the PIN to 5678.
    for apdu in [
        select_ap(),
        select_ef(fid::AUTH_PIN),
        verify(b"1234"),
        hex("0024 0180 04 35363738"),
    ] {
        assert_eq!(sw(&mut se, &apdu), StatusWord::OK);
    }
    // The attacker replays the recorded block in the same session it came from (after INSTALL
    // for personalization, as recorded) and in a fresh one: both rejected.
    let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
    tsm.open_secure_channel(SecurityLevel::C_MAC)
        .expect("channel");
    tsm.send_secure(
        "INSTALL perso",
        &Management::InstallForPersonalization {
            instance: &JPKI_AID,
        }
        .command(),
    )
    .expect("perso");
    let r = tsm.send(
        "replayed STORE DATA",
        &Command::parse(&recorded).expect("apdu"),
    );
    assert!(
        matches!(
            r,
            Err(PersoError::Refused {
                sw: StatusWord::SECURITY_STATUS,
                ..
            })
        ),
        "{r:?}"
    );
    drop(tsm);
    assert!(
        !se.isd().is_authenticated(),
        "a MAC failure closes the channel"
    );
    // The user's PIN is unchanged.
    for (apdu, want) in [
        (select_ap(), StatusWord::OK),
        (select_ef(fid::AUTH_PIN), StatusWord::OK),
        (verify(b"1234"), StatusWord(0x63C2)),
        (verify(b"5678"), StatusWord::OK),
    ] {
        assert_eq!(sw(&mut se, &apdu), want);
    }
}

#[test]
fn lock_unlock_delete_and_reinstall() {
    let mut se = testcard::personalized_se(Profile::Instant, ClockMode::Simulated).expect("card");
    // Spend one try so we can see counters survive the lock.
    for (apdu, want) in [
        (select_ap(), 0x9000),
        (select_ef(fid::AUTH_PIN), 0x9000),
        (verify(b"0000"), 0x63C2),
    ] {
        assert_eq!(sw(&mut se, &apdu), StatusWord(want));
    }
    let set_status = |p2: u8| Command::new(0x80, 0xF0, 0x40, p2, JPKI_AID.to_vec(), None);
    {
        let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
        tsm.open_secure_channel(SecurityLevel::C_MAC)
            .expect("channel");
        tsm.send_secure("lock", &set_status(0x80)).expect("lock");
    }
    assert_eq!(lifecycle(&mut se), Some(0x8F));
    assert_eq!(
        sw(&mut se, &select_ap()),
        StatusWord::NOT_FOUND,
        "locked: not selectable"
    );
    {
        let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
        tsm.open_secure_channel(SecurityLevel::C_MAC)
            .expect("channel");
        tsm.send_secure("unlock", &set_status(0x00))
            .expect("unlock");
    }
    assert_eq!(lifecycle(&mut se), Some(0x0F));
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_PIN)), StatusWord::OK);
    assert_eq!(
        sw(&mut se, &QUERY),
        StatusWord(0x63C2),
        "counter persisted through lock/unlock"
    );

    let delete = Command::new(
        0x80,
        0xE4,
        0x00,
        0x00,
        [&[0x4F, 0x0A][..], &JPKI_AID].concat(),
        Some(256),
    );
    {
        let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
        tsm.open_secure_channel(SecurityLevel::C_MAC)
            .expect("channel");
        assert_eq!(
            tsm.send_secure("delete", &delete).expect("delete").data,
            [0x00]
        );
        let r = tsm.send_secure("delete again", &delete);
        assert!(
            matches!(
                r,
                Err(PersoError::Refused {
                    sw: StatusWord::REF_DATA_NOT_FOUND,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    assert!(se.instance(&JPKI_AID).is_none());
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::NOT_FOUND);
    assert_eq!(lifecycle(&mut se), None, "GET STATUS lists no application");

    // INSTALL [for install] only: 03, not selectable; then make selectable: 07.
    let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
    tsm.open_secure_channel(SecurityLevel::C_MAC)
        .expect("channel");
    tsm.send_secure(
        "install",
        &Command {
            p1: 0x04,
            ..install_command().command()
        },
    )
    .expect("install");
    let status = tsm
        .send_secure("status", &get_status_apps())
        .expect("status")
        .data;
    assert_eq!(status[14..18], [0x9F, 0x70, 0x01, 0x03]);
    let mut sel = vec![0x00, 0x00, 0x0A];
    sel.extend_from_slice(&JPKI_AID);
    sel.extend_from_slice(&[0x00, 0x00, 0x00]);
    tsm.send_secure(
        "make selectable",
        &Command::new(0x80, 0xE6, 0x08, 0x00, sel, Some(256)),
    )
    .expect("selectable");
    drop(tsm);
    assert_eq!(lifecycle(&mut se), Some(0x07));
    // A fresh instance: nothing of the deleted one is left.
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    assert_eq!(
        sw(&mut se, &select_ef(fid::AUTH_PIN)),
        StatusWord::CONDITIONS
    );
    assert_eq!(
        se.instance(&JPKI_AID)
            .and_then(|i| i.applet.tries_left(PinKind::Auth)),
        None
    );
}

#[test]
fn key_generated_inside_the_se_signs_and_its_modulus_is_returned() {
    let mut se = testcard::personalized_se(Profile::Instant, ClockMode::Simulated).expect("card");
    let modulus = {
        let mut tsm = Tsm::new(&mut se, isd_keys(), testcard::HOST_CHALLENGE);
        tsm.open_secure_channel(SecurityLevel::C_DEC_C_MAC)
            .expect("channel");
        tsm.send_secure(
            "INSTALL perso",
            &Management::InstallForPersonalization {
                instance: &JPKI_AID,
            }
            .command(),
        )
        .expect("perso");
        let gen = encode_dgi(dgi::GEN_SIGN_KEY, &[]).expect("fits");
        tsm.send_secure(
            "generate",
            &Command::new(0x80, 0xE2, 0x88, 0x00, gen, Some(256)),
        )
        .expect("keygen")
        .data
    };
    assert_eq!(modulus.len(), 256);
    let public = RsaPublicKey::new(BigUint::from_bytes_be(&modulus), BigUint::from(65_537u32))
        .expect("public key");
    assert_eq!(
        se.instance(&JPKI_AID)
            .and_then(|i| i.applet.public_key(PinKind::Sign)),
        Some(public.clone())
    );
    for apdu in [
        select_ap(),
        select_ef(fid::SIGN_PIN),
        verify(b"JPKISIM1"),
        select_ef(fid::SIGN_KEY),
    ] {
        assert_eq!(sw(&mut se, &apdu), StatusWord::OK);
    }
    let resp = se
        .transmit(&sign(&sha256_digest_info(
            b"signed with a key born in the SE",
        )))
        .response;
    assert_eq!(resp.sw, StatusWord::OK);
    let sig = Signature::try_from(resp.data.as_slice()).expect("sig");
    VerifyingKey::<Sha256>::new(public)
        .verify(b"signed with a key born in the SE", &sig)
        .expect("verifies");
}

#[test]
fn store_data_rules() {
    let mut se = empty_se();
    let mut tsm = ready_for_store_data(&mut se);
    // A secret DGI sent in the clear is refused.
    let clear_pin = encode_dgi(dgi::AUTH_PIN, b"1234").expect("fits");
    let r = tsm.send_secure(
        "clear secret",
        &Command::new(0x80, 0xE2, 0x08, 0x00, clear_pin, None),
    );
    assert!(
        matches!(
            r,
            Err(PersoError::Refused {
                sw: StatusWord::WRONG_DATA,
                ..
            })
        ),
        "{r:?}"
    );
    // Out-of-order block number.
    let token =
        encode_dgi(dgi::FILE_BASE | fid::TOKEN_INFO, &testcard::token_info()).expect("fits");
    let r = tsm.send_secure(
        "block 5",
        &Command::new(0x80, 0xE2, 0x08, 0x05, token.clone(), None),
    );
    assert!(
        matches!(
            r,
            Err(PersoError::Refused {
                sw: StatusWord::WRONG_P1P2,
                ..
            })
        ),
        "{r:?}"
    );
    // Last block while the applet is incomplete: stays selectable.
    tsm.send_secure(
        "block 0",
        &Command::new(0x80, 0xE2, 0x08, 0x00, token.clone(), None),
    )
    .expect("block 0");
    let r = tsm.send_secure("last", &Command::new(0x80, 0xE2, 0x88, 0x01, token, None));
    assert!(
        matches!(
            r,
            Err(PersoError::Refused {
                sw: StatusWord::CONDITIONS,
                ..
            })
        ),
        "{r:?}"
    );
    drop(tsm);
    assert_eq!(
        se.instance(&JPKI_AID).map(|i| i.state),
        Some(AppState::Selectable)
    );
}

/// No PIN, password or key material in the `Debug` output of a whole card, mid-session or after.
#[test]
fn debug_output_of_the_whole_card_carries_no_secrets() {
    let mut se = testcard::personalized_se(Profile::Instant, ClockMode::Simulated).expect("card");
    for apdu in [select_ap(), select_ef(fid::AUTH_PIN), verify(b"1234")] {
        assert_eq!(sw(&mut se, &apdu), StatusWord::OK);
    }
    let shown = format!("{se:?}");
    let pin_bytes = format!("{:?}", b"1234".to_vec()); // "[49, 50, 51, 52]"
    let password_bytes = format!("{:?}", b"JPKISIM1".to_vec());
    let isd_key = format!("{:?}", (0x40u8..0x50).collect::<Vec<u8>>());
    for secret in [
        &pin_bytes[1..pin_bytes.len() - 1],
        &password_bytes[1..password_bytes.len() - 1],
        &isd_key[1..20],
        "JPKISIM1",
    ] {
        assert!(!shown.contains(secret), "Debug shows {secret}: {shown}");
    }
    assert!(
        shown.contains("redacted") && shown.contains("<present>"),
        "{shown}"
    );
}
