//! A version-2 room for benchmarks, shared by the native criterion bench
//! (`benches/mls.rs`) and its WebAssembly twin (`tests/mls.rs`): one member
//! that commits, one other member, and the room secret. Other members exist only as
//! leaves: their own states are not needed to time these two.

use vroom_shared::crypto::{OsRng, RoomSecret};
use vroom_shared::group::{Group, Identity, Incoming, Joiner};

pub struct Room {
    pub secret: RoomSecret,
    pub committer: Group,
    pub other: Group,
}

fn welcome_of(result: Incoming) -> Vec<u8> {
    match result {
        Incoming::Commit {
            welcome: Some(w), ..
        } => w,
        _ => panic!("no Welcome"),
    }
}

impl Room {
    /// A room of `n` members built by sequential adds (each with the committer's
    /// path), as a room grows in use.
    pub fn new(n: usize) -> Self {
        let secret = RoomSecret::generate(&mut OsRng);
        let mut committer = Group::create(Identity::generate(), &secret).expect("create");
        let mut joiner = Joiner::new(Identity::generate()).expect("key package");
        let commit = committer.add(joiner.key_package()).expect("add");
        let welcome = welcome_of(committer.handle(&commit).expect("echo"));
        let other = joiner.join(&secret, &welcome).expect("join");
        let mut room = Room {
            secret,
            committer,
            other,
        };
        while room.committer.members().len() < n {
            let joiner = Joiner::new(Identity::generate()).expect("key package");
            let (commit, welcome) = room.commit_add(&joiner);
            room.other.handle(&commit).expect("member");
            room.join(joiner, &welcome);
        }
        room
    }

    /// The committer commits a newcomer's key package and takes the relay's echo;
    /// answers the commit and the Welcome.
    pub fn commit_add(&mut self, joiner: &Joiner) -> (Vec<u8>, Vec<u8>) {
        let commit = self.committer.add(joiner.key_package()).expect("add");
        let welcome = welcome_of(self.committer.handle(&commit).expect("echo"));
        (commit, welcome)
    }

    /// The newcomer joins from its Welcome.
    pub fn join(&self, mut joiner: Joiner, welcome: &[u8]) -> Group {
        joiner.join(&self.secret, welcome).expect("join")
    }

    /// Removes a member again (so a benchmark's room keeps its size).
    pub fn remove(&mut self, leaf: u32) {
        let commit = self.committer.remove(&[leaf]).expect("remove");
        self.committer.handle(&commit).expect("echo");
        self.other.handle(&commit).expect("member");
    }

    /// One application message from the committer, decrypted by the other member.
    pub fn message(&mut self, text: &[u8]) -> usize {
        let (bytes, _) = self.committer.encrypt(text).expect("encrypt");
        match self.other.handle(&bytes).expect("decrypt") {
            Incoming::Application { plaintext, .. } => plaintext.len(),
            _ => panic!("not an application message"),
        }
    }
}
