//! The web app's room as a WebAssembly module of its own: [`vroom_room`] behind the
//! two exports of [`RoomModule`]. The interface's module (`vroom-web`) imports this
//! module's loader as the page starts, makes one `RoomModule` for the page, and from
//! then on reaches the room only through [`RoomModule::call`]; the room reaches the
//! interface only through the function it was given. Both ways the values are
//! vroom-bridge's, encoded with postcard; the two modules share no memory, and no key
//! ever crosses to the interface's.

use std::rc::Rc;

use vroom_bridge::Screen;
use wasm_bindgen::prelude::*;

/// Says what failed and where before a panic aborts the module, as the interface's
/// module does for itself, and tells the interface (the `vroom-room-stopped` event on
/// the window), which then says so on the page: an aborted module answers nothing.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("vroom's room panicked: {info}").into());
        if let (Some(window), Ok(event)) =
            (web_sys::window(), web_sys::Event::new("vroom-room-stopped"))
        {
            let _ = window.dispatch_event(&event);
        }
    }));
}

/// One page's room.
#[wasm_bindgen]
pub struct RoomModule {
    room: Rc<vroom_room::Room>,
}

#[wasm_bindgen]
impl RoomModule {
    /// The room for the page at `page` that talks to the relay at `relay`, with the
    /// interface on `screen` (a vroom-bridge `Screen`, encoded). Every event the room
    /// has for the interface is one call of `deliver` with an encoded `RoomEvent` (a
    /// `Uint8Array` of its own, which the interface copies).
    #[wasm_bindgen(constructor)]
    pub fn new(
        page: &str,
        relay: &str,
        screen: &[u8],
        deliver: js_sys::Function,
    ) -> Result<RoomModule, JsError> {
        let screen = vroom_bridge::decode::<Screen>(screen)
            .map_err(|_| JsError::new("the interface's screen did not decode: stale module"))?;
        let deliver = Box::new(move |bytes: &[u8]| {
            let event = js_sys::Uint8Array::from(bytes);
            if let Err(e) = deliver.call1(&JsValue::NULL, &event) {
                web_sys::console::error_2(&"vroom's interface threw on an event:".into(), &e);
            }
        });
        Ok(RoomModule {
            room: vroom_room::Room::new(page, relay, screen, deliver),
        })
    }

    /// Runs one encoded vroom-bridge `Command` and returns its encoded `Reply`, copied
    /// out of this module's memory (where it is wiped at once).
    pub fn call(&self, command: &[u8]) -> js_sys::Uint8Array {
        let reply = vroom_room::call(&self.room, command);
        js_sys::Uint8Array::from(&reply[..])
    }
}
