//! The passphrase strength estimate of the web app: zxcvbn (Dropbox's estimator: common
//! passwords, dictionaries, names, keyboard patterns, dates, repeats), compiled into a
//! WebAssembly module of its own that the app fetches the first time someone types a
//! passphrase, so that its dictionaries do not weigh on every visit.
//!
//! It holds no state and keeps nothing: one call, one estimate.

use wasm_bindgen::prelude::*;

/// Estimates how hard `passphrase` is to guess, given `hints` (the room name's words,
/// which an attacker knows). Returns `[score, guesses_log10, warning, suggestion]`:
/// the score from 0 (guessed at once) to 4 (very hard), the base-10 logarithm of the
/// estimated guesses, and zxcvbn's warning and first suggestion in English (empty when
/// it has none).
#[wasm_bindgen]
pub fn estimate(passphrase: &str, hints: Vec<String>) -> js_sys::Array {
    let hints: Vec<&str> = hints.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(passphrase, &hints);
    let feedback = entropy.feedback();
    let warning = feedback
        .and_then(|f| f.warning())
        .map(|w| w.to_string())
        .unwrap_or_default();
    let suggestion = feedback
        .and_then(|f| f.suggestions().first())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let out = js_sys::Array::new();
    out.push(&JsValue::from(u8::from(entropy.score())));
    out.push(&JsValue::from(entropy.guesses_log10()));
    out.push(&JsValue::from(warning));
    out.push(&JsValue::from(suggestion));
    out
}
