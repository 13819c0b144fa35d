//! Diagnoses in words: what a diverging event needed, why the model could not give it, and the
//! events the model allowed instead.
//!
//! Reasons are data ([`Reason`]) until the verdict is written, so that they name events by their
//! number and parties as the protocol does. The one inference here is [`blocking_fields`]: which
//! field of a party's state keeps a choice from being offered, found by trying the values that
//! field had earlier in the trace.

use crate::diff::value_changes;
use crate::format::{Event, EventKind, Fault};
use jpkisim_model::actors::{PartyActor, PartyChoice, PartyState};
use jpkisim_model::config::{NetworkSemantics as Network, Ordering};
use jpkisim_model::describe;
use jpkisim_model::ids::Party;
use jpkisim_model::msg::Msg;
use serde_json::Value;
use std::collections::BTreeMap;

use super::local::{Fate, Mark, StepRef};
use super::verdict::Nearest;

/// Why an event cannot happen where it is.
#[derive(Clone, Debug)]
pub(super) enum Reason {
    /// The party's state does not offer the choice.
    ChoiceNotOffered {
        party: Party,
        choice: PartyChoice,
        offered: Vec<PartyChoice>,
    },
    /// A timer of the party fires, but its state arms none.
    NoTimerArmed {
        party: Party,
        /// Whether the configuration arms timers at all (`--lossy`, `--crashes`).
        timers_armed: bool,
    },
    /// The party takes a step while sends of its previous step are still missing from the log.
    SendsNotLogged {
        party: Party,
        step: StepRef,
        missing: Vec<(Party, Msg)>,
    },
    /// A send the party's last step did not make.
    NotSentByStep {
        party: Party,
        to: Party,
        msg: Msg,
        step: Option<StepRef>,
        sent: Vec<(Party, Msg)>,
        already_logged: Option<Mark>,
    },
    /// On a FIFO channel without loss, an earlier message must arrive first.
    BehindOnChannel {
        from: Party,
        to: Party,
        msg: Msg,
        ahead: Msg,
        ahead_sent: Mark,
    },
    /// A delivery from an observed sender of a message not in flight.
    NotInFlight {
        from: Party,
        to: Party,
        msg: Msg,
        /// Logged sends of that message on that channel, with what became of each.
        sends: Vec<(Mark, Fate)>,
        /// The sender's step that made it, if its send line is still to come.
        unlogged_send: Option<StepRef>,
    },
    /// A fault the configured network does not make.
    NetworkCannot { fault: Fault, network: Network },
    /// A fault of a message that was never sent.
    FaultOfUnsent {
        fault: Fault,
        from: Party,
        to: Party,
        msg: Msg,
    },
    /// A crash or restart where the configuration lets no party crash.
    CrashesOff { party: Party, kind: EventKind },
    /// A crash of a party the model never lets crash.
    CannotCrash {
        party: Party,
        /// The parties the model does let crash.
        crashable: Vec<Party>,
    },
    /// A crash while as many parties are down as the configuration allows at once.
    TooManyDown {
        party: Party,
        down: Vec<Party>,
        crashes: u8,
    },
    /// A restart of a party that is running (it has not crashed since its start or last restart).
    RestartWhileUp {
        party: Party,
        restarted: Option<Mark>,
    },
    /// A step of a party that crashed and has not restarted.
    WhileDown {
        party: Party,
        kind: EventKind,
        peer: Option<Party>,
        msg: Option<Msg>,
        crash: Mark,
    },
}

/// "event 12".
pub(super) fn name(m: Mark) -> String {
    format!("event {}", m.seq)
}

/// "event 12 (SP-TSM receives …)".
fn step_words(s: &StepRef) -> String {
    format!("{}: {}", name(s.at), describe_event(&s.event))
}

fn the(p: Party) -> String {
    match p {
        Party::Ca | Party::SpTsm | Party::SeTsm | Party::Mvno => format!("the {p}"),
        Party::RelyingParty => "the relying party".into(),
        _ => p.to_string(),
    }
}

fn possessive(p: Party) -> String {
    format!("{}'s", the(p))
}

fn sends(list: &[(Party, Msg)]) -> String {
    if list.is_empty() {
        return "nothing".into();
    }
    list.iter()
        .map(|(to, m)| format!("{} to {to}", describe::message(m)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Reason {
    /// The sentences of the diagnosis.
    pub(super) fn sentences(&self) -> Vec<String> {
        match self {
            Reason::ChoiceNotOffered {
                party,
                choice,
                offered,
            } => {
                let offered: Vec<String> = offered.iter().map(describe::choice).collect();
                vec![
                    format!(
                        "{party} cannot choose \"{}\" here: {} state does not offer it",
                        describe::choice(choice),
                        possessive(*party)
                    ),
                    if offered.is_empty() {
                        format!("{party} has no choice at all here")
                    } else {
                        format!("it offers: {}", offered.join("; "))
                    },
                ]
            }
            Reason::NoTimerArmed {
                party,
                timers_armed,
            } => vec![
                format!(
                    "a timer of {party} fires here, but {} state arms no timer",
                    possessive(*party)
                ),
                if *timers_armed {
                    "a party arms a timer only while it waits for an answer that a lost message or a crash could keep from coming (the SP-TSM on an open issuance session, the SE issuer's TSM on a SIM leaving service)".to_string()
                } else {
                    "the configuration arms no timers at all: nothing can be lost and nothing crashes (timers need --lossy or --crashes)".to_string()
                },
            ],
            Reason::SendsNotLogged {
                party,
                step,
                missing,
            } => vec![format!(
                "{} step at {} also sent {}, which the log does not show before this, {} next step (a party logs a step's sends before its next step)",
                possessive(*party),
                step_words(step),
                sends(missing),
                possessive(*party)
            )],
            Reason::NotSentByStep {
                party,
                to,
                msg,
                step,
                sent,
                already_logged,
            } => {
                let what = format!("{} to {to}", describe::message(msg));
                match (step, already_logged) {
                    (None, _) => vec![format!(
                        "{party} has taken no step yet, so it has sent nothing; the log says it sent {what}"
                    )],
                    (Some(s), Some(l)) => vec![format!(
                        "{} last step ({}) sent {what} once, and that send is already logged at {}",
                        possessive(*party),
                        step_words(s),
                        name(*l)
                    )],
                    (Some(s), None) => vec![format!(
                        "{} never sent {what}: a party sends only in a step, and its last step ({}) sent {}",
                        the(*party),
                        step_words(s),
                        sends(sent)
                    )],
                }
            }
            Reason::BehindOnChannel {
                from,
                to,
                msg,
                ahead,
                ahead_sent,
            } => vec![format!(
                "{} needs to arrive from {from} first: the channel to {to} delivers in order and loses nothing, and {} (sent at {}) is ahead of {}",
                describe::message(ahead),
                describe::message(ahead),
                name(*ahead_sent),
                describe::message(msg)
            )],
            Reason::NotInFlight {
                from,
                to,
                msg,
                sends,
                unlogged_send,
            } => {
                let what = format!("{} from {from}", describe::message(msg));
                if let Some(step) = unlogged_send {
                    return vec![format!(
                        "{what} is not in flight yet: {} step at {} makes it, but its send is logged only after this delivery (a send is logged before the message can arrive)",
                        possessive(*from),
                        step_words(step)
                    )];
                }
                if sends.is_empty() {
                    return vec![format!("{to} cannot receive {what}: {} never sent it to {to}", the(*from))];
                }
                let fates: Vec<String> = sends
                    .iter()
                    .map(|(at, fate)| match fate {
                        Fate::Delivered(d) => {
                            format!("the send at {} was delivered at {}", name(*at), name(*d))
                        }
                        Fate::Lost(l) => format!("the send at {} was lost at {}", name(*at), name(*l)),
                        Fate::InFlight => format!("the send at {} is still in flight", name(*at)),
                    })
                    .collect();
                vec![format!(
                    "{to} cannot receive {what} again: {}; a network that does not duplicate delivers each send once",
                    fates.join(", ")
                )]
            }
            Reason::NetworkCannot { fault, network } => vec![match fault {
                Fault::Lost => format!(
                    "the configured network does not lose messages (network.lossy is false; it is {})",
                    network_words(network)
                ),
                Fault::Duplicated => format!(
                    "the configured network does not duplicate messages (network.duplicating is false; it is {})",
                    network_words(network)
                ),
                Fault::Reordered => format!(
                    "the configured network delivers in order (network.ordering is ordered; it is {})",
                    network_words(network)
                ),
            }],
            Reason::FaultOfUnsent {
                fault,
                from,
                to,
                msg,
            } => vec![format!(
                "the network cannot {} {} from {from} to {to}: {} never sent it (no send line before this)",
                match fault {
                    Fault::Lost => "lose",
                    Fault::Duplicated => "duplicate",
                    Fault::Reordered => "reorder",
                },
                describe::message(msg),
                the(*from)
            )],
            Reason::CrashesOff { party, kind } => vec![
                format!(
                    "{party} {} here, but the configuration lets no party crash (crashes: 0)",
                    if *kind == EventKind::Crash { "crashes" } else { "restarts" }
                ),
                "a log with crash and restart events is checked in a model where parties crash: pass --crashes N (N: the most parties down at once, at least 1)".to_string(),
            ],
            Reason::CannotCrash { party, crashable } => vec![format!(
                "{party} crashes here, but the model never crashes {}: {}",
                the(*party),
                if crashable.is_empty() {
                    "it crashes no party at all".to_string()
                } else {
                    format!(
                        "it crashes only {} (a crash of any other party is outside its boundary)",
                        crashable
                            .iter()
                            .map(|p| the(*p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )],
            Reason::TooManyDown {
                party,
                down,
                crashes,
            } => vec![format!(
                "{party} crashes here, but {} {} down already and the configuration lets at most {crashes} be down at once (--crashes {crashes})",
                down.iter().map(|p| the(*p)).collect::<Vec<_>>().join(", "),
                if down.len() == 1 { "is" } else { "are" }
            )],
            Reason::RestartWhileUp { party, restarted } => vec![format!(
                "{} restarts here, but the model has it running: it has not crashed {} (a party restarts only after a crash)",
                the(*party),
                match restarted {
                    Some(r) => format!("since its restart at {}", name(*r)),
                    None => "at all".to_string(),
                }
            )],
            Reason::WhileDown {
                party,
                kind,
                peer,
                msg,
                crash,
            } => {
                let down = format!(
                    "{party} crashed at {} and has not restarted since",
                    name(*crash)
                );
                let msg = msg.as_ref().map(describe::message).unwrap_or_default();
                let peer = peer.map(|p| p.to_string()).unwrap_or_default();
                vec![match kind {
                    EventKind::Deliver => format!(
                        "{party} cannot receive {msg} from {peer}: {down}; the model keeps messages to a crashed party in flight until it restarts"
                    ),
                    EventKind::Send => format!(
                        "{party} cannot send {msg} to {peer}: {down}, and a crashed party takes no step"
                    ),
                    EventKind::Choice => format!(
                        "{party} cannot choose here: {down}, and a crashed party takes no step"
                    ),
                    EventKind::Timeout => format!(
                        "no timer of {party} can fire: {down}; a crash cancels a party's timers and its restart re-arms them"
                    ),
                    EventKind::Crash => format!("{party} cannot crash again: {down}"),
                    _ => format!("{down}, and a crashed party takes no step"),
                }]
            }
        }
    }

    /// The party whose state the diagnosis is about.
    pub(super) fn party(&self) -> Option<Party> {
        match self {
            Reason::CrashesOff { party, .. }
            | Reason::CannotCrash { party, .. }
            | Reason::TooManyDown { party, .. }
            | Reason::RestartWhileUp { party, .. }
            | Reason::WhileDown { party, .. } => Some(*party),
            Reason::ChoiceNotOffered { party, .. }
            | Reason::NoTimerArmed { party, .. }
            | Reason::SendsNotLogged { party, .. }
            | Reason::NotSentByStep { party, .. } => Some(*party),
            Reason::BehindOnChannel { to, .. } | Reason::NotInFlight { to, .. } => Some(*to),
            Reason::NetworkCannot { .. } | Reason::FaultOfUnsent { .. } => None,
        }
    }
}

fn network_words(n: &Network) -> String {
    format!(
        "{}, {}, {}",
        match n.ordering {
            Ordering::Ordered => "ordered",
            Ordering::Unordered => "unordered",
        },
        if n.lossy { "lossy" } else { "lossless" },
        if n.duplicating {
            "duplicating"
        } else {
            "not duplicating"
        }
    )
}

/// Which fields of `state` keep `choice` from being offered: each leaf that differs from one of
/// the party's earlier states (`donors`, with the event after which it held) and that, set alone
/// to that earlier value, makes the choice offered. Sentences such as `devices[1].service is
/// "Spare"; the choice was offered when it was "Active" (after event 3)`.
pub(super) fn blocking_fields(
    actor: &PartyActor,
    state: &PartyState,
    donors: &[(String, PartyState)],
    choice: PartyChoice,
) -> Vec<String> {
    let Ok(now) = serde_json::to_value(state) else {
        return Vec::new();
    };
    let now_leaves = leaves(&now);
    let mut out: Vec<String> = Vec::new();
    for (when, donor) in donors.iter().rev() {
        let Ok(then) = serde_json::to_value(donor) else {
            continue;
        };
        for (path, value) in leaves(&then) {
            let current = now_leaves.get(&path);
            if current == Some(&value) {
                continue;
            }
            let mut tried = now.clone();
            if !set(&mut tried, &path, value.clone()) {
                continue;
            }
            let Ok(candidate) = serde_json::from_value::<PartyState>(tried) else {
                continue;
            };
            if actor.choices(&candidate).contains(&choice) {
                let line = format!(
                    "{} is {}; the choice is offered when it is {} (as {when})",
                    show_path(&path),
                    current.map_or("absent".into(), show),
                    show(&value)
                );
                if !out.iter().any(|l| l.starts_with(&show_path(&path))) {
                    out.push(line);
                }
            }
        }
        if out.len() >= 3 {
            break;
        }
    }
    out
}

/// A path into a JSON value: object keys and array indices.
type JsonPath = Vec<Seg>;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

fn leaves(v: &Value) -> BTreeMap<JsonPath, Value> {
    fn walk(v: &Value, path: &mut JsonPath, out: &mut BTreeMap<JsonPath, Value>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, x) in o {
                    path.push(Seg::Key(k.clone()));
                    walk(x, path, out);
                    path.pop();
                }
            }
            Value::Array(a) if !a.is_empty() => {
                // The whole list is a leaf too (a list that grew or shrank).
                out.insert(path.clone(), v.clone());
                for (i, x) in a.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(x, path, out);
                    path.pop();
                }
            }
            other => {
                out.insert(path.clone(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn set(v: &mut Value, path: &[Seg], value: Value) -> bool {
    let Some((first, rest)) = path.split_first() else {
        *v = value;
        return true;
    };
    let child = match (first, v) {
        (Seg::Key(k), Value::Object(o)) => o.get_mut(k),
        (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
        _ => None,
    };
    child.is_some_and(|c| set(c, rest, value))
}

fn show_path(path: &[Seg]) -> String {
    let mut s = String::new();
    // The first key is the party's variant (`Applicant`, `Se`): not a field.
    for seg in path.iter().skip(1) {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if s.is_empty() {
        "the state".into()
    } else {
        s
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        other => {
            let s = other.to_string();
            match s.char_indices().nth(80) {
                Some((cut, _)) => format!("{}…", &s[..cut]),
                None => s,
            }
        }
    }
}

/// What a step changed in a party's state, as the describer's lines: `- old line`, `+ new line`.
pub(super) fn line_changes(before: &PartyState, after: &PartyState) -> Vec<String> {
    let (b, a) = (describe::party_state(before), describe::party_state(after));
    let old: Vec<&str> = b.lines().collect();
    let new: Vec<&str> = a.lines().collect();
    let mut out: Vec<String> = old
        .iter()
        .filter(|l| !new.contains(l))
        .map(|l| format!("- {}", l.trim()))
        .collect();
    out.extend(
        new.iter()
            .filter(|l| !old.contains(l))
            .map(|l| format!("+ {}", l.trim())),
    );
    out
}

/// The event's JSON without its numbering, time and evidence (what a diff compares).
fn comparable(e: &Event) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.remove("seq");
        o.remove("ts");
        o.remove("evidence");
    }
    v
}

/// The allowed event nearest to `event`, with the fields that differ: an event of the same kind
/// by the same party, or the same message or choice by another (none otherwise: a diff would
/// compare unrelated events). Messages or choices of different kinds, and the peers, differ in
/// words (`message: recorded Apply(…), allowed Authenticate(…)`); fields of the same kind
/// field by field (`msg.StoreData.cert.serial: recorded 4, allowed 3`).
pub(super) fn nearest(event: &Event, allowed: &[Event]) -> Option<Nearest> {
    allowed
        .iter()
        .filter(|a| {
            a.kind == event.kind
                && (a.party == event.party
                    || (a.msg.is_some() && a.msg == event.msg)
                    || (a.choice.is_some() && a.choice == event.choice))
        })
        .map(|a| {
            let (diff, other_kind) = differences(event, a);
            let penalty = usize::from(a.party != event.party) * 10
                + usize::from(a.peer != event.peer) * 5
                + usize::from(other_kind) * 3;
            (penalty + diff.len(), a, diff)
        })
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, a, diff)| Nearest {
            event: describe_event(a),
            diff,
        })
}

/// The lines that tell `recorded` from `allowed`, and whether their message or choice is of
/// another kind.
fn differences(recorded: &Event, allowed: &Event) -> (Vec<String>, bool) {
    let mut words = Vec::new();
    let (mut r, mut a) = (comparable(recorded), comparable(allowed));
    let mut drop = |field: &str| {
        for v in [&mut r, &mut a] {
            if let Value::Object(o) = v {
                o.remove(field);
            }
        }
    };
    if recorded.peer != allowed.peer {
        let name = |p: Option<Party>| p.map_or_else(|| "none".to_string(), |p| p.to_string());
        words.push(format!(
            "peer: recorded {}, allowed {}",
            name(recorded.peer),
            name(allowed.peer)
        ));
    }
    drop("peer");
    let mut other_kind = false;
    if let (Some(rm), Some(am)) = (&recorded.msg, &allowed.msg) {
        if variant(rm) != variant(am) {
            other_kind = true;
            words.push(format!(
                "message: recorded {}, allowed {}",
                describe::message(rm),
                describe::message(am)
            ));
            drop("msg");
        }
    }
    if let (Some(rc), Some(ac)) = (&recorded.choice, &allowed.choice) {
        if variant(rc) != variant(ac) {
            other_kind = true;
            words.push(format!(
                "choice: recorded {}, allowed {}",
                describe::choice(rc),
                describe::choice(ac)
            ));
            drop("choice");
        }
    }
    let fields = value_changes(&r, &a)
        .into_iter()
        .map(|d| match d.split_once(": ") {
            Some((path, change)) => match change.split_once(" → ") {
                Some((old, new)) => format!("{path}: recorded {old}, allowed {new}"),
                None => d.clone(),
            },
            None => d.clone(),
        });
    (fields.chain(words).collect(), other_kind)
}

/// The enum variant names down a value's single-key wrappers (`Applicant/Login`, `StoreData`):
/// what makes two messages or choices of the same kind. Variants are CamelCase in the model's
/// JSON, fields snake_case: the walk stops at the first field.
fn variant(v: &impl serde::Serialize) -> Vec<String> {
    let is_variant = |k: &str| k.starts_with(|c: char| c.is_ascii_uppercase());
    let mut names = Vec::new();
    let mut at = serde_json::to_value(v).unwrap_or(Value::Null);
    while let Value::Object(o) = at {
        let mut entries = o.into_iter();
        match (entries.next(), entries.next()) {
            (Some((k, inner)), None) if is_variant(&k) => {
                names.push(k);
                at = inner;
            }
            _ => return names,
        }
    }
    if let Value::String(s) = at {
        if is_variant(&s) {
            names.push(s);
        }
    }
    names
}

/// One line for an event, in words: "SP-TSM sends IssueCert(…) to CA", "CA receives IssueCert(…)
/// from SP-TSM", "Applicant 0 chooses: Apply on SE 0", "the network loses …".
pub fn describe_event(e: &Event) -> String {
    let msg = e.msg.as_ref().map(describe::message).unwrap_or_default();
    let peer = e.peer.map(|p| p.to_string()).unwrap_or_default();
    match e.kind {
        EventKind::Send => format!("{} sends {msg} to {peer}", e.party),
        EventKind::Deliver => format!("{} receives {msg} from {peer}", e.party),
        EventKind::Choice => format!(
            "{} chooses: {}",
            e.party,
            e.choice.as_ref().map(describe::choice).unwrap_or_default()
        ),
        EventKind::Timeout => format!("a timer of {} fires", e.party),
        EventKind::Crash => format!("{} crashes", e.party),
        EventKind::Restart => format!("{} restarts from its database", e.party),
        EventKind::Fault => format!(
            "the network {} {msg} from {} to {peer}",
            match e.fault {
                Some(Fault::Lost) => "loses",
                Some(Fault::Duplicated) => "duplicates",
                Some(Fault::Reordered) => "reorders",
                None => "?",
            },
            e.party
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        serde_json::from_str(json).expect("an event")
    }

    const APPLY: &str = r#"{"seq":2,"kind":"send","party":{"Applicant":0},"peer":"SpTsm","msg":{"Apply":{"person":0,"se":0,"app":0,"card_cert":{"serial":1,"subject":{"Card":{"person":0,"gen":0}},"key":{"Card":{"person":0,"gen":0}}},"sig":{"signer":{"Card":{"person":0,"gen":0}},"digest":{"Application":{"person":0,"se":0,"app":0,"card":1}}}}}}"#;
    const AUTHENTICATE: &str = r#"{"seq":2,"kind":"send","party":{"Applicant":0},"peer":{"Se":0},"msg":{"Authenticate":{"login":{"person":0,"n":0},"pin_correct":true}}}"#;

    #[test]
    fn messages_of_another_kind_differ_in_words_not_json() {
        let n = nearest(&event(APPLY), &[event(AUTHENTICATE)]).expect("same party, same kind");
        assert_eq!(
            n.diff,
            vec![
                "peer: recorded SP-TSM, allowed SE 0".to_string(),
                "message: recorded Apply(person 0, SE 0, app 0, card serial 1), allowed Authenticate(login 0.0, right PIN)".to_string(),
            ]
        );
    }

    #[test]
    fn messages_of_one_kind_differ_field_by_field() {
        let other = APPLY.replace(r#""app":0,"card_cert""#, r#""app":1,"card_cert""#);
        let n = nearest(&event(APPLY), &[event(AUTHENTICATE), event(&other)]).expect("nearest");
        assert_eq!(
            n.diff,
            vec!["msg.Apply.app: recorded 0, allowed 1".to_string()]
        );
    }
}
