//! What openmls runs on: [`Provider`] ties the group layer's cryptography to the store
//! of one member's group state.
//!
//! - [`crypto`]: [`SuiteCrypto`], suite 0x0003 and nothing else, on the crates vroom
//!   already links (the default build). The experimental post-quantum build (`mls-pq`)
//!   uses `openmls_rust_crypto`'s instead, which has the X-Wing suite.
//! - [`storage`]: [`Storage`], what openmls reads back while the group lives (key
//!   packages, encryption key pairs), compactly encoded and zeroized when overwritten,
//!   deleted or dropped; the group state openmls writes for a reload is not kept (both
//!   builds).
//!
//! A `Provider` belongs to one `Group` or `Joiner` and is dropped with it.

#[cfg(not(feature = "mls-pq"))]
pub mod crypto;
pub mod storage;

#[cfg(not(feature = "mls-pq"))]
pub use crypto::SuiteCrypto;
pub use storage::Storage;

use openmls_traits::OpenMlsProvider;

/// The cryptography of the default build.
#[cfg(not(feature = "mls-pq"))]
type Crypto = SuiteCrypto;
/// The cryptography of the post-quantum build: the X-Wing suite is not implemented here.
#[cfg(feature = "mls-pq")]
type Crypto = openmls_rust_crypto::RustCrypto;

/// openmls's provider for one member's group: cryptography, randomness and the store of
/// the group's state.
#[derive(Default)]
pub struct Provider {
    crypto: Crypto,
    storage: Storage,
}

impl OpenMlsProvider for Provider {
    type CryptoProvider = Crypto;
    type RandProvider = Crypto;
    type StorageProvider = Storage;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}
