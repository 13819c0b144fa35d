//! The relying party's transition: accepting a login only on valid status and a good signature.

mod common;
use common::*;

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
        Digest::Login(login),
    );
    let forged = Symbolic.sign(
        KeyName::Se {
            se: SE1,
            app: AppNo(0),
        },
        Digest::Login(login),
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
    let answer_for = |status, nonce| Msg::StatusResponse {
        login,
        evidence: StatusEvidence::Ocsp {
            serial: Serial(3),
            status,
            at: Epoch(4),
            nonce,
        },
    };
    let answer = |status| answer_for(status, Some(login));
    assert!(
        !pending.state.decided(login),
        "waiting for the status is not a decision"
    );
    // A status answer counts only as the CA's: the same answer claiming another sender (a phone,
    // the intruder on its link) decides nothing.
    let spoofed = relying_party::on_msg(
        &c,
        &pending.state,
        Party::Se(SE0),
        &answer(CertStatus::Valid),
    );
    assert_eq!(spoofed.state, pending.state);
    let ok = relying_party::on_msg(&c, &pending.state, Party::Ca, &answer(CertStatus::Valid)).state;
    assert_eq!(ok.accepted.len(), 1);
    assert!(ok.decided(login) && !ok.decided(LoginId { person: P0, n: 1 }));
    assert_eq!(ok.accepted[0].evidence_at, Epoch(4));
    for bad in [
        CertStatus::Suspended,
        CertStatus::Revoked,
        CertStatus::Expired,
    ] {
        let no = relying_party::on_msg(&c, &pending.state, Party::Ca, &answer(bad)).state;
        assert!(
            no.accepted.is_empty() && no.rejected == vec![Rejection { login, status: bad }],
            "{bad:?}"
        );
        assert!(no.decided(login), "a rejection is a decision too");
    }
    // An OCSP answer made for another request (an old one replayed) decides nothing: the login
    // waits for its own answer. Only the flawed relying party takes it.
    let other = LoginId { person: P0, n: 7 };
    for nonce in [Some(other), None] {
        let stale = answer_for(CertStatus::Valid, nonce);
        let s = relying_party::on_msg(&c, &pending.state, Party::Ca, &stale).state;
        assert_eq!(s, pending.state, "{nonce:?}");
        let careless = Config {
            flaws: cfg.flaws.with(Flaw::RpIgnoresOcspNonce),
            ..cfg
        };
        let s = relying_party::on_msg(&ctx(&careless), &pending.state, Party::Ca, &stale).state;
        assert_eq!(s.accepted.len(), 1);
        assert_eq!(s.accepted[0].evidence_for, nonce);
    }
    assert_eq!(ok.accepted[0].evidence_for, Some(login));
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
