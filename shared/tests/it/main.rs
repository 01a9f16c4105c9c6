//! The shared crate's integration tests, in one binary: standard primitives against their
//! RFC vectors, vroom's own constructions against its vector file, invite links, and
//! whole sessions driven through an in-memory relay.

mod group;
mod invite;
mod primitives;
mod relay;
mod session;
mod vectors;
