//! The one way every vector test compares what the code computes with its JSON file:
//! `VROOM_WRITE_VECTORS=1` writes the file first (review the diff after an intended
//! change), then the file must equal what was computed.

use serde_json::Value;

/// Reads the vector file at `path` (rewriting it first when asked) and asserts it
/// records exactly `computed`; returns what it records.
pub(crate) fn check(path: &str, computed: &Value) -> Value {
    if std::env::var_os("VROOM_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(computed).expect("json") + "\n";
        std::fs::write(path, text).expect("write vectors");
    }
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{path} exists (VROOM_WRITE_VECTORS=1 makes it)"));
    let recorded: Value = serde_json::from_str(&text).expect("valid json");
    assert_eq!(
        computed, &recorded,
        "{path}: an encoding changed; if intended, regenerate and review the diff"
    );
    recorded
}
