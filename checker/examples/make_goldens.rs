//! Writes the model-generated golden traces and their deliberately broken copies into
//! `traces/recorded/` (see the README there for each edit and its expected verdict).
//!
//! `cargo run --release -p jpkisim-checker --example make_goldens [DIR]`
//!
//! The scenario goldens of the reference runtime (`jpkisim run --record`) are not made here.

use jpkisim_checker::shortest::shortest_paths;
use jpkisim_model::config::Config;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::{CertStatus, Msg, StatusEvidence};
use jpkisim_model::Topology;
use jpkisim_properties::catalogue::by_id;
use jpkisim_properties::variants;
use jpkisim_traces::generate::{events_of_path, random_walk};
use jpkisim_traces::{Event, EventKind, Header, Recorder};
use std::path::{Path, PathBuf};

fn one_person() -> Config {
    Config {
        persons: 1,
        ..Config::default()
    }
}

/// The fully observed events of a shortest path to `property`'s witness (or violation).
fn path_events(cfg: Config, property: &str) -> Vec<Event> {
    let Some(p) = by_id(property) else {
        panic!("no property {property}")
    };
    let model = jpkisim_model::build(cfg).expect("configuration builds");
    let found = shortest_paths(cfg, &[p]).expect("search runs");
    let Some(Some(cex)) = found.into_iter().next() else {
        panic!("{property}: no path in this configuration")
    };
    numbered(events_of_path(&model, &cex.actions))
}

fn numbered(mut events: Vec<Event>) -> Vec<Event> {
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    events
}

fn write(dir: &Path, name: &str, header: Header, events: &[Event]) {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).expect("create golden");
    let mut rec = Recorder::new(std::io::BufWriter::new(file), &header).expect("header");
    for e in events {
        rec.record_numbered(e).expect("event");
    }
    rec.into_inner().expect("flush");
    println!("{} ({} events)", path.display(), events.len());
}

fn all(cfg: Config) -> Vec<Party> {
    Topology::of(&cfg).parties()
}

fn find(events: &[Event], what: impl Fn(&Event) -> bool, label: &str) -> usize {
    events
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("no event: {label}"))
}

fn is_msg(e: &Event, kind: EventKind, pred: impl Fn(&Msg) -> bool) -> bool {
    e.kind == kind && e.msg.as_ref().is_some_and(pred)
}

fn main() {
    let dir: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("traces/recorded"));
    std::fs::create_dir_all(&dir).expect("output directory");
    let cfg = one_person();
    let src = |s: &str| format!("model: {s} (jpkisim-traces example make_goldens)");

    // --- valid, from the model -----------------------------------------------------------
    let issuance = path_events(cfg, "issued");
    write(
        &dir,
        "model-issuance.ndjson",
        Header::new(cfg, all(cfg)).with_source(src("shortest path to a phone certificate issued")),
        &issuance,
    );
    let login = path_events(cfg, "rp_accepted");
    write(
        &dir,
        "model-login-accepted.ndjson",
        Header::new(cfg, all(cfg)).with_source(src("shortest path to a login accepted by the RP")),
        &login,
    );
    let device = path_events(cfg, "device_changed");
    write(
        &dir,
        "model-device-change.ndjson",
        Header::new(cfg, all(cfg)).with_source(src(
            "shortest path to a device change (second issuance supersedes the first)",
        )),
        &device,
    );
    let lost = path_events(cfg, "lost_and_suspended");
    write(
        &dir,
        "model-loss-reported.ndjson",
        Header::new(cfg, all(cfg)).with_source(src(
            "shortest path to a reported loss suspending the certificate",
        )),
        &lost,
    );
    let retired = path_events(cfg, "retired_sim_login_rejected");
    write(
        &dir,
        "model-retired-sim-login-rejected.ndjson",
        Header::new(cfg, all(cfg)).with_source(src(
            "shortest path to a login from a retired SIM being rejected",
        )),
        &retired,
    );
    let mut walk_cfg = cfg;
    walk_cfg.budgets.applications = 3;
    walk_cfg.budgets.pin_entries = 4;
    walk_cfg.budgets.events = 10;
    let model = jpkisim_model::build(walk_cfg).expect("builds");
    let mut walk = Vec::new();
    random_walk(&model, 7, 200, 70, |e| {
        walk.push(e);
        true
    });
    write(
        &dir,
        "model-random-walk-seed7.ndjson",
        Header::new(walk_cfg, all(walk_cfg)).with_source(src("seeded random walk, seed 7")),
        &numbered(walk),
    );

    // A log seen only from the SP-TSM: the device change, SP-TSM's events only.
    let sp_only: Vec<Event> = device
        .iter()
        .filter(|e| e.party == Party::SpTsm)
        .cloned()
        .collect();
    write(
        &dir,
        "model-device-change-sp-tsm-only.ndjson",
        Header::new(cfg, vec![Party::SpTsm])
            .with_source(src("the device change as the SP-TSM logs it")),
        &sp_only,
    );

    // A flawed system: the SP-TSM that skips the issued check, its shortest double issuance.
    let flawed = variants::by_id("skip_issued_check")
        .expect("variant")
        .config(Config::default());
    let double = path_events(flawed, "no_double_issuance");
    write(
        &dir,
        "flawed-skip-issued-check.ndjson",
        Header::new(flawed, all(flawed)).with_source(src(
            "a system with flaw skip_issued_check: its shortest double issuance",
        )),
        &double,
    );

    // --- broken: deliberate edits of the valid ones ----------------------------------------
    // 1. Double issuance: the second IssueCert no longer supersedes the first certificate.
    let mut b = device.clone();
    let k = b
        .iter()
        .rposition(|e| {
            is_msg(e, EventKind::Send, |m| {
                matches!(
                    m,
                    Msg::IssueCert {
                        supersedes: Some(_),
                        ..
                    }
                )
            })
        })
        .expect("a superseding IssueCert");
    for e in b.iter_mut().skip(k) {
        if let Some(Msg::IssueCert { supersedes, .. }) = &mut e.msg {
            *supersedes = None;
        }
    }
    write(
        &dir,
        "broken-double-issuance.ndjson",
        Header::new(cfg, all(cfg)).with_source(
            "edited from model-device-change: the second IssueCert supersedes nothing",
        ),
        &b,
    );

    // 2. A revoked certificate accepted: the CA answers `valid` for the retired SIM's certificate.
    let mut b = retired.clone();
    let mut edited = 0;
    for e in b.iter_mut() {
        if let Some(Msg::StatusResponse {
            evidence: StatusEvidence::Ocsp { status, .. },
            ..
        }) = &mut e.msg
        {
            if *status == CertStatus::Revoked {
                *status = CertStatus::Valid;
                edited += 1;
            }
        }
    }
    assert!(edited > 0, "a revoked status answer to edit");
    write(&dir, "broken-revoked-accepted.ndjson", Header::new(cfg, all(cfg)).with_source("edited from model-retired-sim-login-rejected: the CA says valid for a revoked certificate"), &b);

    // 3. The key stored into the wrong SE: StoreData goes to SE 1 instead of SE 0.
    let mut b = issuance.clone();
    let k = find(
        &b,
        |e| is_msg(e, EventKind::Send, |m| matches!(m, Msg::StoreData { .. })),
        "StoreData sent",
    );
    let wrong = Party::Se(jpkisim_model::ids::SeId(1));
    b[k].peer = Some(wrong);
    if let Some(d) = b.iter_mut().skip(k).find(|e| {
        is_msg(e, EventKind::Deliver, |m| {
            matches!(m, Msg::StoreData { .. })
        })
    }) {
        d.party = wrong;
    }
    write(&dir, "broken-key-into-wrong-se.ndjson", Header::new(cfg, all(cfg)).with_source("edited from model-issuance: StoreData sent to and stored by SE 1, not the designated SE 0"), &b);

    // 4. A step out of order: the CA handles IssueCert before the SP-TSM has sent it.
    let mut b = issuance.clone();
    let send = find(
        &b,
        |e| is_msg(e, EventKind::Send, |m| matches!(m, Msg::IssueCert { .. })),
        "IssueCert sent",
    );
    let deliver = find(
        &b,
        |e| {
            is_msg(e, EventKind::Deliver, |m| {
                matches!(m, Msg::IssueCert { .. })
            })
        },
        "IssueCert delivered",
    );
    let moved = b.remove(deliver);
    b.insert(send, moved);
    write(
        &dir,
        "broken-step-out-of-order.ndjson",
        Header::new(cfg, all(cfg)).with_source(
            "edited from model-issuance: the CA receives IssueCert before the SP-TSM sends it",
        ),
        &numbered(b),
    );

    // 5. Seen only from the SP-TSM: it personalises the SE before the CA issued the certificate.
    let mut b = sp_only.clone();
    let got = find(
        &b,
        |e| {
            is_msg(e, EventKind::Deliver, |m| {
                matches!(m, Msg::CertIssued { .. })
            })
        },
        "CertIssued delivered",
    );
    let store = find(
        &b,
        |e| is_msg(e, EventKind::Send, |m| matches!(m, Msg::StoreData { .. })),
        "StoreData sent",
    );
    let moved = b.remove(store);
    b.insert(got, moved);
    let renumbered: Vec<Event> = b
        .into_iter()
        .zip(sp_only.iter().map(|e| e.seq))
        .map(|(mut e, seq)| {
            e.seq = seq;
            e
        })
        .collect();
    write(
        &dir,
        "broken-sp-tsm-only-store-before-cert.ndjson",
        Header::new(cfg, vec![Party::SpTsm]).with_source(
            "edited from model-device-change-sp-tsm-only: StoreData sent before CertIssued arrived",
        ),
        &renumbered,
    );

    // 6. Delivered twice on a network that does not duplicate: a copy of an earlier delivery
    //    (one the receiver ignores the second time) appended at the end.
    let model = jpkisim_model::build(cfg).expect("builds");
    let mut b = issuance.clone();
    let again = ignored_redelivery(&model, &b).expect("a delivery the receiver would ignore again");
    let mut copy = b[again].clone();
    copy.seq = b.len() as u64 + 1;
    b.push(copy);
    write(
        &dir,
        "broken-delivered-twice.ndjson",
        Header::new(cfg, all(cfg)).with_source(
            "edited from model-issuance: a message sent once is delivered again at the end (its receiver ignores it)",
        ),
        &b,
    );

    // 7. Cut mid-step: the log ends after a delivery, before the sends that step made.
    let mut b = issuance.clone();
    let cut = find(
        &b,
        |e| {
            is_msg(e, EventKind::Deliver, |m| {
                matches!(m, Msg::IssueCert { .. })
            })
        },
        "IssueCert delivered",
    );
    b.truncate(cut + 1);
    write(
        &dir,
        "truncated-issuance.ndjson",
        Header::new(cfg, all(cfg)).with_source(
            "cut from model-issuance: the log ends after the CA received IssueCert, before it sent CertIssued",
        ),
        &b,
    );

    // 8 and 9: the reference runtime's device change, seen from one party, with one edit.
    let scenario = read_events(&dir.join("scenario-device-change.ndjson"));
    // 8. The SP-TSM personalises SE 1 with a serial the CA did not issue.
    let mut b: Vec<Event> = scenario
        .iter()
        .filter(|e| e.party == Party::SpTsm)
        .cloned()
        .collect();
    let k = b
        .iter()
        .rposition(|e| is_msg(e, EventKind::Send, |m| matches!(m, Msg::StoreData { .. })))
        .expect("the second StoreData");
    if let Some(Msg::StoreData { cert, .. }) = &mut b[k].msg {
        cert.serial = jpkisim_model::ids::Serial(cert.serial.0 + 1);
    }
    b[k].evidence = None;
    write(
        &dir,
        "broken-sp-tsm-only-wrong-serial.ndjson",
        Header::new(scenario_cfg(&dir), vec![Party::SpTsm]).with_source(
            "edited from scenario-device-change, the SP-TSM's events only: the second StoreData carries serial 4, not the serial 3 the CA issued",
        ),
        &b,
    );
    // 9. A CA that never revoked the superseded certificate: its status answer for serial 2
    //    after the device change says valid.
    let mut b: Vec<Event> = scenario
        .iter()
        .filter(|e| e.party == Party::Ca)
        .cloned()
        .collect();
    let k = b
        .iter()
        .rposition(|e| {
            is_msg(e, EventKind::Send, |m| {
                matches!(
                    m,
                    Msg::StatusResponse {
                        evidence: StatusEvidence::Ocsp {
                            status: CertStatus::Revoked,
                            ..
                        },
                        ..
                    }
                )
            })
        })
        .expect("a revoked status answer");
    if let Some(Msg::StatusResponse {
        evidence: StatusEvidence::Ocsp { status, .. },
        ..
    }) = &mut b[k].msg
    {
        *status = CertStatus::Valid;
    }
    b[k].evidence = None;
    write(
        &dir,
        "broken-ca-only-never-revokes.ndjson",
        Header::new(scenario_cfg(&dir), vec![Party::Ca]).with_source(
            "edited from scenario-device-change, the CA's events only: the CA answers valid for the superseded serial 2",
        ),
        &b,
    );
}

/// A delivery in `events` (a fully observed path) whose message, delivered once more after the
/// last event, the receiver would ignore.
fn ignored_redelivery(model: &jpkisim_model::JpkiModel, events: &[Event]) -> Option<usize> {
    use stateright::actor::ActorModelAction;
    use stateright::Model;
    let topo = Topology::of(&model.cfg);
    let mut state = model.init_states().into_iter().next()?;
    for e in events {
        let action = match (e.kind, e.peer, &e.msg, e.choice) {
            (EventKind::Deliver, Some(from), Some(msg), _) => ActorModelAction::Deliver {
                src: topo.id(from),
                dst: topo.id(e.party),
                msg: msg.clone(),
            },
            (EventKind::Choice, _, _, Some(c)) => {
                let mut actions = Vec::new();
                model.actions(&state, &mut actions);
                actions.into_iter().find(|a| {
                    matches!(a, ActorModelAction::SelectRandom { actor, random, .. }
                        if *actor == topo.id(e.party) && *random == c)
                })?
            }
            _ => continue,
        };
        state = model.next_state(&state, action)?;
    }
    events.iter().rposition(|e| {
        let (Some(from), Some(msg)) = (e.peer, &e.msg) else {
            return false;
        };
        e.kind == EventKind::Deliver
            && model
                .next_state(
                    &state,
                    ActorModelAction::Deliver {
                        src: topo.id(from),
                        dst: topo.id(e.party),
                        msg: msg.clone(),
                    },
                )
                .is_none()
    })
}

fn read_events(path: &Path) -> Vec<Event> {
    let mut r = jpkisim_traces::Reader::open(path).expect("scenario golden reads");
    r.by_ref()
        .collect::<Result<Vec<_>, _>>()
        .expect("scenario golden events")
}

fn scenario_cfg(dir: &Path) -> Config {
    jpkisim_traces::Reader::open(&dir.join("scenario-device-change.ndjson"))
        .expect("scenario golden reads")
        .header()
        .config
}
