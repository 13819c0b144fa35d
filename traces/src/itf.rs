//! jpkisim traces as ITF, and ITF traces as jpkisim traces.
//!
//! Written: one ITF state per event, with the variable `event` (the event in ITF values) and
//! `mbt::actionTaken` (the event, readable); `#meta` carries the format, version, configuration
//! and observed parties. Read: that form back, or a *model path* in ITF (as `jpkisim check
//! --trace-out` writes, steps in `mbt::actionTaken`), which is replayed through the model and
//! turned into the events a fully observed system would log.

use crate::conform::describe_event;
use crate::format::{Event, Header, FORMAT, VERSION};
use crate::generate::events_of_path;
use crate::itf_value::{decode, encode, read};
use jpkisim_model::ids::Party;
use jpkisim_model::path::{replay, Path};
use jpkisim_model::{Config, Topology};
use serde_json::{json, Value};

/// The ITF document of a trace.
pub fn write(header: &Header, events: &[Event]) -> Value {
    let config = serde_json::to_value(header.config).unwrap_or(Value::Null);
    let observed = serde_json::to_value(&header.observed).unwrap_or(Value::Null);
    let mut states = vec![json!({
        "#meta": { "index": 0 },
        "event": "None",
        "mbt::actionTaken": "init",
    })];
    for (i, e) in events.iter().enumerate() {
        let ev = serde_json::to_value(e).unwrap_or(Value::Null);
        states.push(json!({
            "#meta": { "index": i + 1 },
            "event": encode(&ev),
            "mbt::actionTaken": describe_event(e),
        }));
    }
    json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": header.source.clone().unwrap_or_else(|| "jpkisim".into()),
            "trace-format": FORMAT,
            // Strings: tools such as the itf crate read `#meta` values as strings only (the
            // reader here takes either).
            "trace-version": VERSION.to_string(),
            "config": config.to_string(),
            "observed": observed.to_string(),
        },
        "vars": ["event", "mbt::actionTaken"],
        "states": states,
    })
}

/// Reads an ITF document as a jpkisim trace. `config` is used when the document carries none.
pub fn read_trace(value: &Value, config: Option<Config>) -> Result<(Header, Vec<Event>), String> {
    let itf = read(value).map_err(|e| e.to_string())?;
    let config = match itf.meta_json("config") {
        Some(c) => serde_json::from_value::<Config>(c)
            .map_err(|e| format!("ITF #meta.config is not a configuration: {e}"))?,
        None => config.ok_or(
            "the ITF trace has no #meta.config; give the configuration's flags on the command line",
        )?,
    };
    config.validate().map_err(|e| e.to_string())?;
    let all = Topology::of(&config).parties();
    let has_events = itf.states.iter().skip(1).any(|s| s.contains_key("event"));
    if has_events {
        let observed: Vec<Party> = match itf.meta_json("observed") {
            Some(o) => serde_json::from_value(o)
                .map_err(|e| format!("ITF #meta.observed is not a list of parties: {e}"))?,
            None => all,
        };
        let events = itf
            .states
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, s)| {
                let e = s
                    .get("event")
                    .ok_or_else(|| format!("ITF state {i} has no \"event\""))?;
                serde_json::from_value::<Event>(decode(e))
                    .map_err(|err| format!("ITF state {i}: field `event`: {err}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((Header::new(config, observed).with_source("ITF"), events));
    }
    // A model path: replay its readable steps.
    let steps = itf.steps().map_err(|e| e.to_string())?;
    let model = jpkisim_model::build(config).map_err(|e| e.to_string())?;
    let indices = replay(&model, &steps)
        .map_err(|e| format!("the ITF path is not a path of the model: {e}"))?;
    let Path { actions, .. } = Path::follow(&model, &indices);
    if actions.len() != indices.len() {
        return Err("replayed step out of range".into());
    }
    let mut events = events_of_path(&model, &actions);
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    Ok((
        Header::new(config, all).with_source("ITF model path"),
        events,
    ))
}
