//! The shared crate's integration tests, in one binary: standard primitives against their
//! RFC vectors, vroom's own constructions against its vector file, invite links, and
//! whole sessions driven through an in-memory relay; the version-2 group layer (MLS)
//! with several members and a relay order the tests control, its derivations, and its
//! crypto provider and state store against openmls's reference provider.

#[cfg(feature = "mls")]
mod files;
#[cfg(feature = "mls")]
mod fuzz;
#[cfg(feature = "mls")]
mod group;
// The group layer's own provider exists only without the post-quantum build.
#[cfg(feature = "mls")]
mod chain_vectors;
#[cfg(all(feature = "mls", not(feature = "mls-pq")))]
mod group_provider;
#[cfg(feature = "mls")]
mod group_vectors;
#[cfg(feature = "mls")]
mod host;
mod invite;
#[cfg(feature = "mls")]
mod moderators;
mod primitives;
#[cfg(feature = "mls")]
mod relay;
mod resume;
mod rotate;
#[cfg(feature = "mls")]
mod session;
#[cfg(feature = "mls")]
mod session_vectors;
#[cfg(feature = "mls")]
mod talk;
mod vector_file;
mod vectors;
#[cfg(feature = "mls")]
mod ways;
