//! Files in the web app, the interface's end: the browser's `File`s and `Blob`s. The
//! transfers themselves (offers, windows, keys, frames) are the room's
//! (`vroom_room`'s `files`).
//!
//! - Sending: files picked, dropped or pasted are described to the room
//!   ([`Command::SendFiles`]), which checks them and gives each an id. A picture is
//!   cleaned of its metadata here ([`vroom_shared::metadata`], which needs no key) when
//!   the room asks, and the file is read one chunk at a time (`Blob.slice` +
//!   `arrayBuffer`), only when the room asks for the chunk, so a large file never sits
//!   in memory.
//! - Receiving: every chunk the room decrypted becomes a piece of a `Blob` (kept by the
//!   browser, which may keep large blobs on disk), never one growing buffer in the
//!   WebAssembly memory. A received file is a `blob:` URL, shown inline when it is a
//!   picture or video of a [`PREVIEWED`] type, saved under its cleaned name otherwise.
//!   Each URL is revoked when the card is removed or the room ends.

use std::collections::HashMap;

use leptos::prelude::*;
pub use vroom_bridge::{bytes, Transfer};
use vroom_bridge::{Command, FileCard, FileId, Picked};
use vroom_shared::metadata;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Blob, BlobPropertyBag, Url};

use crate::state::{Client, LineKind};

/// Media types shown inline (and given to the `Blob`); any other file is an
/// `application/octet-stream` blob, so a received HTML or SVG file can never run in the
/// app's origin.
pub const PREVIEWED: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
];

/// Received pieces merged into one `Blob` once there are this many.
const MERGE_PARTS: u32 = 64;

/// One file in the conversation, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// The file.
    pub id: FileId,
    /// Its cleaned name.
    pub name: String,
    /// Its media type, as offered.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this member sends it.
    pub own: bool,
    /// The sender's nickname.
    pub nick: String,
    /// Where the transfer stands.
    pub state: RwSignal<Transfer>,
}

impl Card {
    /// Whether the file shows inline once it is here.
    pub fn previewed(&self) -> bool {
        PREVIEWED.contains(&self.media_type.as_str())
    }
}

/// The page's files: what it sends, what it receives, the URLs it made.
#[derive(Default)]
pub(crate) struct Blobs {
    /// Files picked, until the room names them (or refuses them).
    picked: HashMap<u32, Blob>,
    /// The number of the next file picked.
    next_local: u32,
    /// Files being sent (or their copies without metadata), by the room's id.
    sending: HashMap<FileId, Blob>,
    /// The pieces of files being received: `Uint8Array`s and merged `Blob`s.
    parts: HashMap<FileId, js_sys::Array>,
    /// Every `blob:` URL made, revoked when the card goes or the room ends.
    urls: HashMap<FileId, String>,
    /// The cards shown, for the room's changes to them.
    cards: HashMap<FileId, Card>,
}

impl Blobs {
    /// Lets go of one file's bytes and URL.
    fn drop_file(&mut self, id: FileId) {
        self.sending.remove(&id);
        self.parts.remove(&id);
        if let Some(url) = self.urls.remove(&id) {
            let _ = Url::revoke_object_url(&url);
        }
    }

    /// The room is over (or entered afresh): every `blob:` URL is revoked.
    pub(crate) fn abandon(&mut self) {
        for (_, url) in self.urls.drain() {
            let _ = Url::revoke_object_url(&url);
        }
        *self = Blobs::default();
    }
}

/// One `Blob` of `parts` (typed `kind`).
fn blob_of(parts: &js_sys::Array, kind: &str) -> Option<Blob> {
    let options = BlobPropertyBag::new();
    options.set_type(kind);
    Blob::new_with_blob_sequence_and_options(parts, &options).ok()
}

/// Reads `blob` whole (a picture to clean).
pub(crate) async fn read_all(blob: &Blob) -> Option<Vec<u8>> {
    let buffer = JsFuture::from(blob.array_buffer()).await.ok()?;
    let buffer = buffer.dyn_into::<js_sys::ArrayBuffer>().ok()?;
    Some(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The picture `bytes` without its metadata, as a `Blob` of type `kind`.
pub(crate) fn clean_picture(bytes: &[u8], kind: &str) -> Result<Blob, String> {
    let cleaned = match metadata::strip(bytes) {
        Ok(Some(clean)) => clean,
        Ok(None) => bytes.to_vec(),
        Err(_) => {
            return Err(
                "This picture could not be read to remove its metadata; tick \"Keep \
                        metadata\" to send it as it is."
                    .to_owned(),
            )
        }
    };
    blob_of(
        &js_sys::Array::of1(&js_sys::Uint8Array::from(cleaned.as_slice())),
        kind,
    )
    .ok_or_else(|| "The browser could not keep the cleaned picture.".to_owned())
}

impl Client {
    /// Sends files the user picked, dropped or pasted.
    pub fn send_files(&self, picked: Vec<web_sys::File>) {
        let keep_metadata = self.ui.keep_metadata.get_untracked();
        let files = {
            let mut blobs = self.files.borrow_mut();
            picked
                .into_iter()
                .map(|file| {
                    let local = blobs.next_local;
                    blobs.next_local = blobs.next_local.wrapping_add(1);
                    let picked = Picked {
                        local,
                        name: file.name(),
                        media_type: file.type_(),
                        size: file.size() as u64,
                    };
                    blobs.picked.insert(local, Blob::from(file));
                    picked
                })
                .collect()
        };
        self.call(Command::SendFiles {
            files,
            keep_metadata,
        });
        // The room named those it took (`RoomEvent::FileQueued`); the rest are refused.
        self.files.borrow_mut().picked.clear();
    }

    /// Takes a file offered to this member.
    pub fn accept_file(&self, id: FileId) {
        self.call(Command::AcceptFile(id));
    }

    /// Stops one transfer, either way.
    pub fn cancel_file(&self, id: FileId) {
        self.call(Command::CancelFile(id));
    }

    /// Removes a file's card and lets the browser free the file.
    pub fn remove_file(&self, id: FileId) {
        self.call(Command::RemoveFile(id));
        {
            let mut blobs = self.files.borrow_mut();
            blobs.drop_file(id);
            blobs.cards.remove(&id);
        }
        self.ui
            .lines
            .update(|lines| lines.retain(|l| !matches!(&l.kind, LineKind::File(c) if c.id == id)));
    }

    /// A file to show in the conversation.
    pub(crate) fn file_added(&self, card: FileCard, state: Transfer) {
        let card = Card {
            id: card.id,
            name: card.name,
            media_type: card.media_type,
            size: card.size,
            own: card.own,
            nick: card.nick,
            state: RwSignal::new(state),
        };
        self.files.borrow_mut().cards.insert(card.id, card.clone());
        self.push(LineKind::File(card));
    }

    /// Where a file's transfer stands now.
    pub(crate) fn file_state(&self, id: FileId, state: Transfer) {
        let card = self.files.borrow().cards.get(&id).cloned();
        if let Some(card) = card {
            card.state.set(state);
        }
    }

    /// The picked file `local` is the room's file `id`.
    pub(crate) fn file_queued(&self, local: u32, id: FileId) {
        let mut blobs = self.files.borrow_mut();
        if let Some(blob) = blobs.picked.remove(&local) {
            blobs.sending.insert(id, blob);
        }
    }

    /// The room asks for a copy of picture `id` without its metadata.
    pub(crate) fn clean_file(&self, id: FileId) {
        let Some(blob) = self.files.borrow().sending.get(&id).cloned() else {
            return;
        };
        let this = self.this.clone();
        spawn_local(async move {
            let kind = blob.type_();
            let result = match read_all(&blob).await {
                Some(bytes) => clean_picture(&bytes, &kind),
                None => Err("The picture could not be read.".to_owned()),
            };
            let Some(client) = this.upgrade() else {
                return;
            };
            let size = result.map(|cleaned| {
                let size = cleaned.size() as u64;
                // Unless the file was cancelled meanwhile, the copy is what goes.
                if let Some(blob) = client.files.borrow_mut().sending.get_mut(&id) {
                    *blob = cleaned;
                }
                size
            });
            client.call(Command::Cleaned { id, size });
        });
    }

    /// The room asks for bytes `offset..end` of file `id`.
    pub(crate) fn read_chunk(&self, id: FileId, index: u32, offset: u64, end: u64) {
        let slice = self
            .files
            .borrow()
            .sending
            .get(&id)
            .and_then(|blob| blob.slice_with_f64_and_f64(offset as f64, end as f64).ok());
        let this = self.this.clone();
        spawn_local(async move {
            let bytes = match slice {
                Some(slice) => read_all(&slice).await,
                None => None,
            };
            if let Some(client) = this.upgrade() {
                client.call(Command::Chunk { id, index, bytes });
            }
        });
    }

    /// Decrypted bytes of file `id`, in order.
    pub(crate) fn file_bytes(&self, id: FileId, bytes: &[u8]) {
        let mut blobs = self.files.borrow_mut();
        let parts = blobs.parts.entry(id).or_default();
        parts.push(&js_sys::Uint8Array::from(bytes));
        if parts.length() >= MERGE_PARTS {
            if let Some(merged) = blob_of(parts, "") {
                *parts = js_sys::Array::of1(&merged);
            }
        }
    }

    /// File `id` is here whole: its `blob:` URL goes on its card.
    pub(crate) fn file_complete(&self, id: FileId) {
        let (card, parts) = {
            let mut blobs = self.files.borrow_mut();
            (blobs.cards.get(&id).cloned(), blobs.parts.remove(&id))
        };
        let Some(card) = card else {
            return;
        };
        let kind = if card.previewed() {
            card.media_type.as_str()
        } else {
            "application/octet-stream"
        };
        let parts = parts.unwrap_or_default();
        let url =
            blob_of(&parts, kind).and_then(|blob| Url::create_object_url_with_blob(&blob).ok());
        match url {
            Some(url) => {
                self.files.borrow_mut().urls.insert(id, url.clone());
                card.state.set(Transfer::Received(url));
            }
            None => card.state.set(Transfer::Failed(
                "The browser could not keep the file.".to_owned(),
            )),
        }
    }

    /// File `id`'s bytes and URL can go.
    pub(crate) fn file_dropped(&self, id: FileId) {
        self.files.borrow_mut().drop_file(id);
    }
}
