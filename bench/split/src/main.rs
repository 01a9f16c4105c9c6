//! Estimates what the web app would weigh as two WebAssembly modules, a UI module (the
//! first download) and a room module (the session, MLS and the cryptography), from one
//! build of the single module (`cargo xtask web` leaves it, with its function names,
//! in `target/wasm32-unknown-unknown/wasm-release/vroom-web.wasm`). BENCHMARKS.md §14.
//!
//! - *whole*: the module as it is, custom sections and wasm-bindgen's describe exports
//!   dropped, as wasm-bindgen drops them: the calibration against the served `.wasm`.
//! - *UI module*: every function of a room crate ([`ROOM`]) has its body replaced by
//!   `unreachable`; what only those functions reached is then unreachable too and
//!   removed (walrus's GC, from the exports, the start function and the table).
//! - *room module*: the room crates' functions are the roots; every UI function
//!   ([`UI`]) has its body replaced by `unreachable`; the same GC.
//!
//! Read-only data has no owner in a wasm module, so it is attributed by reference: an
//! object starts at an address that some code or some data names (`i32.const`, or an
//! aligned pointer in the data), and a module keeps the objects its code names and,
//! transitively, the objects those point to. What no kept object covers is removed.
//! Each result is printed raw and brotli'd as the relay's `.br` is (quality 11,
//! window 22). The figures are estimates: room code LLVM inlined into the app's own
//! functions counts for the UI module, and neither side has the glue a split needs.

use std::collections::BTreeSet;
use std::io::Write;

use regex::Regex;
use walrus::ir::{Const, Value, Visitor};
use walrus::{ConstExpr, DataKind, FunctionKind, Module, ModuleConfig};

/// The crates that would run in the room module (a function belongs to a crate if its
/// demangled name names one of the crate's items).
const ROOM: &str = "(^|[^a-z_])(openmls|openmls_traits|tls_codec|vroom_shared|curve25519_dalek|\
ed25519_dalek|x25519_dalek|sha2|hpke|spake2|argon2|blake2|chacha20|poly1305|chacha20poly1305|\
hkdf|hmac|aead|rand_chacha|rand_core|getrandom|unicode_normalization|unicode_properties|base64|\
cipher|digest|signature|subtle|zeroize|universal_hash|crypto_common|block_buffer|postcard|\
serde_bytes)::";

/// The crates that would stay in the UI module.
const UI: &str = "(^|[^a-z_])(tachys|reactive_graph|leptos|leptos_dom|leptos_macro|vroom_web|\
qrcode|any_spawner|or_poisoned|send_wrapper|throw_error|oco_ref|guardian|wasm_streams)::";

#[derive(Clone, Copy)]
enum Cut {
    Whole,
    Ui,
    Room,
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: vroom-split-estimate <vroom-web.wasm as cargo built it>");
    let names = std::env::args().nth(2);
    let room = Regex::new(ROOM).expect("a valid pattern");
    let ui = Regex::new(UI).expect("a valid pattern");
    // The object boundaries come from the whole module: every address any code names.
    let whole_refs = {
        let m = load(&path);
        code_refs(&m)
    };
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10}",
        "", "raw", "brotli", "code br", "data raw"
    );
    for (label, cut) in [
        ("whole", Cut::Whole),
        ("UI module", Cut::Ui),
        ("room module", Cut::Room),
    ] {
        let mut m = load(&path);
        match cut {
            Cut::Whole => {}
            Cut::Ui => {
                stub(&mut m, &room);
            }
            Cut::Room => {
                let roots: Vec<_> = local_named(&m, &room);
                let exports: Vec<_> = m.exports.iter().map(|e| e.id()).collect();
                for e in exports {
                    m.exports.delete(e);
                }
                m.start = None;
                for (i, id) in roots.into_iter().enumerate() {
                    m.exports.add(&format!("r{i}"), id);
                }
                stub(&mut m, &ui);
            }
        }
        walrus::passes::gc::run(&mut m);
        let data = trim_data(&mut m, &whole_refs);
        if let Some(dir) = &names {
            let mut text = String::new();
            for f in m.funcs.iter() {
                if let FunctionKind::Local(l) = &f.kind {
                    let name = f.name.as_deref().unwrap_or("?");
                    text.push_str(&format!("{}\t{name}\n", l.size()));
                }
            }
            let file = format!("{dir}/{}.tsv", label.replace(' ', "-"));
            std::fs::write(&file, text).expect("the names directory is writable");
        }
        let bytes = m.emit_wasm();
        let code_only = {
            let ids: Vec<_> = m.data.iter().map(|d| d.id()).collect();
            for id in ids {
                m.data.get_mut(id).value.clear();
            }
            m.emit_wasm()
        };
        println!(
            "{label:<12} {:>10} {:>10} {:>10} {:>10}",
            bytes.len(),
            brotli(&bytes),
            brotli(&code_only),
            data
        );
    }
}

/// Parses the module with demangled function names, without its custom sections and
/// wasm-bindgen's describe exports.
fn load(path: &str) -> Module {
    let mut config = ModuleConfig::new();
    config
        .generate_name_section(false)
        .generate_producers_section(false);
    let mut m = config.parse_file(path).expect("a wasm module");
    let ids: Vec<_> = m.funcs.iter().map(|f| f.id()).collect();
    for id in ids {
        let f = m.funcs.get_mut(id);
        if let Some(name) = &f.name {
            f.name = Some(format!("{:#}", rustc_demangle::demangle(name)));
        }
    }
    let customs: Vec<_> = m.customs.iter().map(|(id, _)| id).collect();
    for id in customs {
        m.customs.delete(id);
    }
    let describe: Vec<_> = m
        .exports
        .iter()
        .filter(|e| e.name.starts_with("__wbindgen_describe"))
        .map(|e| e.id())
        .collect();
    for id in describe {
        m.exports.delete(id);
    }
    m
}

/// The module's own functions whose name matches `pattern`.
fn local_named(m: &Module, pattern: &Regex) -> Vec<walrus::FunctionId> {
    m.funcs
        .iter()
        .filter(|f| matches!(f.kind, FunctionKind::Local(_)))
        .filter(|f| f.name.as_deref().is_some_and(|n| pattern.is_match(n)))
        .map(|f| f.id())
        .collect()
}

/// Replaces the body of every function matching `pattern` by `unreachable`.
fn stub(m: &mut Module, pattern: &Regex) {
    for id in local_named(m, pattern) {
        if let FunctionKind::Local(l) = &mut m.funcs.get_mut(id).kind {
            let entry = l.entry_block();
            let mut body = l.builder_mut().instr_seq(entry);
            body.instrs_mut().clear();
            body.unreachable();
        }
    }
}

fn brotli(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(bytes).expect("writing to memory");
    }
    out.len()
}

/// Every `i32.const` in the module's functions.
fn code_refs(m: &Module) -> Vec<u32> {
    struct Consts(Vec<u32>);
    impl<'a> Visitor<'a> for Consts {
        fn visit_const(&mut self, c: &Const) {
            if let Value::I32(v) = c.value {
                self.0.push(v as u32);
            }
        }
    }
    let mut consts = Consts(Vec::new());
    for f in m.funcs.iter() {
        if let FunctionKind::Local(l) = &f.kind {
            walrus::ir::dfs_in_order(&mut consts, l, l.entry_block());
        }
    }
    consts.0
}

/// Removes the read-only objects the module's code does not reach (see the module
/// docs); returns the data bytes kept.
fn trim_data(m: &mut Module, whole_refs: &[u32]) -> usize {
    let segments: Vec<(u32, walrus::DataId, u32)> = m
        .data
        .iter()
        .filter_map(|d| match d.kind {
            DataKind::Active {
                offset: ConstExpr::Value(Value::I32(at)),
                ..
            } => Some((at as u32, d.id(), d.value.len() as u32)),
            _ => None,
        })
        .collect();
    let inside = |a: u32| segments.iter().any(|(s, _, l)| a >= *s && a < s + l);
    let pointers = |m: &Module, from: u32, to: u32| -> Vec<u32> {
        let mut found = Vec::new();
        for (s, id, l) in &segments {
            if from >= *s && from < s + l {
                let v = &m.data.get(*id).value;
                let mut i = ((from - s + 3) & !3) as usize;
                let end = ((to.min(s + l)) - s) as usize;
                while i + 4 <= end {
                    let p = u32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
                    if inside(p) {
                        found.push(p);
                    }
                    i += 4;
                }
            }
        }
        found
    };
    let mut bounds = BTreeSet::new();
    for (s, _, l) in &segments {
        bounds.insert(*s);
        bounds.insert(s + l);
        bounds.extend(pointers(m, *s, s + l));
    }
    bounds.extend(whole_refs.iter().copied().filter(|a| inside(*a)));
    let object = |a: u32| -> (u32, u32) {
        let start = *bounds
            .range(..=a)
            .next_back()
            .expect("a segment start below");
        let end = *bounds.range(a + 1..).next().expect("a segment end above");
        (start, end)
    };
    let mut kept = BTreeSet::new();
    let mut pending: Vec<u32> = code_refs(m).into_iter().filter(|a| inside(*a)).collect();
    while let Some(a) = pending.pop() {
        let o = object(a);
        if kept.insert(o) {
            pending.extend(pointers(m, o.0, o.1));
        }
    }
    let mut total = 0;
    for (s, id, l) in &segments {
        let mut keep = vec![false; *l as usize];
        for (a, b) in kept.range((*s, 0)..(s + l, 0)) {
            for k in (a - s)..(b.min(&(s + l)) - s) {
                keep[k as usize] = true;
            }
        }
        let v = &mut m.data.get_mut(*id).value;
        let old = std::mem::take(v);
        v.extend(old.iter().zip(&keep).filter(|(_, k)| **k).map(|(b, _)| *b));
        total += v.len();
    }
    total
}
