//! The JSON Schema stays in step with the format. No JSON Schema validator crate is in the
//! dependency tree (the `jsonschema` crate was not available offline), so this test does not
//! validate in general: it checks that the schema is JSON, that the enumerations it lists are
//! exactly the format's (read from the schema file), and that every golden line uses only the
//! properties the schema allows and has the ones it requires. (The goldens were also validated
//! with Python's jsonschema 4.26, Draft 2020-12, when they were made; see docs/trace-format.md.)

use serde_json::Value;
use std::collections::BTreeSet;

fn schema() -> Value {
    let text = include_str!("../schema/jpkisim-trace-v1.schema.json");
    serde_json::from_str(text).expect("the schema is JSON")
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn def<'a>(s: &'a Value, name: &str) -> &'a Value {
    &s["$defs"][name]
}

#[test]
fn enumerations_match_the_format() {
    let s = schema();
    let kinds = strings(&def(&s, "event")["properties"]["kind"]["enum"]);
    let want: BTreeSet<String> = [
        "send", "deliver", "timeout", "choice", "fault", "crash", "restart",
    ]
    .iter()
    .map(|k| {
        let kind: jpkisim_traces::EventKind =
            serde_json::from_value(Value::String(k.to_string())).expect("a kind");
        serde_json::to_value(kind)
            .expect("json")
            .as_str()
            .expect("str")
            .to_string()
    })
    .collect();
    assert_eq!(kinds, want);
    for f in strings(&def(&s, "event")["properties"]["fault"]["enum"]) {
        serde_json::from_value::<jpkisim_traces::Fault>(Value::String(f.clone()))
            .unwrap_or_else(|e| panic!("fault {f}: {e}"));
    }
    // Every message variant name in the schema is one the model reads.
    let unit = strings(&def(&s, "msg")["oneOf"][0]["enum"]);
    for m in &unit {
        serde_json::from_value::<jpkisim_model::msg::Msg>(Value::String(m.clone()))
            .unwrap_or_else(|e| panic!("unit message {m}: {e}"));
    }
    let tagged = strings(&def(&s, "msg")["oneOf"][1]["propertyNames"]["enum"]);
    assert_eq!(unit.len() + tagged.len(), 31, "Msg has 31 variants");
    // The configuration's named sets list exactly the model's names.
    let config = &def(&s, "config")["properties"];
    let named = |v: &Value| strings(&v["oneOf"][0]["items"]["enum"]);
    let ids = |v: Vec<Value>| -> BTreeSet<String> {
        v.into_iter()
            .map(|v| v.as_str().expect("a name").to_string())
            .collect()
    };
    let flaws = jpkisim_model::config::Flaw::ALL.map(|f| serde_json::to_value(f).expect("json"));
    assert_eq!(named(&config["flaws"]), ids(flaws.to_vec()), "flaw ids");
    let roles = jpkisim_model::config::Role::ALL.map(|r| serde_json::to_value(r).expect("json"));
    assert_eq!(
        named(&config["compromised"]),
        ids(roles.to_vec()),
        "role names"
    );
}

fn check_object(line: &Value, def: &Value, what: &str) {
    let obj = line
        .as_object()
        .unwrap_or_else(|| panic!("{what}: an object"));
    let props = def["properties"].as_object().expect("properties");
    for k in obj.keys() {
        assert!(
            props.contains_key(k),
            "{what}: property {k} not in the schema"
        );
    }
    for r in strings(&def["required"]) {
        assert!(obj.contains_key(&r), "{what}: required {r} missing");
    }
}

#[test]
fn goldens_use_the_schema_properties() {
    let s = schema();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("recorded");
    let mut lines = 0;
    for entry in std::fs::read_dir(dir).expect("recorded/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "ndjson") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("reads");
        for (i, l) in text.lines().enumerate() {
            let v: Value = serde_json::from_str(l).expect("json line");
            let what = format!("{}:{}", path.display(), i + 1);
            if i == 0 {
                check_object(&v, def(&s, "header"), &what);
                check_object(&v["config"], def(&s, "config"), &what);
            } else {
                check_object(&v, def(&s, "event"), &what);
            }
            lines += 1;
        }
    }
    assert!(lines > 100);
}

/// Full JSON Schema validation of every golden line, by Python's `jsonschema` (Draft 2020-12)
/// where it is installed; the Rust suite has no validator crate offline, so this skips, saying
/// so, elsewhere.
#[test]
fn goldens_validate_against_the_schema_with_python_jsonschema() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = r#"
import glob, json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema)
n = 0
for f in sorted(glob.glob(sys.argv[2] + '/*.ndjson')):
    for i, line in enumerate(open(f), 1):
        errors = list(v.iter_errors(json.loads(line)))
        if errors:
            print(f'{f}:{i}: {errors[0].message[:300]}')
            sys.exit(1)
        n += 1
print(f'{n} lines valid')
"#;
    let have = std::process::Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("skipping: python3 with the jsonschema module is not installed");
        return;
    }
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("schema/jpkisim-trace-v1.schema.json"))
        .arg(dir.join("recorded"))
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("lines valid"), "{text}");
}
