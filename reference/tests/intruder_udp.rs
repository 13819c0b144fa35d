//! The intruder node on the UDP transport (issue 14, item 2): with `--intruder`, every message
//! on an open link reaches the intruder's socket, which relays it; here the intruder also
//! withholds what it relays and injects real datagrams — replays to any party under any claimed
//! sender, a spoofed sender, altered signature bytes, the wrong certificate, a signature reused
//! for another message, a stale status answer without the nonce, a key slipped in ahead of the
//! SE's own.
//!
//! For every injected datagram the model's own transition for the receiver — run on the
//! receiver's state just before, with the symbolic message the datagram stands for (the message
//! itself, or the forgery its bytes really are) — and the reference receiver must agree: the
//! same next state and the same sends, so the same accept or refuse. Each case also states the
//! verdict it must have, so that agreement on a wrong verdict cannot pass.

use jpkisim_model::actors::{PartyActor, PartyChoice, PartyState};
use jpkisim_model::applicant::Choice;
use jpkisim_model::crypto::{Digest, KeyName, PublicKey, Signature};
use jpkisim_model::ids::{AppNo, Party, PersonId, SeId};
use jpkisim_model::msg::{Msg, StatusEvidence};
use jpkisim_model::Config;
use jpkisim_reference::backend::Provisioning;
use jpkisim_reference::runtime::udp::UdpWorld;
use jpkisim_reference::runtime::Faults;
use jpkisim_reference::scenario::{self, Driver};
use jpkisim_reference::wire::{Artifact, Envelope};
use jpkisim_traces::{Event, EventKind};
use rsa::pkcs8::EncodePublicKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// The receiver's state or sends changed.
    Accepted,
    /// The receiver took nothing from it.
    Refused,
}

const ME: Party = Party::Applicant(PersonId(0));
const SE0: SeId = SeId(0);

/// What the receiver sent in the step it took on the first delivery to it after `mark`.
fn first_step_sends(trace: &[Event], receiver: Party) -> Vec<(Party, Msg)> {
    let mut events = trace
        .iter()
        .skip_while(|e| !(e.kind == EventKind::Deliver && e.party == receiver))
        .skip(1);
    let mut sent = Vec::new();
    for e in events.by_ref() {
        if e.party != receiver {
            continue;
        }
        if e.kind != EventKind::Send {
            break;
        }
        if let (Some(to), Some(msg)) = (e.peer, e.msg.clone()) {
            sent.push((to, msg));
        }
    }
    sent
}

/// Injects `env` and checks the reference receiver against the model's transition on
/// `symbolic` (what the intruder's socket delivers, as a term).
fn judge(world: &mut UdpWorld, label: &str, env: Envelope, symbolic: Msg, expect: Verdict) {
    let cfg = Driver::config(world);
    let to = env.to;
    let before = world.party_state(to);
    let actor = PartyActor { party: to, cfg };
    let model = actor.deliver(&before, Party::Intruder, &symbolic);
    let model_out = actor.outgoing(model.out);
    let mark = world.journal().trace.len();
    world
        .inject(env)
        .unwrap_or_else(|e| panic!("{label}: the run broke: {e}"));
    let after = world.party_state(to);
    let sent = first_step_sends(&world.journal().trace[mark..], to);
    assert_eq!(
        after, model.state,
        "{label}: the reference {to} and the model's transition disagree on the next state"
    );
    assert_eq!(
        sent, model_out,
        "{label}: the reference {to} and the model's transition disagree on what is sent"
    );
    let verdict = if after == before && sent.is_empty() {
        Verdict::Refused
    } else {
        Verdict::Accepted
    };
    assert_eq!(verdict, expect, "{label}");
}

/// Injects `msg` with `artifacts` to `to`, claiming `claimed`, where the bytes are what the
/// message names: the symbolic message is the datagram's own.
fn judge_as_is(
    world: &mut UdpWorld,
    label: &str,
    (msg, artifacts): (Msg, Vec<Artifact>),
    to: Party,
    claimed: Party,
    expect: Verdict,
) {
    let symbolic = wrap(msg.clone(), to, claimed, false);
    judge(
        world,
        label,
        injected(msg, to, claimed, false, artifacts),
        symbolic,
        expect,
    );
}

/// A message the intruder saw, with its bytes, to replay as it was.
fn replayed(env: &Envelope) -> (Msg, Vec<Artifact>) {
    (inner(env).clone(), env.artifacts.clone())
}

/// The message an envelope the intruder saw carries (unwrapped from the relay).
fn inner(env: &Envelope) -> &Msg {
    match &env.msg {
        Msg::Intercepted { msg, .. } => msg,
        m => m,
    }
}

/// The last envelope the intruder saw whose message `is`.
fn seen(world: &UdpWorld, is: impl Fn(&Msg) -> bool) -> Envelope {
    world
        .seen()
        .into_iter()
        .rev()
        .find(|e| is(inner(e)))
        .expect("the intruder saw it")
}

/// `msg` sent by the intruder to `to`, claiming `claimed`, with `artifacts`.
fn injected(
    msg: Msg,
    to: Party,
    claimed: Party,
    genuine: bool,
    artifacts: Vec<Artifact>,
) -> Envelope {
    Envelope {
        from: Party::Intruder,
        to,
        msg: wrap(msg, to, claimed, genuine),
        artifacts,
    }
}

fn wrap(msg: Msg, to: Party, claimed: Party, genuine: bool) -> Msg {
    Msg::Intercepted {
        from: claimed,
        to,
        msg: Box::new(msg),
        genuine,
    }
}

fn accepted(world: &UdpWorld) -> usize {
    match world.party_state(Party::RelyingParty) {
        PartyState::RelyingParty(rp) => rp.accepted.len(),
        other => panic!("{other:?}"),
    }
}

fn choose(world: &mut UdpWorld, choice: Choice) {
    world
        .choose(ME, PartyChoice::Applicant(choice))
        .and_then(|()| world.settle())
        .unwrap_or_else(|e| panic!("{choice:?}: {e}"));
}

#[test]
fn every_reference_receiver_refuses_what_the_model_refuses_on_real_datagrams() {
    let cfg: Config = scenario::by_name("intruder-replay")
        .expect("the scenario")
        .config;
    let seed = 1;
    let mut world = UdpWorld::start(cfg, seed, Faults::default(), "intruder-udp").expect("starts");
    let rp = Party::RelyingParty;
    let se0 = Party::Se(SE0);

    // The honest world, relayed by the intruder: issuance, a login, the phone booting.
    choose(&mut world, Choice::Apply { se: SE0 });
    choose(
        &mut world,
        Choice::Login {
            se: SE0,
            pin_correct: true,
        },
    );
    assert_eq!(accepted(&world), 1);
    choose(&mut world, Choice::Boot { se: SE0 });
    let apply = seen(&world, |m| matches!(m, Msg::Apply(_)));
    let login0 = seen(&world, |m| matches!(m, Msg::LoginResponse { .. }));
    let answer0 = seen(&world, |m| matches!(m, Msg::StatusResponse { .. }));
    let boot = seen(&world, |m| matches!(m, Msg::BootStatus { .. }));
    let Msg::LoginResponse {
        cert: phone_cert,
        sig: login_sig,
        ..
    } = inner(&login0).clone()
    else {
        unreachable!()
    };

    // --- replays of what is already done ---------------------------------------------------
    judge_as_is(
        &mut world,
        "the login response replayed to the relying party as SE 0",
        replayed(&login0),
        rp,
        se0,
        Verdict::Refused,
    );
    judge_as_is(
        &mut world,
        "the status answer replayed to the relying party as the CA",
        replayed(&answer0),
        rp,
        Party::Ca,
        Verdict::Refused,
    );
    judge_as_is(
        &mut world,
        "the application replayed to J-LIS as the applicant",
        replayed(&apply),
        Party::SpTsm,
        ME,
        Verdict::Refused,
    );
    judge_as_is(
        &mut world,
        "the boot-time status answer replayed to the phone as the CA",
        replayed(&boot),
        se0,
        Party::Ca,
        Verdict::Refused,
    );

    // --- claims a link does not let the intruder make ---------------------------------------
    judge(
        &mut world,
        "a lock command to SE 0 claiming the SE issuer's TSM (an SCP03 link)",
        injected(Msg::LockApplet, se0, Party::SeTsm, false, Vec::new()),
        wrap(Msg::LockApplet, se0, Party::SeTsm, false),
        Verdict::Refused,
    );
    judge(
        &mut world,
        "the same lock command passed off as a relay (the wrapper's `genuine` flag set)",
        injected(Msg::LockApplet, se0, Party::SeTsm, true, Vec::new()),
        wrap(Msg::LockApplet, se0, Party::SeTsm, true),
        Verdict::Refused,
    );

    // --- a signature reused for another message ---------------------------------------------
    // The datagram names a revocation signature by SE 0's key, but its bytes are the login
    // signature: as a term, what the intruder really holds.
    let serial = phone_cert.serial;
    let claimed_sig = Signature {
        signer: login_sig.signer,
        digest: Digest::Revocation { serial },
    };
    let bytes = login0
        .artifacts
        .iter()
        .find_map(|a| match a {
            Artifact::Signature { bytes, .. } => Some(bytes.clone()),
            _ => None,
        })
        .expect("the login signature's bytes");
    let cert_artifact = login0
        .artifacts
        .iter()
        .find(|a| matches!(a, Artifact::Certificate { .. }))
        .expect("the phone certificate's DER")
        .clone();
    judge(
        &mut world,
        "a revocation request to the CA carrying the login signature's bytes",
        injected(
            Msg::RevokeFromPhone {
                cert: phone_cert,
                sig: claimed_sig,
            },
            Party::Ca,
            se0,
            false,
            vec![
                cert_artifact.clone(),
                Artifact::Signature {
                    sig: claimed_sig,
                    bytes,
                },
            ],
        ),
        wrap(
            Msg::RevokeFromPhone {
                cert: phone_cert,
                sig: login_sig,
            },
            Party::Ca,
            se0,
            false,
        ),
        Verdict::Refused,
    );

    // --- a login in flight: the intruder withholds it and races it --------------------------
    world.withhold(true).expect("withholds");
    choose(
        &mut world,
        Choice::Login {
            se: SE0,
            pin_correct: true,
        },
    );
    let login1 = seen(
        &world,
        |m| matches!(m, Msg::LoginResponse { login, .. } if login.n == 1),
    );
    let Msg::LoginResponse {
        login: l1,
        cert,
        sig,
    } = inner(&login1).clone()
    else {
        unreachable!()
    };
    let mut altered = login1.artifacts.clone();
    for a in &mut altered {
        if let Artifact::Signature { bytes, .. } = a {
            if let Some(b) = bytes.get_mut(17) {
                *b ^= 0x01;
            }
        }
    }
    judge(
        &mut world,
        "the login response with one bit of its signature flipped",
        injected(inner(&login1).clone(), rp, se0, false, altered),
        // Bytes that verify under no key the relying party knows: as a term, a signature the
        // intruder made itself.
        wrap(
            Msg::LoginResponse {
                login: l1,
                cert,
                sig: Signature {
                    signer: KeyName::Intruder,
                    digest: Digest::Login(l1),
                },
            },
            rp,
            se0,
            false,
        ),
        Verdict::Refused,
    );
    let Msg::Apply(application) = inner(&apply).clone() else {
        unreachable!()
    };
    let card_cert = application.card_cert;
    let card_der = apply
        .artifacts
        .iter()
        .find(|a| matches!(a, Artifact::Certificate { .. }))
        .expect("the card certificate's DER")
        .clone();
    let sig_artifact = login1
        .artifacts
        .iter()
        .find(|a| matches!(a, Artifact::Signature { .. }))
        .expect("the signature's bytes")
        .clone();
    let wrong_cert = Msg::LoginResponse {
        login: l1,
        cert: card_cert,
        sig,
    };
    judge(
        &mut world,
        "the login response under the card certificate's serial instead of the phone's",
        injected(
            wrong_cert.clone(),
            rp,
            se0,
            false,
            vec![card_der, sig_artifact],
        ),
        wrap(wrong_cert, rp, se0, false),
        Verdict::Refused,
    );
    let mut spoofed = login1.clone();
    spoofed.from = se0;
    spoofed.to = rp;
    spoofed.msg = inner(&login1).clone();
    judge(
        &mut world,
        "the login response from the intruder's socket, its envelope claiming SE 0",
        spoofed,
        inner(&login1).clone(),
        Verdict::Refused,
    );
    judge_as_is(
        &mut world,
        "the login response replayed ahead of the withheld original",
        replayed(&login1),
        rp,
        se0,
        Verdict::Accepted,
    );
    // The relying party now waits for a status answer for login 1; its request is withheld.
    let Msg::BootStatus {
        evidence: boot_evidence,
    } = inner(&boot).clone()
    else {
        unreachable!()
    };
    let stale = Msg::StatusResponse {
        login: l1,
        evidence: boot_evidence,
    };
    judge_as_is(
        &mut world,
        "the phone's boot-time status answer (no nonce) as the answer for login 1",
        (stale, boot.artifacts.clone()),
        rp,
        Party::Ca,
        Verdict::Refused,
    );
    let Msg::StatusResponse {
        evidence: evidence0,
        ..
    } = inner(&answer0).clone()
    else {
        unreachable!()
    };
    let other = Msg::StatusResponse {
        login: l1,
        evidence: evidence0.clone(),
    };
    judge(
        &mut world,
        "login 0's status answer as the answer for login 1",
        injected(
            other.clone(),
            rp,
            Party::Ca,
            false,
            answer0.artifacts.clone(),
        ),
        wrap(other.clone(), rp, Party::Ca, false),
        Verdict::Refused,
    );
    // The term claims login 1's nonce; the CA-signed bytes are login 0's answer.
    let StatusEvidence::Ocsp {
        serial: s,
        status,
        at,
        ..
    } = evidence0.clone()
    else {
        panic!("OCSP evidence")
    };
    let relabelled = StatusEvidence::Ocsp {
        serial: s,
        status,
        at,
        nonce: Some(l1),
    };
    let der = answer0
        .artifacts
        .iter()
        .find_map(|a| match a {
            Artifact::Status { der, .. } => Some(der.clone()),
            _ => None,
        })
        .expect("the answer's DER");
    judge(
        &mut world,
        "login 0's signed status answer relabelled with login 1's nonce",
        injected(
            Msg::StatusResponse {
                login: l1,
                evidence: relabelled.clone(),
            },
            rp,
            Party::Ca,
            false,
            vec![Artifact::Status {
                evidence: relabelled,
                der,
            }],
        ),
        wrap(other, rp, Party::Ca, false),
        Verdict::Refused,
    );
    // Released, the genuine request reaches the CA and its fresh answer decides login 1.
    world.withhold(false).expect("releases");
    assert_eq!(accepted(&world), 2, "login 1 is accepted on its own answer");

    // --- a key slipped in ahead of the SE's own ----------------------------------------------
    // Before the person applies again (a new key on SE 0), the intruder sends J-LIS an "applet
    // installed" for the application to come, naming that key but carrying another public key
    // (the card's).
    let prov = Provisioning::new(seed).expect("provisioning");
    let Artifact::Certificate { der: card_der, .. } = apply
        .artifacts
        .iter()
        .find(|a| matches!(a, Artifact::Certificate { .. }))
        .expect("card DER")
        .clone()
    else {
        unreachable!()
    };
    let card_key = jpkisim_reference::pki::verify_certificate(prov.ca_public(), &card_der)
        .expect("the card certificate verifies")
        .public_key;
    let spki = card_key
        .to_public_key_der()
        .expect("SPKI")
        .as_bytes()
        .to_vec();
    let next = KeyName::Se {
        se: SE0,
        app: AppNo(1),
    };
    let installed = Msg::AppletInstalled {
        person: PersonId(0),
        se: SE0,
        app: AppNo(1),
        key: Some(PublicKey(next)),
        escrow: None,
    };
    judge(
        &mut world,
        "an applet-installed report for SE 0's next key carrying another public key",
        injected(
            installed.clone(),
            Party::SpTsm,
            se0,
            false,
            vec![Artifact::PublicKey { key: next, spki }],
        ),
        wrap(installed, Party::SpTsm, se0, false),
        Verdict::Refused,
    );
    // The new application still certifies the key SE 0 generated: its next login is accepted.
    choose(&mut world, Choice::Apply { se: SE0 });
    choose(
        &mut world,
        Choice::Login {
            se: SE0,
            pin_correct: true,
        },
    );
    assert_eq!(
        accepted(&world),
        3,
        "the login after the new application verifies under the certified key"
    );
}
