//! The three sets of characters names are cleaned of or limited in, from one table of
//! ranges: hidden (general categories Cc, Cf, Co, Cn, Cs, Zl, Zp), format (Cf, a part of
//! hidden) and combining marks (Mn, Mc, Me).
//!
//! Why not unicode-properties's `general_category()`: its table holds all thirty
//! categories, three words a range (about 41 KB in the web app); this one holds the
//! three sets, one word a range (about 7.6 KB). It is made from unicode-properties
//! (Unicode 18.0.0): the tests below compare both on every Unicode scalar value, and
//! write the table again from the library when asked (see `write_the_table`).

use table::RANGES;

mod table;

/// Which of the sets a character is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Class {
    /// None of them: letters, digits, punctuation, symbols, spaces.
    Other,
    /// Cc, Co, Cn, Cs, Zl or Zp.
    Hidden,
    /// Cf: hidden too.
    Format,
    /// Mn, Mc or Me.
    Mark,
}

/// The class of `c`. `RANGES` holds, in order, every code point where the class
/// changes, as `start << 8 | class`: the entry of `c` is the last that starts at or
/// before it.
pub(super) fn class(c: char) -> Class {
    let c = c as u32;
    // The first range starts at U+0000, so at least one entry is at or before `c`.
    let at = RANGES.partition_point(|&range| range >> 8 <= c);
    match RANGES[at.saturating_sub(1)] & 0xFF {
        0 => Class::Other,
        1 => Class::Hidden,
        2 => Class::Format,
        _ => Class::Mark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};

    /// What unicode-properties says, in the same classes.
    fn library(c: char) -> Class {
        match c.general_category() {
            G::Format => Class::Format,
            G::Control
            | G::PrivateUse
            | G::Unassigned
            | G::Surrogate
            | G::LineSeparator
            | G::ParagraphSeparator => Class::Hidden,
            G::NonspacingMark | G::SpacingMark | G::EnclosingMark => Class::Mark,
            _ => Class::Other,
        }
    }

    /// The table unicode-properties gives: every code point where the class changes.
    fn library_ranges() -> Vec<u32> {
        let mut ranges = Vec::new();
        let mut last = None;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let class = library(c);
            if last != Some(class) {
                ranges.push((c as u32) << 8 | class as u32);
                last = Some(class);
            }
        }
        ranges
    }

    #[test]
    fn every_scalar_value_as_the_library() {
        let mut checked = 0u32;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(class(c), library(c), "U+{:04X}", c as u32);
            assert_eq!(
                super::super::is_hidden(c),
                matches!(class(c), Class::Hidden | Class::Format)
            );
            #[cfg(feature = "mls")]
            {
                assert_eq!(super::super::is_format(c), class(c) == Class::Format);
                assert_eq!(super::super::is_mark(c), class(c) == Class::Mark);
            }
            checked += 1;
        }
        assert_eq!(
            checked,
            0x110000 - 0x800,
            "every scalar value, surrogates apart"
        );
    }

    /// The same table, entry for entry (none repeats its neighbour's class). When
    /// unicode-properties moves to a new Unicode version, this fails: write the table
    /// again with `cargo test -p vroom-shared --lib text::classes -- --ignored`.
    #[test]
    fn the_table_is_the_library_s() {
        assert!(
            RANGES == library_ranges().as_slice(),
            "the table differs from unicode-properties {:?}: run `cargo test -p \
             vroom-shared --lib text::classes -- --ignored` to write it again",
            unicode_properties::UNICODE_VERSION
        );
    }

    #[test]
    #[ignore = "writes src/text/classes/table.rs from unicode-properties"]
    fn write_the_table() {
        let (major, minor, update) = unicode_properties::UNICODE_VERSION;
        let mut text = format!(
            "//! Written by `cargo test -p vroom-shared --lib text::classes -- --ignored` from\n\
             //! unicode-properties (Unicode {major}.{minor}.{update}): do not edit.\n\
             //! Each entry is `start << 8 | class` (0 other, 1 hidden, 2 format, 3 mark).\n\n\
             pub(super) const RANGES: &[u32] = &[\n"
        );
        for row in library_ranges().chunks(8) {
            let row: Vec<String> = row.iter().map(|r| format!("0x{r:08X}")).collect();
            text.push_str(&format!("    {},\n", row.join(", ")));
        }
        text.push_str("];\n");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/text/classes/table.rs");
        std::fs::write(path, text).unwrap();
    }
}
