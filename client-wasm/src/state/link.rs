//! How the interface reaches the room: the room's WebAssembly module, which the page
//! fetches as it starts (its loader's address is in the page's `vroom-room` meta tag,
//! which `cargo xtask web` writes), or, for the browser tests of `tests/web.rs`
//! (feature `linked`), the room's crate linked into this module. Either way every
//! command and every event crosses encoded: the interface cannot tell them apart.

use wasm_bindgen::prelude::*;
#[cfg(not(feature = "linked"))]
use wasm_bindgen::JsCast;

#[wasm_bindgen(inline_js = "export function load_room(url) { \
    return import(url).then((module) => module.default()); }")]
extern "C" {
    /// Imports the room module's loader at `url`; resolves to the function that makes
    /// a room: `(page, relay, screen, deliver) => RoomModule`.
    #[wasm_bindgen(catch)]
    fn load_room(url: &str) -> Result<js_sys::Promise, JsValue>;

    /// The room module's one room of this page.
    pub(super) type RoomModule;

    /// Runs one encoded command; the encoded reply.
    #[wasm_bindgen(method, catch)]
    fn call(this: &RoomModule, command: &[u8]) -> Result<js_sys::Uint8Array, JsValue>;
}

/// How the room hands the interface an encoded event.
pub(super) type Deliver = Box<dyn Fn(&[u8])>;

/// The room's end of the page, once there is one.
pub(super) enum Link {
    /// The room module, and the callback it hands its events to (kept as long as the
    /// room, which calls it). Never made with the room linked in.
    #[cfg_attr(feature = "linked", allow(dead_code))]
    Module {
        room: RoomModule,
        _deliver: Closure<dyn Fn(js_sys::Uint8Array)>,
    },
    /// The room's crate, linked into this module.
    #[cfg(feature = "linked")]
    Linked(std::rc::Rc<vroom_room::Room>),
}

impl Link {
    /// The room's crate linked into this module; its events go to `deliver`.
    #[cfg(feature = "linked")]
    pub(super) fn linked(
        page: &str,
        relay: &str,
        screen: vroom_bridge::Screen,
        deliver: Deliver,
    ) -> Link {
        Link::Linked(vroom_room::Room::new(page, relay, screen, deliver))
    }

    /// Runs one encoded command; the encoded reply, or what the room module threw (it
    /// trapped: a panic aborts it, and it answers nothing again).
    pub(super) fn call(&self, command: &[u8]) -> Result<Vec<u8>, JsValue> {
        match self {
            Link::Module { room, .. } => room.call(command).map(|reply| reply.to_vec()),
            #[cfg(feature = "linked")]
            Link::Linked(room) => Ok(vroom_room::call(room, command).to_vec()),
        }
    }
}

/// The event the room module's panic hook dispatches on the window before the module
/// aborts, so the page says so even when no command of the interface's was under way.
#[cfg(not(feature = "linked"))]
pub(super) const STOPPED_EVENT: &str = "vroom-room-stopped";

/// Why the room stopped, in a sentence for the page.
pub(super) const STOPPED: &str = "Something went wrong in the part of vroom that \
    encrypts your room, and it stopped. Reload the page to come back in; the relay keeps \
    your place for a short while.";

/// Why the room module could not be used, in a sentence for the page.
pub(super) const NOT_LOADED: &str = "This page could not load the part of vroom that \
    encrypts your room. Check your connection and reload the page.";

/// Fetches the room module's loader; resolves to the function that makes a room.
#[cfg(not(feature = "linked"))]
pub(super) async fn load() -> Result<js_sys::Function, JsValue> {
    let url = crate::meta("vroom-room")
        .filter(|url| url.starts_with('/'))
        .ok_or_else(|| JsValue::from_str("the page names no room module"))?;
    wasm_bindgen_futures::JsFuture::from(load_room(&url)?)
        .await?
        .dyn_into()
}

impl Link {
    /// The page's room, made by the room module's function `make`: the page at `page`,
    /// the relay at `relay`, the interface on `screen`; its events go to `deliver`.
    #[cfg(not(feature = "linked"))]
    pub(super) fn module(
        make: &js_sys::Function,
        page: &str,
        relay: &str,
        screen: &vroom_bridge::Screen,
        deliver: Deliver,
    ) -> Result<Link, JsValue> {
        let deliver =
            Closure::<dyn Fn(js_sys::Uint8Array)>::new(move |event: js_sys::Uint8Array| {
                deliver(&zeroize::Zeroizing::new(event.to_vec()))
            });
        let args = js_sys::Array::of4(
            &page.into(),
            &relay.into(),
            &js_sys::Uint8Array::from(&vroom_bridge::encode(screen)[..]),
            deliver.as_ref(),
        );
        let room = js_sys::Reflect::apply(make, &JsValue::NULL, &args)?;
        Ok(Link::Module {
            room: room.unchecked_into(),
            _deliver: deliver,
        })
    }
}
