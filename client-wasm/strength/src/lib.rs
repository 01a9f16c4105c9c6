//! The passphrase strength estimate of the web app: zxcvbn (Dropbox's estimator: common
//! passwords, dictionaries, names, keyboard patterns, dates, repeats), compiled into a
//! WebAssembly module of its own that the app fetches the first time someone types a
//! passphrase, so that its dictionaries do not weigh on every visit.
//!
//! It holds no state and keeps nothing: one call, one estimate.

//! The native client links it as a library and calls [`verdict`] directly.

use wasm_bindgen::prelude::*;

/// The lowest score a new room's passphrase needs without the user's explicit "use it
/// anyway" (the web app's `strength::GOOD_SCORE` and the native client's check):
/// 4, at least 10¹⁰ estimated guesses (PROTOCOL.md §11.1).
pub const GOOD_SCORE: u8 = 4;

/// zxcvbn's verdict on one passphrase.
pub struct Verdict {
    /// 0 (guessed at once) to 4 (very hard to guess).
    pub score: u8,
    /// The base-10 logarithm of the estimated number of guesses.
    pub guesses_log10: f64,
    /// What makes it weak, if anything (English; empty when nothing).
    pub warning: String,
    /// How to make it stronger, if anything (English; empty when nothing).
    pub suggestion: String,
}

impl Verdict {
    /// The verdict in a few words (the web app's meter says the same).
    pub fn label(&self) -> &'static str {
        match self.score {
            0 => "Very weak: guessed at once",
            1 => "Weak: guessed quickly",
            2 => "Weak: a determined relay guesses it",
            3 => "Fair: guessable with a lot of computing",
            _ => "Strong",
        }
    }
}

/// Estimates how hard `passphrase` is to guess, given `hints` (the room name's words,
/// which an attacker knows).
pub fn verdict(passphrase: &str, hints: &[&str]) -> Verdict {
    let entropy = zxcvbn::zxcvbn(passphrase, hints);
    let feedback = entropy.feedback();
    Verdict {
        score: u8::from(entropy.score()),
        guesses_log10: entropy.guesses_log10(),
        warning: feedback
            .and_then(|f| f.warning())
            .map(|w| w.to_string())
            .unwrap_or_default(),
        suggestion: feedback
            .and_then(|f| f.suggestions().first())
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// [`verdict`] for the web app: `[score, guesses_log10, warning, suggestion, label]`.
#[wasm_bindgen]
pub fn estimate(passphrase: &str, hints: Vec<String>) -> js_sys::Array {
    let hints: Vec<&str> = hints.iter().map(String::as_str).collect();
    let v = verdict(passphrase, &hints);
    let label = v.label();
    let out = js_sys::Array::new();
    out.push(&JsValue::from(v.score));
    out.push(&JsValue::from(v.guesses_log10));
    out.push(&JsValue::from(v.warning));
    out.push(&JsValue::from(v.suggestion));
    out.push(&JsValue::from(label));
    out
}
