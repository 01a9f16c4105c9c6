//! Text that came from someone else and is shown or used as a name: the characters that
//! are never kept, because they are invisible or change how the rest reads.

use classes::{class, Class};

mod classes;
#[cfg(feature = "mls")]
mod nfc;
#[cfg(feature = "mls")]
pub(crate) use nfc::nfc;

/// Control, format, private-use, unassigned, surrogate or line/paragraph-separator
/// characters (categories Cc, Cf, Co, Cn, Cs, Zl, Zp): bidi overrides that reverse what
/// follows (`invoice\u{202E}fdp.exe`), zero-width characters that make two equal-looking
/// names differ, line breaks.
pub(crate) fn is_hidden(c: char) -> bool {
    matches!(class(c), Class::Hidden | Class::Format)
}

/// A format character (category Cf: zero-width and bidi controls), which would make two
/// names that look the same differ.
#[cfg(feature = "mls")]
pub(crate) fn is_format(c: char) -> bool {
    class(c) == Class::Format
}

/// A combining mark (categories Mn, Mc, Me), which stacks on the character before it.
#[cfg(feature = "mls")]
pub(crate) fn is_mark(c: char) -> bool {
    class(c) == Class::Mark
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_and_marks() {
        for c in [
            '\u{202E}', '\u{200B}', '\n', '\u{7}', '\u{E000}', '\u{2028}',
        ] {
            assert!(is_hidden(c), "{:?}", c);
        }
        for c in ['a', 'é', ' ', '.', '日', '😀'] {
            assert!(!is_hidden(c), "{c}");
        }
        #[cfg(feature = "mls")]
        {
            assert!(is_mark('\u{301}'));
            assert!(!is_mark('e'));
            assert!(is_format('\u{200B}'));
            assert!(!is_format('\n'));
        }
    }
}
