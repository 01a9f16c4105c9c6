//! Unicode Normalization Form C (UAX #15), composed from unicode-normalization's
//! canonical primitives (full canonical decomposition, combining classes, primary
//! composites) rather than its `nfc()` iterator.
//!
//! Why: that iterator decides between canonical and compatibility decomposition at run
//! time, so every program that calls `nfc()` also carries the compatibility tables
//! (NFKD/NFKC, about 62 KB), which the web app never uses. The result is the same: the
//! tests below compare this with the library's `nfc()` on every code point and on
//! random strings of the characters where normalization does anything.

use unicode_normalization::char::{canonical_combining_class, compose, decompose_canonical};
use zeroize::Zeroizing;

/// `s` in Normalization Form C. Scratch buffers are zeroized (passphrases pass through
/// here); the caller keeps the result as secret as the input.
pub(crate) fn nfc(s: &str) -> String {
    // Canonical decomposition in canonical order: each character's full decomposition,
    // every non-starter moved back (stably) past the non-starters of a higher class.
    // No full canonical decomposition is longer than 4 characters, and a string has no
    // more characters than bytes: the buffer never grows (and leaves no copy behind).
    let mut decomposed: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(4 * s.len()));
    for c in s.chars() {
        decompose_canonical(c, |d| {
            let class = canonical_combining_class(d);
            let mut at = decomposed.len();
            decomposed.push(d);
            if class != 0 {
                while at > 0 && canonical_combining_class(decomposed[at - 1]) > class {
                    decomposed.swap(at - 1, at);
                    at -= 1;
                }
            }
        });
    }

    // Canonical composition: a character joins the last starter when nothing between
    // them blocks it (a starter, or a non-starter of the same or a higher class).
    let mut composed: Zeroizing<Vec<char>> = Zeroizing::new(Vec::with_capacity(decomposed.len()));
    let mut starter: Option<usize> = None;
    let mut last_class = 0u8;
    for &c in decomposed.iter() {
        let class = canonical_combining_class(c);
        if let Some(at) = starter {
            let adjacent = composed.len() == at + 1;
            if adjacent || (last_class != 0 && last_class < class) {
                if let Some(primary) = compose(composed[at], c) {
                    composed[at] = primary;
                    continue;
                }
            }
        }
        if class == 0 {
            starter = Some(composed.len());
        }
        last_class = class;
        composed.push(c);
    }
    let mut out = String::with_capacity(composed.iter().map(|c| c.len_utf8()).sum());
    out.extend(composed.iter());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    fn library(s: &str) -> String {
        s.nfc().collect()
    }

    /// Every Unicode scalar value alone, and after a base letter, and followed by
    /// combining marks of two classes in either order.
    #[test]
    fn every_code_point_as_the_library() {
        let mut checked = 0u32;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            for s in [
                c.to_string(),
                format!("a{c}"),
                format!("{c}\u{0301}\u{0323}"),
                format!("{c}\u{0323}\u{0301}"),
                format!("\u{1100}{c}"),
                format!("{c}\u{11A8}"),
            ] {
                assert_eq!(nfc(&s), library(&s), "{:?}", s.chars().collect::<Vec<_>>());
            }
            checked += 1;
        }
        assert_eq!(
            checked,
            0x110000 - 0x800,
            "every scalar value, surrogates apart"
        );
    }

    #[test]
    fn known_forms() {
        // Decomposed e + acute composes; a composition exclusion stays decomposed.
        assert_eq!(nfc("e\u{301}"), "é");
        assert_eq!(nfc("\u{0958}"), "\u{0915}\u{093C}");
        // Marks in non-canonical order are reordered before composing (dot below, 220,
        // before acute, 230): ạ + acute.
        assert_eq!(nfc("a\u{301}\u{323}"), "\u{1EA1}\u{301}");
        // Hangul: L + V + T jamo become one syllable; an LV syllable takes a T.
        assert_eq!(nfc("\u{1100}\u{1161}\u{11A8}"), "\u{AC01}");
        assert_eq!(nfc("\u{AC00}\u{11A8}"), "\u{AC01}");
        // Blocked: a starter between base and mark; a mark of the same class (bridge
        // above and acute, both 230) between them.
        assert_eq!(nfc("e\u{200B}\u{301}"), "e\u{200B}\u{301}");
        assert_eq!(nfc("a\u{346}\u{301}"), "a\u{346}\u{301}");
        assert_eq!(library("a\u{346}\u{301}"), "a\u{346}\u{301}");
        assert_eq!(nfc(""), "");
        // Singletons (Ohm sign to Omega; Angstrom sign to Å).
        assert_eq!(nfc("\u{2126}\u{212B}"), "\u{3A9}\u{C5}");
    }

    /// The characters where normalization acts: those with a canonical decomposition,
    /// what they decompose to, every non-starter, and the Hangul jamo and syllables'
    /// edges; plus a few plain letters and a starter that composes with nothing.
    fn interesting() -> Vec<char> {
        let mut set: Vec<char> = "aeoAEOsSz ".chars().collect();
        set.push('\u{200B}');
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let decomposed: Vec<char> = c.to_string().nfd().collect();
            if canonical_combining_class(c) != 0 || decomposed != [c] {
                set.push(c);
                set.extend(decomposed);
            }
        }
        set.extend(('\u{1100}'..='\u{11FF}').chain(['\u{AC00}', '\u{AC01}', '\u{D7A3}']));
        set.sort_unstable();
        set.dedup();
        set
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn random_strings_as_the_library(picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
            thread_local!(static SET: Vec<char> = interesting());
            let s: String = SET.with(|set| picks.iter().map(|i| set[i.index(set.len())]).collect());
            prop_assert_eq!(nfc(&s), library(&s), "{:?}", s.chars().collect::<Vec<_>>());
        }
    }
}
