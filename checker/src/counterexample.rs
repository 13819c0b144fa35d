//! A path through the model that violates (or witnesses) a property, and the ways we show it: a
//! numbered list of protocol steps with the state each step changed, a Mermaid sequence diagram,
//! and an ITF trace (the Informal Trace Format of Apalache and Quint) that other tools can read.

use jpkisim_model::describe;
use jpkisim_model::path::{explorer_path, Path};
use jpkisim_model::world::envelopes;
use jpkisim_model::{Config, JpkiAction, JpkiModel, JpkiState, Topology, World};
use jpkisim_properties::catalogue::{Kind, PropertyDef};
use jpkisim_traces::diff::state_changes;
use jpkisim_traces::itf_value::encode;
use serde_json::{json, Map, Value};
use stateright::actor::ActorModelAction;

/// A path from the initial state: `states[0]` is initial, `states[i + 1]` follows `actions[i]`.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The property it violates (or witnesses).
    pub property: &'static PropertyDef,
    /// The configuration it is a path of.
    pub config: Config,
    /// The steps.
    pub actions: Vec<JpkiAction>,
    /// The states along the way.
    pub states: Vec<JpkiState>,
    /// The index of each step among the actions enabled before it (Stateright's path encoding,
    /// as used in the Explorer's `#/steps/...` URLs).
    pub indices: Vec<usize>,
}

/// One step, readable.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StepView {
    /// 1-based step number.
    pub n: usize,
    /// The party that acted (or "network").
    pub actor: String,
    /// What happened, as a protocol step.
    pub action: String,
    /// What changed in the acting party's state, one `field: old → new` per entry.
    pub changes: Vec<String>,
    /// The messages the step put in flight, `sender → addressee: message`: a violation that lies
    /// in a message (a key sent out of the SE) shows in its last step's sends, not in any state.
    pub sends: Vec<String>,
}

impl Counterexample {
    /// Rebuilds a path from action indices (as produced by the search).
    pub fn replay(
        model: &JpkiModel,
        config: Config,
        property: &'static PropertyDef,
        indices: &[usize],
    ) -> Counterexample {
        let Path {
            actions,
            states,
            indices,
        } = Path::follow(model, indices);
        Counterexample {
            property,
            config,
            indices,
            actions,
            states,
        }
    }

    /// The path as the Explorer encodes it in `#/steps/<path>`: the initial state's index, then
    /// each step's index among the enabled actions.
    pub fn explorer_path(&self) -> String {
        explorer_path(&self.indices)
    }

    /// Number of steps.
    pub fn depth(&self) -> usize {
        self.actions.len()
    }

    /// The steps, readable.
    pub fn steps(&self) -> Vec<StepView> {
        let topo = Topology::of(&self.config);
        self.actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let actor_ix = match a {
                    ActorModelAction::Deliver { dst, .. } => Some(*dst),
                    ActorModelAction::SelectRandom { actor, .. } => Some(*actor),
                    ActorModelAction::Timeout(id, _)
                    | ActorModelAction::Crash(id)
                    | ActorModelAction::Recover(id) => Some(*id),
                    ActorModelAction::Drop(_) => None,
                };
                let (actor, changes) = match actor_ix {
                    Some(id) => {
                        let ix = usize::from(id);
                        let before = &self.states[i].actor_states[ix];
                        let after = &self.states[i + 1].actor_states[ix];
                        (topo.party(id).to_string(), state_changes(before, after))
                    }
                    None => ("network".to_string(), Vec::new()),
                };
                StepView {
                    n: i + 1,
                    actor,
                    action: describe::action(&topo, a),
                    changes,
                    sends: sent(&topo, &self.states[i], &self.states[i + 1]),
                }
            })
            .collect()
    }

    /// Numbered steps, each followed by what it changed.
    pub fn text(&self) -> String {
        let verb = match self.property.kind {
            Kind::Always => "violated",
            Kind::Sometimes => "witnessed",
        };
        let mut out = format!(
            "{} {} in {} steps (shortest):\n",
            self.property.id,
            verb,
            self.depth()
        );
        for s in self.steps() {
            out.push_str(&format!("{:>3}. {}\n", s.n, s.action));
            for c in &s.changes {
                out.push_str(&format!("       {}: {}\n", s.actor, c));
            }
            for m in &s.sends {
                out.push_str(&format!("       sends {m}\n"));
            }
        }
        out
    }

    /// A Mermaid sequence diagram of the path.
    pub fn mermaid(&self) -> String {
        let topo = Topology::of(&self.config);
        let alias = |p: jpkisim_model::ids::Party| p.to_string().replace([' ', '-'], "_");
        let mut out = String::from("sequenceDiagram\n");
        for p in topo.parties() {
            out.push_str(&format!("    participant {} as {}\n", alias(p), p));
        }
        for a in &self.actions {
            match a {
                ActorModelAction::Deliver { src, dst, msg } => out.push_str(&format!(
                    "    {}->>{}: {}\n",
                    alias(topo.party(*src)),
                    alias(topo.party(*dst)),
                    mermaid_text(&describe::message(msg))
                )),
                ActorModelAction::Drop(env) => out.push_str(&format!(
                    "    {}--x{}: lost {}\n",
                    alias(topo.party(env.src)),
                    alias(topo.party(env.dst)),
                    mermaid_text(&describe::message(&env.msg))
                )),
                ActorModelAction::SelectRandom { actor, random, .. } => out.push_str(&format!(
                    "    Note over {}: {}\n",
                    alias(topo.party(*actor)),
                    mermaid_text(&describe::choice(random))
                )),
                other => out.push_str(&format!(
                    "    Note over CA: {}\n",
                    mermaid_text(&describe::action(&topo, other))
                )),
            }
        }
        out.push_str(&format!(
            "    Note over CA: {} {}\n",
            self.property.id,
            match self.property.kind {
                Kind::Always => "violated",
                Kind::Sometimes => "witnessed",
            }
        ));
        out
    }

    /// The path as an ITF trace: one state per step, each with `mbt::actionTaken` naming the step
    /// that led to it (`init` for the first). Values follow ITF: integers as `#bigint`, enum
    /// variants with data as Quint-style `{"tag", "value"}` records, variants without data as their
    /// name, lists as sequences, the messages in flight as a `#set`.
    pub fn itf(&self) -> Value {
        let topo = Topology::of(&self.config);
        let vars = [
            "ca",
            "sp_tsm",
            "se_tsm",
            "rp",
            "applicants",
            "ses",
            "in_flight",
            "mbt::actionTaken",
        ];
        let states: Vec<Value> = self
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let action = if i == 0 {
                    "init".to_string()
                } else {
                    describe::action(&topo, &self.actions[i - 1])
                };
                let mut state = itf_state(s);
                state.insert("#meta".into(), json!({ "index": i }));
                state.insert("mbt::actionTaken".into(), Value::String(action));
                Value::Object(state)
            })
            .collect();
        json!({
            "#meta": {
                "format": "ITF",
                "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
                "source": "jpkisim",
                "description": format!("{} {}: shortest path of {} steps", self.property.id,
                    match self.property.kind { Kind::Always => "violated", Kind::Sometimes => "witnessed" }, self.depth()),
                "property": self.property.id,
                "config": serde_json::to_string(&self.config).unwrap_or_default(),
            },
            "vars": vars,
            "states": states,
        })
    }
}

/// The messages in flight after a step that were not before it (counted: a message sent again
/// while an equal one is in flight shows too), described as `sender → addressee: message`.
fn sent(topo: &Topology, before: &JpkiState, after: &JpkiState) -> Vec<String> {
    let mut was: Vec<_> = envelopes(&before.network).collect();
    envelopes(&after.network)
        .filter(|e| match was.iter().position(|w| w == e) {
            Some(i) => {
                was.swap_remove(i);
                false
            }
            None => true,
        })
        .map(|e| {
            format!(
                "{} → {}: {}",
                topo.party(e.src),
                topo.party(e.dst),
                describe::message(e.msg)
            )
        })
        .collect()
}

fn mermaid_text(s: &str) -> String {
    // Mermaid ends a message at ';' and treats '#' as an entity start.
    s.replace(';', ",").replace('#', "no.")
}

fn itf_state(s: &JpkiState) -> Map<String, Value> {
    let mut m = Map::new();
    let Some(w) = World::of(s) else { return m };
    let enc = |v: Result<Value, serde_json::Error>| v.map(|v| encode(&v)).unwrap_or(Value::Null);
    m.insert("ca".into(), enc(serde_json::to_value(w.ca)));
    m.insert("sp_tsm".into(), enc(serde_json::to_value(w.sp_tsm)));
    m.insert("se_tsm".into(), enc(serde_json::to_value(w.se_tsm)));
    m.insert("rp".into(), enc(serde_json::to_value(w.rp)));
    m.insert(
        "applicants".into(),
        enc(serde_json::to_value(w.applicants().collect::<Vec<_>>())),
    );
    m.insert(
        "ses".into(),
        enc(serde_json::to_value(w.ses().collect::<Vec<_>>())),
    );
    let mut msgs: Vec<Value> = envelopes(&s.network)
        .map(|e| {
            let topo_less = json!({ "src": usize::from(e.src), "dst": usize::from(e.dst), "msg": serde_json::to_value(e.msg).unwrap_or(Value::Null) });
            encode(&topo_less)
        })
        .collect();
    msgs.sort_by_key(|v| v.to_string());
    m.insert("in_flight".into(), json!({ "#set": msgs }));
    m
}
