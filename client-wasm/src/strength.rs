//! The passphrase strength estimate: zxcvbn in a WebAssembly module of its own
//! (`client-wasm/strength`), fetched from this page's origin the first time someone
//! types a passphrase, so its dictionaries do not weigh on every visit. Its address is
//! in the page's `vroom-strength` meta tag (`cargo xtask web` writes it).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(inline_js = "export function load_strength(url) { \
    return import(url).then((module) => module.default()); }")]
extern "C" {
    /// Imports the loader at `url`; resolves to the module's estimate function.
    #[wasm_bindgen(catch)]
    fn load_strength(url: &str) -> Result<js_sys::Promise, JsValue>;
}

/// The lowest zxcvbn score the start page accepts for a new room without a "use it
/// anyway": 4, at least 10¹⁰ estimated guesses. The attack to resist is a relay's
/// offline guessing at Argon2id's cost (PROTOCOL.md §11.1): at 10¹⁰ guesses that is
/// weeks of a large GPU per room; score 3 (10⁸) is hours.
pub const GOOD_SCORE: u8 = 4;

/// zxcvbn's verdict on one passphrase.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// 0 (guessed at once) to 4 (very hard to guess).
    pub score: u8,
    /// The base-10 logarithm of the estimated number of guesses.
    pub guesses_log10: f64,
    /// What makes it weak, if anything (English).
    pub warning: String,
    /// How to make it stronger, if anything (English).
    pub suggestion: String,
    /// The verdict in a few words, for the meter's label (the module's
    /// `Verdict::label`, which the native client prints too).
    pub label: String,
}

impl Estimate {
    /// Whether a room may be created with it without a "use it anyway".
    pub fn good(&self) -> bool {
        self.score >= GOOD_SCORE
    }
}

/// Where the estimator stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Meter {
    /// Nothing typed yet, or the module is loading.
    Idle,
    /// The estimate of the passphrase in the field now.
    Ready(Estimate),
    /// The module could not be loaded: no estimate.
    Unavailable,
}

/// A passphrase and the hints to estimate it with.
type Pending = (String, Vec<String>);

/// The estimator of one start page: loads the module once, then estimates each new
/// text of the passphrase field into a signal.
#[derive(Clone)]
pub struct Strength {
    /// The estimate function, once loaded.
    estimate: Rc<RefCell<Option<js_sys::Function>>>,
    /// Whether a load has started (it happens once).
    loading: Rc<RefCell<bool>>,
    /// The latest passphrase and hints, estimated as soon as the module is there.
    pending: Rc<RefCell<Option<Pending>>>,
    /// What the page shows.
    pub meter: RwSignal<Meter>,
}

/// An estimator that loads nothing until [`Strength::update`] is first called.
impl Default for Strength {
    fn default() -> Strength {
        Strength {
            estimate: Rc::new(RefCell::new(None)),
            loading: Rc::new(RefCell::new(false)),
            pending: Rc::new(RefCell::new(None)),
            meter: RwSignal::new(Meter::Idle),
        }
    }
}

impl Strength {
    /// Estimates `passphrase`, knowing that an attacker knows the `hints` (the room
    /// name). The first call starts loading the module; the estimate follows when it
    /// is there.
    pub fn update(&self, passphrase: &str, hints: Vec<String>) {
        if passphrase.trim().is_empty() {
            self.pending.borrow_mut().take();
            self.meter.set(Meter::Idle);
            return;
        }
        *self.pending.borrow_mut() = Some((passphrase.to_owned(), hints));
        if self.estimate.borrow().is_some() {
            self.run();
        } else if !self.loading.replace(true) {
            self.load();
        }
    }

    fn load(&self) {
        let url = crate::meta("vroom-strength").filter(|url| url.starts_with('/'));
        let Some(promise) = url.and_then(|url| load_strength(&url).ok()) else {
            self.meter.set(Meter::Unavailable);
            return;
        };
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(function) => match function.dyn_into::<js_sys::Function>() {
                    Ok(function) => {
                        *this.estimate.borrow_mut() = Some(function);
                        this.run();
                    }
                    Err(_) => this.meter.set(Meter::Unavailable),
                },
                Err(_) => this.meter.set(Meter::Unavailable),
            }
        });
    }

    /// Estimates the pending passphrase.
    fn run(&self) {
        let Some((passphrase, hints)) = self.pending.borrow_mut().take() else {
            return;
        };
        let Some(function) = self.estimate.borrow().clone() else {
            return;
        };
        let hints: js_sys::Array = hints.iter().map(|h| JsValue::from_str(h)).collect();
        let verdict = function
            .call2(&JsValue::NULL, &JsValue::from_str(&passphrase), &hints)
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Array>().ok())
            .and_then(|out| {
                Some(Estimate {
                    score: out.get(0).as_f64()? as u8,
                    guesses_log10: out.get(1).as_f64()?,
                    warning: out.get(2).as_string()?,
                    suggestion: out.get(3).as_string()?,
                    label: out.get(4).as_string()?,
                })
            });
        self.meter
            .set(verdict.map_or(Meter::Unavailable, Meter::Ready));
    }
}
