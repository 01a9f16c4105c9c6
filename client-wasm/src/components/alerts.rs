//! Optional alerts for messages that arrive while the page is hidden: a desktop
//! notification and a short sound. Both are off until the user turns them on; the
//! browser is asked for permission to notify only then; a notification shows the
//! message's text only if the user chose that too. The choices are remembered in this
//! browser's `localStorage` under [`KEY`], and nothing about any room is.

use leptos::prelude::*;

use web_sys::{Notification, NotificationOptions, NotificationPermission};

use super::Check;
use crate::state::{ClientHandle, LineKind};

/// Where the choices are kept: three flags, `notify`, `text`, `sound`, as `1`/`0`.
const KEY: &str = "vroom.alerts";

/// What the user chose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Choices {
    /// Desktop notifications.
    notify: bool,
    /// The message's text in them.
    text: bool,
    /// A sound.
    sound: bool,
}

impl Choices {
    fn load() -> Choices {
        let stored = storage()
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .unwrap_or_default();
        let flag = |i: usize| stored.as_bytes().get(i) == Some(&b'1');
        Choices {
            notify: flag(0),
            text: flag(1),
            sound: flag(2),
        }
    }

    fn save(self) {
        let bit = |b: bool| if b { '1' } else { '0' };
        let value: String = [bit(self.notify), bit(self.text), bit(self.sound)]
            .into_iter()
            .collect();
        if let Some(storage) = storage() {
            // A full or forbidden storage only means the choice is not remembered.
            let _ = storage.set_item(KEY, &value);
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Alerts for a message that arrived while the page was hidden, as the user chose.
pub(crate) fn on_message(kind: Option<&LineKind>) {
    let Some(LineKind::Message {
        nick,
        text,
        own: false,
        ..
    }) = kind
    else {
        return;
    };
    let choices = Choices::load();
    if choices.notify && Notification::permission() == NotificationPermission::Granted {
        let options = NotificationOptions::new();
        options.set_body(&if choices.text {
            format!("{nick}: {text}")
        } else {
            "New message".to_owned()
        });
        // One notification per room, replaced by the next, with no room in its tag.
        options.set_tag("vroom");
        let _ = Notification::new_with_options("vroom", &options);
    }
    if choices.sound {
        beep();
    }
}

/// A short, quiet tone (made on the spot: no sound file is fetched).
fn beep() {
    let Ok(audio) = web_sys::AudioContext::new() else {
        return;
    };
    let (Ok(tone), Ok(gain)) = (audio.create_oscillator(), audio.create_gain()) else {
        return;
    };
    let now = audio.current_time();
    tone.frequency().set_value(880.0);
    gain.gain().set_value(0.08);
    let _ = gain.gain().linear_ramp_to_value_at_time(0.0, now + 0.18);
    let _ = tone
        .connect_with_audio_node(&gain)
        .and_then(|_| gain.connect_with_audio_node(&audio.destination()));
    let _ = tone.start();
    let _ = tone.stop_with_when(now + 0.2);
    // Let the context go once the tone is over.
    let closing = audio.clone();
    set_timeout(
        move || {
            let _ = closing.close();
        },
        std::time::Duration::from_millis(400),
    );
}

/// The panel where the user turns alerts on and off.
#[component]
pub(crate) fn AlertsPanel() -> impl IntoView {
    let ui = expect_context::<ClientHandle>().with_value(|c| c.ui);
    let choices = RwSignal::new(Choices::load());
    let text = RwSignal::new(choices.get_untracked().text);
    let sound = RwSignal::new(choices.get_untracked().sound);
    let change = move |f: &dyn Fn(&mut Choices)| {
        choices.update(|c| f(c));
        choices.get_untracked().save();
    };
    let on_notify = move |ev: web_sys::Event| {
        let on = event_target_checked(&ev);
        if !on {
            return change(&|c| c.notify = false);
        }
        // Asked only now that the user turned notifications on.
        let Ok(asking) = Notification::request_permission() else {
            ui.notice
                .set(Some("This browser cannot show notifications.".to_owned()));
            return change(&|c| c.notify = false);
        };
        change(&|c| c.notify = true);
        wasm_bindgen_futures::spawn_local(async move {
            let answer = wasm_bindgen_futures::JsFuture::from(asking).await;
            let granted = answer
                .ok()
                .and_then(|a| a.as_string())
                .is_some_and(|a| a == "granted");
            if !granted {
                change(&|c| c.notify = false);
                ui.notice.set(Some(
                    "Notifications are blocked for this site. Allow them in the browser's \
                     site settings, then turn them on here again."
                        .to_owned(),
                ));
            }
        });
    };
    view! {
        <details class="panel alerts">
            <summary>"Alerts"</summary>
            <label class="check">
                <input
                    type="checkbox"
                    id="alert-notify"
                    prop:checked=move || choices.get().notify
                    on:change=on_notify
                />
                " Notify me of messages while this tab is in the background"
            </label>
            <Check
                id="alert-text"
                checked=text
                text=" Show the message's text in the notification"
                disabled=Signal::derive(move || !choices.get().notify)
                on_toggle=Callback::new(move |on| change(&|c| c.text = on))
            />
            <Check
                id="alert-sound"
                checked=sound
                text=" Play a sound"
                on_toggle=Callback::new(move |on| change(&|c| c.sound = on))
            />
            <p class="hint">
                "Off unless you turn them on. This browser remembers these choices, and "
                "nothing about the room."
            </p>
        </details>
    }
}
