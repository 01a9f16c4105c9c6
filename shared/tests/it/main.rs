//! The shared crate's integration tests, in one binary: standard primitives against their
//! RFC vectors, vroom's own constructions against its vector file, invite links, and
//! whole sessions driven through an in-memory relay; the version-2 group layer (MLS)
//! with several members and a relay order the tests control, and its derivations.

#[cfg(feature = "mls")]
mod group;
#[cfg(feature = "mls")]
mod group_vectors;
mod invite;
mod primitives;
#[cfg(feature = "mls")]
mod relay;
#[cfg(feature = "mls")]
mod session;
#[cfg(feature = "mls")]
mod session_vectors;
mod vector_file;
mod vectors;
