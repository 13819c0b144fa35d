//! The command forms real JPKI clients send besides the OpenSC ones: every signature scheme P1
//! selects (each signature checked with the certificate's public key), keys and PINs named by
//! their short EF identifier in P2 without a SELECT, and GET RESPONSE after a signature requested
//! without Le.

mod common;

use common::*;
use jpkisim_card::{
    apdu::StatusWord,
    applet::{fid, sha256_digest_info, PinKind, SignatureScheme, JPKI_AID},
    se::SecureElement,
};
use rsa::{sha2::Digest, sha2::Sha256, Pkcs1v15Sign, Pss, RsaPublicKey};

fn public(se: &SecureElement, kind: PinKind) -> RsaPublicKey {
    se.instance(&JPKI_AID)
        .and_then(|i| i.applet.public_key(kind))
        .expect("personalized key")
}

fn cmd(cla: u8, ins: u8, p1: u8, p2: u8, data: &[u8], le: Option<u8>) -> Vec<u8> {
    let mut v = vec![cla, ins, p1, p2];
    if !data.is_empty() {
        v.push(u8::try_from(data.len()).expect("short"));
        v.extend_from_slice(data);
    }
    v.extend(le);
    v
}

#[test]
fn every_signature_scheme_verifies_with_the_certified_key() {
    let mut se = card();
    let message = b"jpkisim: every P1 scheme";
    let hash = Sha256::digest(message).to_vec();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    // The signing password by short EF identifier (P2 = 80 | 1B), then each scheme with the
    // signing key by short EF identifier (P2 = 80 | 1A): no SELECT EF at all.
    assert_eq!(
        sw(&mut se, &cmd(0, 0x20, 0, 0x9B, b"JPKISIM1", None)),
        StatusWord::OK
    );
    let key = public(&se, PinKind::Sign);
    for p1 in 0..=5u8 {
        let scheme = SignatureScheme::from_p1(p1).expect("scheme");
        assert_eq!(scheme.p1(), p1);
        let data = match scheme {
            SignatureScheme::Verbatim => sha256_digest_info(message),
            SignatureScheme::PreHashedDigestInfo | SignatureScheme::PreHashedPss => hash.clone(),
            _ => message.to_vec(),
        };
        let r = se
            .transmit(&cmd(0x80, 0x2A, p1, 0x9A, &data, Some(0)))
            .response;
        assert_eq!((r.sw, r.data.len()), (StatusWord::OK, 256), "P1 {p1:02X}");
        let checked = match scheme {
            SignatureScheme::Sha256Bare => {
                key.verify(Pkcs1v15Sign::new_unprefixed(), &hash, &r.data)
            }
            SignatureScheme::PreHashedPss | SignatureScheme::Sha256Pss => {
                key.verify(Pss::new::<Sha256>(), &hash, &r.data)
            }
            _ => key.verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &r.data),
        };
        assert!(checked.is_ok(), "P1 {p1:02X}: {checked:?}");
    }
    assert_eq!(SignatureScheme::from_p1(6), None);
}

#[test]
fn pins_and_keys_by_short_ef_identifier() {
    let mut se = card();
    assert_eq!(sw(&mut se, &select_ap()), StatusWord::OK);
    let di = sha256_digest_info(b"sfi");
    assert_eq!(
        sws(
            &mut se,
            &[
                cmd(0, 0x20, 0, 0x98, b"", None),       // query the auth PIN: 3 left
                cmd(0x80, 0x2A, 0, 0x97, &di, Some(0)), // not verified yet
                cmd(0, 0x20, 0, 0x98, b"0000", None),   // wrong: 2 left
                cmd(0, 0x20, 0, 0x98, b"1234", None),   // right
                cmd(0x80, 0x2A, 0, 0x97, &di, Some(0)), // the auth key by SFI
                cmd(0x80, 0x2A, 0, 0x9A, &di, Some(0)), // the signing key needs its password
                cmd(0, 0x20, 0, 0x8A, b"1234", None),   // EF 000A is no PIN
                cmd(0, 0x20, 0, 0x00, b"1234", None),   // P2 00
                cmd(0, 0x24, 1, 0x98, b"4321", None),   // change the auth PIN by SFI
                cmd(0, 0x20, 0, 0x98, b"4321", None),
            ]
        ),
        [0x63C3, 0x6982, 0x63C2, 0x9000, 0x9000, 0x6982, 0x6A88, 0x6A86, 0x9000, 0x9000]
    );
    // Naming a PIN or key in P2 selects nothing.
    let session = se
        .instance(&JPKI_AID)
        .map(|i| i.applet.session())
        .expect("instance");
    assert_eq!(session.current_ef, None);
    assert_eq!(sw(&mut se, &QUERY), StatusWord::NO_CURRENT_EF);
    // The forms mix: select the key EF, name the PIN by SFI.
    assert_eq!(
        sws(
            &mut se,
            &[
                select_ef(fid::SIGN_KEY),
                cmd(0, 0x20, 0, 0x9B, b"JPKISIM1", None),
                sign(&di),
            ]
        ),
        [0x9000, 0x9000, 0x9000]
    );
}

#[test]
fn get_response_after_a_signature_without_le() {
    let mut se = card();
    let login = auth_login();
    assert_eq!(sws(&mut se, &login), [0x9000; 4]);
    let di = sha256_digest_info(b"t=0 style");
    let mut no_le = sign(&di);
    no_le.pop();
    let whole = se.transmit(&sign(&di)).response.data;

    // Whole: 61 00 (256 bytes waiting), then GET RESPONSE with Le 00.
    assert_eq!(sw(&mut se, &no_le), StatusWord(0x6100));
    let r = se.transmit(&hex("00C0000000")).response;
    assert_eq!((r.sw, r.data.len()), (StatusWord::OK, 256));
    assert!(public(&se, PinKind::Auth)
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(b"t=0 style"),
            &r.data
        )
        .is_ok());
    assert_eq!(r.data, whole, "PKCS#1 v1.5 is deterministic");
    assert_eq!(
        sw(&mut se, &hex("00C0000000")),
        StatusWord::CONDITIONS,
        "nothing left"
    );

    // In pieces: 128 bytes and 61 80, then the rest.
    assert_eq!(sw(&mut se, &no_le), StatusWord(0x6100));
    let first = se.transmit(&hex("00C0000080")).response;
    assert_eq!((first.sw, first.data.len()), (StatusWord(0x6180), 128));
    let rest = se.transmit(&hex("00C0000000")).response;
    assert_eq!((rest.sw, rest.data.len()), (StatusWord::OK, 128));
    assert_eq!([first.data, rest.data].concat(), whole);

    // Any other command in between discards the waiting response; bad forms are refused.
    assert_eq!(sw(&mut se, &no_le), StatusWord(0x6100));
    assert_eq!(sw(&mut se, &select_ef(fid::AUTH_KEY)), StatusWord::OK);
    assert_eq!(
        sws(
            &mut se,
            &[
                hex("00C0000000"),
                no_le.clone(),
                hex("00C0010000"),
                no_le,
                hex("00C00000"),
            ]
        ),
        [0x6985, 0x6100, 0x6A86, 0x6100, 0x6700]
    );
}
