//! Who commits what nobody in particular asked for: a departed member's removal, or a
//! newcomer's key package. Every member computes the same order from the same group
//! state, so exactly one is expected to act first and the others wait their turn.
//!
//! The order is the remaining members' leaf indices, ascending, without the departed
//! (or otherwise excluded) leaves. The first acts at once; the `k`-th (0-based) acts
//! only if no commit has moved the epoch after `k` times the session's fallback delay.
//! If two commit anyway, the relay's order settles it: the first commit for an epoch
//! wins and the other is dropped (see `Incoming::Commit::dropped_own`).

/// The leaves in the order in which they should commit, `exclude` left out.
pub fn committer_order(members: impl IntoIterator<Item = u32>, exclude: &[u32]) -> Vec<u32> {
    let mut order: Vec<u32> = members
        .into_iter()
        .filter(|leaf| !exclude.contains(leaf))
        .collect();
    order.sort_unstable();
    order.dedup();
    order
}

/// This member's place in that order (0 = commit now), or `None` if it is not in it.
pub fn my_turn(order: &[u32], me: u32) -> Option<usize> {
    order.iter().position(|leaf| *leaf == me)
}
