//! What changed between two states, leaf by leaf, as `path: old → new` lines: the "changes" under
//! each step of a counterexample and the field diff of a diverging trace event.
//!
//! It works on the serde JSON of the model's types, so it names fields exactly as traces and ITF
//! spell them. It is not a structural diff of arbitrary JSON: lists are compared position by
//! position (or as an append), and values are cut at 120 characters for one-line display.

use jpkisim_model::PartyState;
use serde_json::Value;

/// Changed leaves of a party's state, as `path: old → new`.
pub fn state_changes(before: &PartyState, after: &PartyState) -> Vec<String> {
    let (Ok(b), Ok(a)) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    diff("", &b, &a, &mut out);
    out
}

/// The changed leaves between two JSON values, as `path: old → new` (`none` for an absent or
/// null value). The trace checker uses it for the field-by-field diff of a diverging event.
pub fn value_changes(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", before, after, &mut out);
    out
}

/// A value on one line, cut at 120 characters (the ITF export keeps whole states).
fn compact(v: &Value) -> String {
    let s = match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match s.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s,
    }
}

fn diff(path: &str, b: &Value, a: &Value, out: &mut Vec<String>) {
    if b == a {
        return;
    }
    match (b, a) {
        (Value::Object(bo), Value::Object(ao))
            if bo.len() == 1 && ao.len() == 1 && bo.keys().eq(ao.keys()) =>
        {
            // A single-variant wrapper (the party's enum): descend without naming it.
            let (k, bv) = bo
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v))
                .unwrap_or_default();
            let av = &ao[&k];
            let p = if path.is_empty() {
                String::new()
            } else {
                format!("{path}.{k}")
            };
            diff(&p, bv, av, out);
        }
        (Value::Object(bo), Value::Object(ao)) => {
            for (k, bv) in bo {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match ao.get(k) {
                    Some(av) => diff(&p, bv, av, out),
                    None => out.push(format!("{p}: {} → none", compact(bv))),
                }
            }
            for (k, av) in ao.iter().filter(|(k, _)| !bo.contains_key(*k)) {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.push(format!("{p}: none → {}", compact(av)));
            }
        }
        (Value::Array(ba), Value::Array(aa)) if ba.len() == aa.len() => {
            for (i, (bv, av)) in ba.iter().zip(aa).enumerate() {
                diff(&format!("{path}[{i}]"), bv, av, out);
            }
        }
        (Value::Array(ba), Value::Array(aa)) if aa.len() > ba.len() && aa.starts_with(ba) => {
            for (i, av) in aa.iter().enumerate().skip(ba.len()) {
                out.push(format!("{path}[{i}] added: {}", compact(av)));
            }
        }
        _ => out.push(format!(
            "{}: {} → {}",
            if path.is_empty() { "state" } else { path },
            compact(b),
            compact(a)
        )),
    }
}
