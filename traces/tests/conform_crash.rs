//! `crash` and `restart` events: a recorded crash is the model's `Crash` step of that party and a
//! restart its `Recover` (the start from what the party stored). The traces here are the model's
//! own runs — an issuance during which the SP-TSM (or the CA) crashes and restarts — written as a
//! fully observed system would log them, then edited into the mistakes a log can make.

use jpkisim_model::actors::{PartyChoice, PartyState};
use jpkisim_model::applicant::Choice;
use jpkisim_model::ids::{Party, PersonId, SeId};
use jpkisim_model::msg::Msg;
use jpkisim_model::{Config, JpkiAction, JpkiModel, JpkiState, Topology};
use jpkisim_traces::conform::{conform, Options, Verdict};
use jpkisim_traces::generate::events_of_path;
use jpkisim_traces::{Event, EventKind, Header, Reader, Recorder};
use stateright::actor::ActorModelAction;
use stateright::Model;

/// One person with one SIM, a lossy network (a crashed party's messages may be lost), and at
/// most one party down at a time.
fn config() -> Config {
    let mut cfg = Config {
        persons: 1,
        ses_per_person: 1,
        crashes: 1,
        ..Config::default()
    };
    cfg.network.lossy = true;
    cfg
}

/// A run of the model driven step by step: each step is the first enabled step (within the
/// model's boundary) that `pick` accepts.
struct Driver {
    model: JpkiModel,
    topo: Topology,
    state: JpkiState,
    path: Vec<JpkiAction>,
}

impl Driver {
    fn new(cfg: Config) -> Driver {
        let model = jpkisim_model::build(cfg).expect("model builds");
        let state = model.init_states().remove(0);
        Driver {
            topo: Topology::of(&cfg),
            model,
            state,
            path: Vec::new(),
        }
    }

    fn id(&self, p: Party) -> stateright::actor::Id {
        self.topo.id(p)
    }

    /// Takes the first enabled step `pick` accepts; panics naming `what` if there is none.
    fn take(&mut self, what: &str, pick: impl Fn(&JpkiAction) -> bool) {
        let mut actions = Vec::new();
        self.model.actions(&self.state, &mut actions);
        for a in actions.into_iter().filter(|a| pick(a)) {
            if let Some(next) = self.model.next_state(&self.state, a.clone()) {
                if Model::within_boundary(&self.model, &next) {
                    self.state = next;
                    self.path.push(a);
                    return;
                }
            }
        }
        panic!("no enabled step: {what}");
    }

    /// Delivers messages (the first deliverable each time) until `done` holds.
    fn deliver_until(&mut self, what: &str, done: impl Fn(&JpkiState) -> bool) {
        for _ in 0..200 {
            if done(&self.state) {
                return;
            }
            self.take(what, |a| matches!(a, ActorModelAction::Deliver { .. }));
        }
        panic!("not reached: {what}");
    }
}

/// Whether a message `is` accepts is in flight from `from` to `to`.
fn in_flight(
    topo: &Topology,
    st: &JpkiState,
    from: Party,
    to: Party,
    is: fn(&Msg) -> bool,
) -> bool {
    let (src, dst) = (topo.id(from), topo.id(to));
    st.network
        .iter_all()
        .any(|e| e.src == src && e.dst == dst && is(e.msg))
}

fn is_issue_cert(m: &Msg) -> bool {
    matches!(m, Msg::IssueCert { .. })
}

fn is_cert_issued(m: &Msg) -> bool {
    matches!(m, Msg::CertIssued { .. })
}

/// The issuance is over: SE 0 holds its certificate, the SP-TSM has no session open, and
/// nothing is in flight.
fn issued(topo: &Topology, st: &JpkiState) -> bool {
    let se = &*st.actor_states[usize::from(topo.id(Party::Se(SeId(0))))];
    let sp = &*st.actor_states[usize::from(topo.id(Party::SpTsm))];
    matches!(se, PartyState::Se(s) if s.cert.is_some())
        && matches!(sp, PartyState::SpTsm(s) if s.persons.iter().all(|p| p.in_flight.is_none()))
        && st.network.iter_all().next().is_none()
}

/// The applicant applies, and the messages flow until the CA has answered the SP-TSM's
/// IssueCert (its CertIssued in flight).
fn until_cert_issued(cfg: Config) -> Driver {
    let mut d = Driver::new(cfg);
    let applicant = d.id(Party::Applicant(PersonId(0)));
    d.take("apply", |a| {
        matches!(a, ActorModelAction::SelectRandom { actor, random: PartyChoice::Applicant(Choice::Apply { se }), .. }
            if *actor == applicant && *se == SeId(0))
    });
    let topo = d.topo;
    d.deliver_until("CertIssued in flight", |st| {
        in_flight(&topo, st, Party::Ca, Party::SpTsm, is_cert_issued)
    });
    d
}

/// Then: the SP-TSM crashes, the CA's answer is lost while it is down, the SP-TSM restarts from
/// its database, its session timer fires and re-sends IssueCert, and the issuance completes.
fn sp_tsm_crash_run() -> (Config, Vec<JpkiAction>) {
    let cfg = config();
    let mut d = until_cert_issued(cfg);
    let sp = d.id(Party::SpTsm);
    d.take("SP-TSM crashes", |a| *a == ActorModelAction::Crash(sp));
    d.take(
        "CertIssued lost",
        |a| matches!(a, ActorModelAction::Drop(e) if e.dst == sp && is_cert_issued(&e.msg)),
    );
    d.take("SP-TSM restarts", |a| *a == ActorModelAction::Recover(sp));
    d.take(
        "SP-TSM's timer fires",
        |a| matches!(a, ActorModelAction::Timeout(actor, _) if *actor == sp),
    );
    let topo = d.topo;
    d.deliver_until("issued", |st| issued(&topo, st));
    (cfg, d.path)
}

/// The SP-TSM crashes while the CA's answer is on its way to it, and receives it after its
/// restart: the message waited in flight while it was down.
fn sp_tsm_crash_answer_waits_run() -> (Config, Vec<JpkiAction>) {
    let cfg = config();
    let mut d = until_cert_issued(cfg);
    let sp = d.id(Party::SpTsm);
    d.take("SP-TSM crashes", |a| *a == ActorModelAction::Crash(sp));
    d.take("SP-TSM restarts", |a| *a == ActorModelAction::Recover(sp));
    d.take("CertIssued delivered after the restart", |a| {
        matches!(a, ActorModelAction::Deliver { dst, msg, .. } if *dst == sp && is_cert_issued(msg))
    });
    let topo = d.topo;
    d.deliver_until("issued", |st| issued(&topo, st));
    (cfg, d.path)
}

/// The CA crashes after its answer is on its way and restarts before the SP-TSM's next
/// message to it; nothing is lost and no timer is needed.
fn ca_crash_run() -> (Config, Vec<JpkiAction>) {
    let cfg = config();
    let mut d = until_cert_issued(cfg);
    let ca = d.id(Party::Ca);
    d.take("CA crashes", |a| *a == ActorModelAction::Crash(ca));
    d.take(
        "CertIssued delivered",
        |a| matches!(a, ActorModelAction::Deliver { msg, .. } if is_cert_issued(msg)),
    );
    d.take("CA restarts", |a| *a == ActorModelAction::Recover(ca));
    let topo = d.topo;
    d.deliver_until("issued", |st| issued(&topo, st));
    (cfg, d.path)
}

fn events(cfg: Config, path: &[JpkiAction]) -> Vec<Event> {
    let model = jpkisim_model::build(cfg).expect("model builds");
    events_of_path(&model, path)
}

/// The trace a fully observed system writes, under `header_cfg`.
fn text(header_cfg: Config, events: &[Event]) -> String {
    let all = Topology::of(&header_cfg).parties();
    let mut rec = Recorder::new(Vec::new(), &Header::new(header_cfg, all)).expect("header");
    for (i, e) in events.iter().enumerate() {
        rec.record(Event {
            seq: i as u64 + 1,
            ..e.clone()
        })
        .expect("event");
    }
    String::from_utf8(rec.into_inner().expect("flush")).expect("utf-8")
}

fn verdict(text: &str, opts: &Options) -> Verdict {
    let mut r = Reader::new(text.as_bytes(), "crash.ndjson").expect("header");
    conform(&mut r, opts).expect("trace reads")
}

fn position(events: &[Event], kind: EventKind, party: Party) -> usize {
    events
        .iter()
        .position(|e| e.kind == kind && e.party == party)
        .unwrap_or_else(|| panic!("no {kind:?} of {party}"))
}

fn diverges_at(v: &Verdict, seq: usize, words: &str) {
    let Verdict::Diverges { at, why, .. } = v else {
        panic!("expected a divergence: {}", v.text());
    };
    assert_eq!(at.seq, seq as u64, "{}", v.text());
    assert!(
        why.iter().any(|w| w.contains(words)),
        "no reason says {words:?}:\n{}",
        v.text()
    );
}

#[test]
fn the_runs_have_their_crash_restart_and_retry() {
    let (cfg, path) = sp_tsm_crash_run();
    let ev = events(cfg, &path);
    let crash = position(&ev, EventKind::Crash, Party::SpTsm);
    let restart = position(&ev, EventKind::Restart, Party::SpTsm);
    let timeout = position(&ev, EventKind::Timeout, Party::SpTsm);
    assert!(crash < restart && restart < timeout, "{ev:#?}");
    assert!(
        ev[timeout + 1..]
            .iter()
            .any(|e| e.kind == EventKind::Send && e.msg.as_ref().is_some_and(is_issue_cert)),
        "the restarted SP-TSM's timer re-sends IssueCert"
    );
    let (cfg, path) = ca_crash_run();
    let ev = events(cfg, &path);
    assert!(
        position(&ev, EventKind::Crash, Party::Ca) < position(&ev, EventKind::Restart, Party::Ca)
    );
}

#[test]
fn a_crash_and_restart_conform_where_parties_crash() {
    for (name, (cfg, path)) in [
        ("SP-TSM", sp_tsm_crash_run()),
        ("SP-TSM, answer waiting", sp_tsm_crash_answer_waits_run()),
        ("CA", ca_crash_run()),
    ] {
        let ev = events(cfg, &path);
        let t = text(cfg, &ev);
        for observed in [None, Some(Party::SpTsm), Some(Party::Ca)] {
            let opts = Options {
                observed: observed.map(|p| vec![p]),
                ..Options::default()
            };
            let v = verdict(&t, &opts);
            assert!(
                matches!(v, Verdict::Conforms { .. }),
                "{name} crash, observed {observed:?}: {}",
                v.text()
            );
        }
        // A header without crashes, checked with --crashes 1.
        let without = Config { crashes: 0, ..cfg };
        let opts = Options {
            crashes: Some(1),
            ..Options::default()
        };
        let v = verdict(&text(without, &ev), &opts);
        assert!(
            matches!(v, Verdict::Conforms { .. }),
            "{name}: {}",
            v.text()
        );
    }
}

#[test]
fn without_crashes_the_crash_is_refused_and_the_flag_named() {
    let (cfg, path) = sp_tsm_crash_run();
    let ev = events(cfg, &path);
    let crash = position(&ev, EventKind::Crash, Party::SpTsm);
    let without = Config { crashes: 0, ..cfg };
    let v = verdict(&text(without, &ev), &Options::default());
    diverges_at(&v, crash + 1, "lets no party crash");
    diverges_at(&v, crash + 1, "pass --crashes");
    // --crashes 0 over a header that allows them is the same refusal.
    let v = verdict(
        &text(cfg, &ev),
        &Options {
            crashes: Some(0),
            ..Options::default()
        },
    );
    diverges_at(&v, crash + 1, "pass --crashes");
}

#[test]
fn a_restart_before_any_crash_is_refused() {
    let (cfg, path) = sp_tsm_crash_run();
    let mut ev = events(cfg, &path);
    ev.insert(0, Event::restart(Party::SpTsm));
    let v = verdict(&text(cfg, &ev), &Options::default());
    diverges_at(&v, 1, "the model has it running: it has not crashed at all");
    // From the SP-TSM alone too.
    let v = verdict(
        &text(cfg, &ev),
        &Options {
            observed: Some(vec![Party::SpTsm]),
            ..Options::default()
        },
    );
    diverges_at(&v, 1, "has it running");
}

#[test]
fn a_second_restart_is_refused_naming_the_first() {
    let (cfg, path) = sp_tsm_crash_run();
    let mut ev = events(cfg, &path);
    let restart = position(&ev, EventKind::Restart, Party::SpTsm);
    ev.insert(restart + 1, Event::restart(Party::SpTsm));
    let v = verdict(&text(cfg, &ev), &Options::default());
    diverges_at(
        &v,
        restart + 2,
        &format!("since its restart at event {}", restart + 1),
    );
}

#[test]
fn a_crashed_party_receiving_before_its_restart_is_refused() {
    let (cfg, path) = sp_tsm_crash_run();
    let ev = events(cfg, &path);
    let crash = position(&ev, EventKind::Crash, Party::SpTsm);
    // Instead of the loss: the CA's answer delivered to the crashed SP-TSM.
    let lost = &ev[crash + 1];
    assert_eq!(lost.kind, EventKind::Fault, "{lost:?}");
    let answer = lost.msg.clone().expect("the lost answer");
    let mut edited: Vec<Event> = ev[..=crash].to_vec();
    edited.push(Event::deliver(Party::SpTsm, Party::Ca, answer));
    edited.extend(ev[crash + 2..].iter().cloned());
    let v = verdict(&text(cfg, &edited), &Options::default());
    diverges_at(
        &v,
        crash + 2,
        &format!("crashed at event {} and has not restarted", crash + 1),
    );
    diverges_at(&v, crash + 2, "keeps messages to a crashed party in flight");
    // A crashed party's timer does not fire either.
    let mut edited: Vec<Event> = ev[..=crash].to_vec();
    edited.push(Event::timeout(Party::SpTsm));
    let v = verdict(&text(cfg, &edited), &Options::default());
    diverges_at(&v, crash + 2, "a crash cancels a party's timers");
}

#[test]
fn a_crash_of_a_party_the_model_never_crashes_is_refused_in_its_words() {
    let (cfg, path) = sp_tsm_crash_run();
    let mut ev = events(cfg, &path);
    ev.insert(0, Event::crash(Party::RelyingParty));
    let v = verdict(&text(cfg, &ev), &Options::default());
    diverges_at(&v, 1, "the model never crashes the relying party");
    diverges_at(&v, 1, "it crashes only the CA, the SP-TSM, the SE-TSM");
}

#[test]
fn a_second_party_down_beyond_the_configured_number_is_refused() {
    let (cfg, path) = sp_tsm_crash_run();
    let mut ev = events(cfg, &path);
    let crash = position(&ev, EventKind::Crash, Party::SpTsm);
    ev.insert(crash + 1, Event::crash(Party::Ca));
    let v = verdict(&text(cfg, &ev), &Options::default());
    diverges_at(
        &v,
        crash + 2,
        "lets at most 1 be down at once (--crashes 1)",
    );
    // With two allowed, the CA may be down too (and the trace then ends with it down).
    ev.truncate(crash + 2);
    let v = verdict(
        &text(cfg, &ev),
        &Options {
            crashes: Some(2),
            ..Options::default()
        },
    );
    assert!(matches!(v, Verdict::Conforms { .. }), "{}", v.text());
}

#[test]
fn the_restarted_state_is_what_the_party_stored() {
    // With the SP-TSM's database one step behind its answers (flaw
    // sp_tsm_answers_before_persisting), a restart loses its last step: in the model's run the
    // restarted SP-TSM re-sends from the older state. The same events conform (the model's own
    // run), and a log in which the restarted SP-TSM carries on from the newer state diverges.
    let mut cfg = config();
    cfg.flaws = cfg
        .flaws
        .with(jpkisim_model::config::Flaw::SpTsmAnswersBeforePersisting);
    let mut d = until_cert_issued(cfg);
    let sp = d.id(Party::SpTsm);
    d.take("SP-TSM crashes", |a| *a == ActorModelAction::Crash(sp));
    d.take(
        "CertIssued lost",
        |a| matches!(a, ActorModelAction::Drop(e) if e.dst == sp && is_cert_issued(&e.msg)),
    );
    d.take("SP-TSM restarts", |a| *a == ActorModelAction::Recover(sp));
    let model = jpkisim_model::build(cfg).expect("model builds");
    let stored = d.state.actor_storages[usize::from(sp)].clone();
    let restarted = (*d.state.actor_states[usize::from(sp)]).clone();
    assert_eq!(
        Some(jpkisim_model::recovery::restart(
            stored.as_ref().expect("stored")
        )),
        Some(restarted),
        "the model restarts from storage"
    );
    d.take(
        "SP-TSM's timer fires",
        |a| matches!(a, ActorModelAction::Timeout(actor, _) if *actor == sp),
    );
    let upto_timeout = d.path.clone();
    let se_tsm = d.id(Party::SeTsm);
    d.take("the re-sent InstallApplet arrives", |a| {
        matches!(a, ActorModelAction::Deliver { dst, msg: Msg::InstallApplet { .. }, .. } if *dst == se_tsm)
    });
    let ev = events_of_path(&model, &d.path);
    let installs = ev
        .iter()
        .filter(|e| {
            e.kind == EventKind::Deliver && matches!(e.msg, Some(Msg::InstallApplet { .. }))
        })
        .count();
    assert_eq!(installs, 2, "the restarted SP-TSM installs again");
    // Fully observed, and from the SE-TSM alone: it receives InstallApplet twice, which only an
    // unobserved crash and restart of the SP-TSM explain (its certifying state arms no install
    // retry).
    for observed in [None, Some(vec![Party::SeTsm])] {
        let v = verdict(
            &text(cfg, &ev),
            &Options {
                observed,
                ..Options::default()
            },
        );
        assert!(matches!(v, Verdict::Conforms { .. }), "{}", v.text());
    }
    // The timer's step from the state before the crash (as if nothing were lost) sends
    // something else than the step from the stored state: that log diverges.
    let timeout = position(&ev, EventKind::Timeout, Party::SpTsm);
    let sends_after: Vec<&Event> = ev[timeout + 1..]
        .iter()
        .take_while(|e| e.kind == EventKind::Send)
        .collect();
    assert!(!sends_after.is_empty(), "the retry sends");
    let unflawed = {
        // The same path without the flaw: the restarted SP-TSM resumes from its latest state.
        let cfg = config();
        let model = jpkisim_model::build(cfg).expect("model builds");
        events_of_path(&model, &upto_timeout)
    };
    let t2 = position(&unflawed, EventKind::Timeout, Party::SpTsm);
    let resent: Vec<&Event> = unflawed[t2 + 1..]
        .iter()
        .take_while(|e| e.kind == EventKind::Send)
        .collect();
    assert_ne!(
        sends_after.iter().map(|e| &e.msg).collect::<Vec<_>>(),
        resent.iter().map(|e| &e.msg).collect::<Vec<_>>(),
        "the lagging database makes another retry"
    );
    let mut edited: Vec<Event> = ev[..=timeout].to_vec();
    edited.extend(resent.into_iter().cloned());
    let v = verdict(&text(cfg, &edited), &Options::default());
    let Verdict::Diverges { at, .. } = &v else {
        panic!("expected a divergence: {}", v.text());
    };
    assert_eq!(at.seq, timeout as u64 + 2, "{}", v.text());
}

#[test]
fn crash_and_restart_read_back_from_ndjson_and_itf() {
    let (cfg, path) = sp_tsm_crash_run();
    let ev = events(cfg, &path);
    let t = text(cfg, &ev);
    assert!(t.contains(r#""kind":"crash","party":"SpTsm"}"#), "{t}");
    assert!(t.contains(r#""kind":"restart","party":"SpTsm"}"#), "{t}");
    let mut r = Reader::new(t.as_bytes(), "crash.ndjson").expect("header");
    let header = r.header().clone();
    let back: Vec<Event> = r.by_ref().map(|e| e.expect("event")).collect();
    let numbered: Vec<Event> = ev
        .iter()
        .enumerate()
        .map(|(i, e)| Event {
            seq: i as u64 + 1,
            ..e.clone()
        })
        .collect();
    assert_eq!(back, numbered);
    let doc = jpkisim_traces::itf::write(&header, &back);
    let (h2, e2) = jpkisim_traces::itf::read_trace(&doc, None).expect("ITF reads back");
    assert_eq!(h2.config, cfg);
    assert_eq!(e2, numbered);
    let actions = doc["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(|s| s["mbt::actionTaken"].as_str())
        .collect::<Vec<_>>();
    assert!(actions.contains(&"SP-TSM crashes"), "{actions:?}");
    assert!(
        actions.contains(&"SP-TSM restarts from its database"),
        "{actions:?}"
    );
}

#[test]
fn the_explorer_steps_of_a_crash_are_the_models() {
    let (cfg, path) = ca_crash_run();
    let ev = events(cfg, &path);
    let topo = Topology::of(&cfg);
    let steps = jpkisim_traces::steps::readable_steps(&topo, &ev);
    let model = jpkisim_model::build(cfg).expect("model builds");
    // This run has no timer step, so its readable steps are the whole path, and replay.
    let indices = jpkisim_model::path::replay(&model, &steps).expect("the steps replay");
    assert_eq!(indices.len(), path.len());
    let crash =
        jpkisim_model::describe::action(&topo, &ActorModelAction::Crash(topo.id(Party::Ca)));
    assert!(steps.contains(&crash), "{steps:?}");
}

#[test]
fn a_crash_with_a_message_is_refused_naming_file_line_and_field() {
    let (cfg, path) = sp_tsm_crash_run();
    let ev = events(cfg, &path);
    let t = text(cfg, &ev);
    let crash = position(&ev, EventKind::Crash, Party::SpTsm);
    let bad = t.replace(
        r#""kind":"crash","party":"SpTsm"}"#,
        r#""kind":"crash","party":"SpTsm","msg":"Boot"}"#,
    );
    assert_ne!(bad, t);
    let mut r = Reader::new(bad.as_bytes(), "bad.ndjson").expect("header");
    let e = r
        .by_ref()
        .find_map(Result::err)
        .expect("the crash line is refused");
    assert_eq!(
        (e.line, e.field.as_deref()),
        (crash + 2, Some("msg")),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("bad.ndjson:{}", crash + 2)),
        "{e}"
    );
    assert!(e.to_string().contains("no message"), "{e}");
    // A restart with a peer, likewise.
    let bad = t.replace(
        r#""kind":"restart","party":"SpTsm"}"#,
        r#""kind":"restart","party":"SpTsm","peer":"Ca"}"#,
    );
    let mut r = Reader::new(bad.as_bytes(), "bad.ndjson").expect("header");
    let e = r.by_ref().find_map(Result::err).expect("refused");
    assert_eq!(e.field.as_deref(), Some("peer"), "{e}");
}

#[test]
fn an_unobserved_crash_and_restart_are_found_where_the_events_need_them() {
    // The CA keeps its index of issued applications only in memory (flaw ca_index_not_durable):
    // after its answer is lost, it crashes and restarts, and the SP-TSM's retry gets a second
    // certificate. From the SP-TSM alone, that second serial is explained only by a crash and a
    // restart of the CA, which the search has to take as unobserved steps.
    let mut cfg = config();
    cfg.flaws = cfg
        .flaws
        .with(jpkisim_model::config::Flaw::CaIndexNotDurable);
    let mut d = until_cert_issued(cfg);
    let (sp, ca) = (d.id(Party::SpTsm), d.id(Party::Ca));
    d.take(
        "CertIssued lost",
        |a| matches!(a, ActorModelAction::Drop(e) if e.dst == sp && is_cert_issued(&e.msg)),
    );
    d.take("CA crashes", |a| *a == ActorModelAction::Crash(ca));
    d.take("CA restarts", |a| *a == ActorModelAction::Recover(ca));
    d.take(
        "SP-TSM's timer fires",
        |a| matches!(a, ActorModelAction::Timeout(actor, _) if *actor == sp),
    );
    d.take("IssueCert again", |a| {
        matches!(a, ActorModelAction::Deliver { dst, msg: Msg::IssueCert { .. }, .. } if *dst == ca)
    });
    d.take("the second certificate", |a| {
        matches!(a, ActorModelAction::Deliver { dst, msg: Msg::CertIssued { .. }, .. } if *dst == sp)
    });
    let ev = events(cfg, &d.path);
    let serials: Vec<u64> = ev
        .iter()
        .filter(|e| e.kind == EventKind::Send)
        .filter_map(|e| match &e.msg {
            Some(Msg::CertIssued { cert, .. }) => Some(u64::from(cert.serial.0)),
            _ => None,
        })
        .collect();
    assert_eq!(serials.len(), 2, "{serials:?}");
    assert_ne!(serials[0], serials[1], "the restarted CA issues anew");
    // The flaw shows: the recorded run violates a property, which a model run behind the
    // events (crash and restart included) has to make visible — not a divergence.
    for observed in [None, Some(vec![Party::SpTsm])] {
        let v = verdict(
            &text(cfg, &ev),
            &Options {
                observed: observed.clone(),
                ..Options::default()
            },
        );
        assert!(
            matches!(
                v,
                Verdict::Violates {
                    property: "no_double_issuance",
                    ..
                }
            ),
            "{observed:?}: {}",
            v.text()
        );
    }
}

/// The JSON Schema takes the crash trace's lines and refuses a crash with a message, by Python's
/// `jsonschema` where it is installed (as `tests/schema.rs` does for the goldens).
#[test]
fn the_schema_knows_crash_and_restart() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("skipping: python3 with the jsonschema module is not installed");
        return;
    }
    let (cfg, path) = sp_tsm_crash_run();
    let t = text(cfg, &events(cfg, &path));
    let bad = r#"{"seq":99,"kind":"crash","party":"SpTsm","msg":"Boot"}"#;
    let script = r#"
import json, sys
import jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
lines = sys.stdin.read().splitlines()
for i, line in enumerate(lines[:-1], 1):
    errors = list(v.iter_errors(json.loads(line)))
    if errors:
        print(f'line {i}: {errors[0].message[:300]}')
        sys.exit(1)
if v.is_valid(json.loads(lines[-1])):
    print('a crash with a message is valid')
    sys.exit(1)
print(f'{len(lines) - 1} lines valid, the bad one refused')
"#;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("schema/jpkisim-trace-v1.schema.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{t}{bad}\n").as_bytes())
            .expect("written");
    }
    let out = child.wait_with_output().expect("python3 ends");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("the bad one refused"), "{said}");
}

/// The golden `recorded/model-crash-sp-tsm-restarts.ndjson` is this file's SP-TSM crash run
/// (the goldens test snapshots its verdict; `jpkisim conform` tests can use it). To make it
/// again: `JPKISIM_WRITE_CRASH_GOLDEN=1 cargo test -p jpkisim-traces --test conform_crash`.
#[test]
fn the_crash_golden_is_this_run() {
    let (cfg, path) = sp_tsm_crash_run();
    let ev = events(cfg, &path);
    let all = Topology::of(&cfg).parties();
    let header = Header::new(cfg, all).with_source(
        "model: the SP-TSM crashes mid-issuance, the CA's answer is lost, it restarts and its timer retries (traces/tests/conform_crash.rs)",
    );
    let mut rec = Recorder::new(Vec::new(), &header).expect("header");
    for e in ev {
        rec.record(e).expect("event");
    }
    let made = String::from_utf8(rec.into_inner().expect("flush")).expect("utf-8");
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("recorded")
        .join("model-crash-sp-tsm-restarts.ndjson");
    if std::env::var_os("JPKISIM_WRITE_CRASH_GOLDEN").is_some() {
        std::fs::write(&file, &made).expect("golden written");
    }
    let golden = std::fs::read_to_string(&file).expect("the golden exists");
    assert_eq!(
        golden, made,
        "the golden is this run (see the doc comment to remake it)"
    );
}
