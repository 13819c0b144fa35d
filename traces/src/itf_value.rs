//! ITF, the Informal Trace Format of Apalache and Quint: the value encoding shared by every
//! ITF this workspace writes (counterexamples, recorded traces), a lenient reader, and the
//! readable steps of a model path written as ITF or as a JSON array.
//!
//! Writing follows the format strictly: integers as `{"#bigint": "n"}`, enum variants with data
//! as Quint-style `{"tag", "value"}` records, variants without data as their name, no `null`.
//! Reading is lenient, because ITF comes from other tools too: `#meta` may be absent and its
//! values may be of any type, integers may be `#bigint` or plain numbers, and `#tup`/`#set`
//! become plain lists.

use serde_json::{json, Map, Value};

/// Converts serde's JSON for our types into an ITF value.
pub fn encode(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!({ "#bigint": n.to_string() }),
        Value::Array(items) => Value::Array(items.iter().map(encode).collect()),
        Value::Object(o)
            if o.len() == 1
                && o.keys()
                    .all(|k| k.chars().next().is_some_and(char::is_uppercase)) =>
        {
            let (tag, inner) = o
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), encode(v)))
                .unwrap_or_default();
            json!({ "tag": tag, "value": inner })
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), encode(v))).collect()),
        // ITF has no null. A variant without payload is written as its name (a plain string), not
        // as Quint's `{"tag", "value": {"#tup": []}}`: the itf crate (0.4) rejects empty tuples and
        // records. An absent optional value is likewise the string "None".
        Value::Null => Value::String("None".into()),
        other => other.clone(),
    }
}

/// Converts an ITF value back into serde's JSON for our types (the inverse of [`encode`],
/// accepting the other spellings ITF allows).
pub fn decode(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("#bigint") => match &o["#bigint"] {
            Value::String(s) => s
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| s.parse::<u64>().map(Value::from))
                .unwrap_or_else(|_| Value::String(s.clone())),
            other => other.clone(),
        },
        Value::Object(o) if o.len() == 1 && (o.contains_key("#tup") || o.contains_key("#set")) => {
            o.values().next().map(decode).unwrap_or(Value::Null)
        }
        Value::Object(o) if o.len() == 2 && o.contains_key("tag") && o.contains_key("value") => {
            let tag = o["tag"].as_str().unwrap_or_default().to_string();
            match &o["value"] {
                Value::Object(t)
                    if t.len() == 1 && t.get("#tup").is_some_and(|x| x == &json!([])) =>
                {
                    Value::String(tag)
                }
                inner => {
                    let mut m = Map::new();
                    m.insert(tag, decode(inner));
                    Value::Object(m)
                }
            }
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), decode(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(decode).collect()),
        Value::String(s) if s == "None" => Value::Null,
        other => other.clone(),
    }
}

/// An ITF trace as read: its `#meta` (empty if absent) and its states.
#[derive(Clone, Debug, PartialEq)]
pub struct Itf {
    /// The trace's `#meta` object, values of any type.
    pub meta: Map<String, Value>,
    /// The states, as written (decode values with [`decode`]).
    pub states: Vec<Map<String, Value>>,
}

impl Itf {
    /// A `#meta` entry that is a JSON document: either the object itself or a string holding it
    /// (`check --trace-out` writes the configuration as a string).
    pub fn meta_json(&self, key: &str) -> Option<Value> {
        match self.meta.get(key)? {
            Value::String(s) => serde_json::from_str(s).ok(),
            other => Some(decode(other)),
        }
    }
}

/// Why a JSON document is not an ITF trace (or not a list of readable steps).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ItfError {
    /// The document is not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The top level is not an object.
    #[error("an ITF trace is a JSON object")]
    NotAnObject,
    /// `#meta` is present but not an object.
    #[error("ITF \"#meta\" is not an object")]
    MetaNotAnObject,
    /// There is no `states` array.
    #[error("an ITF trace has a \"states\" array")]
    NoStates,
    /// The `states` array is empty: an ITF trace starts with its initial state.
    #[error("the ITF \"states\" array is empty (an ITF trace has at least its initial state)")]
    EmptyStates,
    /// A state is not an object.
    #[error("ITF state {0} is not an object")]
    StateNotAnObject(usize),
    /// A state after the first names no step that led to it.
    #[error("ITF state {0} has no string \"mbt::actionTaken\" (the step that led to it)")]
    NoActionTaken(usize),
    /// An item of a JSON array of steps is not a string.
    #[error("item {0} of the array is not a string (a trace is a list of readable steps)")]
    StepNotAString(usize),
    /// The document is neither an array of steps nor an ITF object.
    #[error("a trace is a JSON array of readable steps or an ITF object")]
    NotATrace,
}

/// Reads an ITF document: an object with a non-empty `states` array of objects.
pub fn read(value: &Value) -> Result<Itf, ItfError> {
    let obj = value.as_object().ok_or(ItfError::NotAnObject)?;
    let meta = match obj.get("#meta") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ItfError::MetaNotAnObject),
    };
    let states = obj
        .get("states")
        .and_then(Value::as_array)
        .ok_or(ItfError::NoStates)?
        .iter()
        .enumerate()
        .map(|(i, s)| s.as_object().cloned().ok_or(ItfError::StateNotAnObject(i)))
        .collect::<Result<Vec<_>, _>>()?;
    if states.is_empty() {
        return Err(ItfError::EmptyStates);
    }
    Ok(Itf { meta, states })
}

impl Itf {
    /// The readable steps of a model path: `mbt::actionTaken` of every state after the first.
    pub fn steps(&self) -> Result<Vec<String>, ItfError> {
        self.states
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, s)| {
                s.get("mbt::actionTaken")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or(ItfError::NoActionTaken(i))
            })
            .collect()
    }
}

/// The readable steps of a trace file's text: either a JSON array of step strings, or an ITF
/// trace (`{"states": [...]}`) whose states after the first carry the step that led to them in
/// `mbt::actionTaken`.
pub fn steps_from_json(text: &str) -> Result<Vec<String>, ItfError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ItfError::NotJson(e.to_string()))?;
    match &value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(ItfError::StepNotAString(i + 1))
            })
            .collect(),
        Value::Object(_) => read(&value)?.steps(),
        _ => Err(ItfError::NotATrace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_inverts_encoding_and_accepts_the_other_spellings() {
        let v = json!({"IssueCert": {"person": 0, "supersedes": null, "ids": [1, 2]}, "x": "Ca"});
        assert_eq!(decode(&encode(&v)), v);
        assert_eq!(decode(&json!(7)), json!(7));
        assert_eq!(decode(&json!({"#bigint": "7"})), json!(7));
        assert_eq!(
            decode(&json!({"#tup": [{"#bigint": "1"}, 2]})),
            json!([1, 2])
        );
        assert_eq!(
            decode(&json!({"tag": "Ca", "value": {"#tup": []}})),
            json!("Ca")
        );
    }

    #[test]
    fn meta_is_optional_and_its_values_may_be_of_any_type() {
        let t = read(&json!({"states": [{}]})).expect("no meta");
        assert!(t.meta.is_empty());
        let t = read(
            &json!({"#meta": {"index": 3, "config": {"persons": {"#bigint": "1"}}}, "states": [{}]}),
        )
        .expect("non-string meta");
        assert_eq!(t.meta_json("config"), Some(json!({"persons": 1})));
        assert!(read(&json!([1])).is_err());
        assert!(read(&json!({"states": [1]})).is_err());
        assert_eq!(
            read(&json!({"#meta": {}, "states": []})),
            Err(ItfError::EmptyStates),
            "an ITF trace without its initial state is bad input"
        );
    }

    #[test]
    fn steps_are_read_from_a_json_array_or_itf() {
        let arr = steps_from_json(r#"["a", "b"]"#).expect("array");
        assert_eq!(arr, vec!["a", "b"]);
        let itf = steps_from_json(
            r#"{"vars": [], "states": [{"mbt::actionTaken": "init"}, {"mbt::actionTaken": "a"}]}"#,
        )
        .expect("itf");
        assert_eq!(itf, vec!["a"]);
        assert_eq!(steps_from_json("[1]"), Err(ItfError::StepNotAString(1)));
        assert_eq!(
            steps_from_json(r#"{"states": [{}, {}]}"#),
            Err(ItfError::NoActionTaken(1))
        );
    }
}
