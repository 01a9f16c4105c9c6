//! The group layer's message path for an instruction count that a busy host does not
//! move (BENCHMARKS.md §6): builds a room of N members, then sends M 200-byte
//! messages (one member's encrypt, another's decrypt), each inside `one_message`.
//!
//! ```text
//! cargo build --release -p vroom-bench-wasm --example mls_count
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='mls_count::one_message' \
//!     target/release/examples/mls_count 50 100
//! ```
//! Instructions per message = the total callgrind reports / M.

use std::hint::black_box;

use vroom_bench_wasm::mls_room::Room;

#[inline(never)]
fn one_message(room: &mut Room, text: &[u8]) -> usize {
    room.message(text)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let members: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let mut room = Room::new(members);
    let text = vec![b'x'; 200];
    for _ in 0..messages {
        black_box(one_message(&mut room, black_box(&text)));
    }
}
