//! The room's timers, straight on the browser's `setInterval` and `setTimeout`: the
//! room links no interface framework.

use std::time::Duration;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// A repeating timer, until [`Interval::clear`]. Its callback lives as long as the page
/// (a few bytes per room opened), so a tick already queued never calls freed memory.
pub(crate) struct Interval(i32);

impl Interval {
    /// Calls `tick` every `period`; `None` if the page has no window.
    pub(crate) fn every(tick: impl FnMut() + 'static, period: Duration) -> Option<Interval> {
        let callback = Closure::<dyn FnMut()>::new(tick).into_js_value();
        web_sys::window()?
            .set_interval_with_callback_and_timeout_and_arguments_0(
                callback.unchecked_ref(),
                millis(period),
            )
            .ok()
            .map(Interval)
    }

    /// Stops the timer.
    pub(crate) fn clear(self) {
        if let Some(window) = web_sys::window() {
            window.clear_interval_with_handle(self.0);
        }
    }
}

/// Calls `then` once, after `delay`.
pub(crate) fn after(then: impl FnOnce() + 'static, delay: Duration) {
    let callback = Closure::once_into_js(then);
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.unchecked_ref(),
            millis(delay),
        );
    }
}

/// A delay as the browser takes it (milliseconds, at most `i32::MAX`).
fn millis(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}
