//! The words the Explorer and counterexamples show: what they name and what they leave out.

mod common;
use common::*;
use jpkisim_model::describe;

#[test]
fn a_status_answer_names_its_nonce_only_when_it_answers_another_request() {
    let login = LoginId { person: P0, n: 0 };
    let answer = |nonce| Msg::StatusResponse {
        login,
        evidence: StatusEvidence::Ocsp {
            serial: Serial(3),
            status: CertStatus::Valid,
            at: Epoch(1),
            nonce,
        },
    };
    let own = describe::message(&answer(Some(login)));
    assert!(
        !own.contains("answering") && !own.contains("nonce"),
        "{own}"
    );
    let other = describe::message(&answer(Some(LoginId { person: P0, n: 7 })));
    assert!(other.contains(" answering "), "{other}");
    let none = describe::message(&answer(None));
    assert!(none.contains("without nonce"), "{none}");
}

#[test]
fn the_ca_lists_ses_out_of_service_only_when_there_are_some() {
    let cfg = Config::default();
    let mut ca0 = ca::init(&ctx(&cfg));
    let text = describe::party_state(&PartyState::Ca(ca0.clone()));
    assert!(!text.contains("out of service"), "{text}");
    ca0.retired_ses.push(SE1);
    let text = describe::party_state(&PartyState::Ca(ca0));
    assert!(text.contains("out of service: SE 1"), "{text}");
}
