//! A message's text cut into plain runs and web links, so links can be made clickable
//! without anything being fetched (a preview would tell a server who reads the link).

/// A run of a message's text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text shown as it is.
    Plain(String),
    /// An `http://` or `https://` address.
    Link(String),
}

/// Characters that end a sentence rather than an address when they close a link.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"', '>'];

/// Cuts `text` into plain runs and links. A link starts with `http://` or `https://`
/// at the start of a word, and runs to the next whitespace, less trailing punctuation.
pub(crate) fn segments(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let start = ["https://", "http://"]
            .iter()
            .filter_map(|scheme| {
                rest.match_indices(scheme).map(|(i, _)| i).find(|&i| {
                    i == 0
                        || rest[..i].ends_with(|c: char| c.is_whitespace() || "([<\"'".contains(c))
                })
            })
            .min();
        let Some(start) = start else {
            plain.push_str(rest);
            break;
        };
        plain.push_str(&rest[..start]);
        let tail = &rest[start..];
        let word = tail
            .find(char::is_whitespace)
            .map_or(tail, |end| &tail[..end]);
        let link = word.trim_end_matches(TRAILING);
        let scheme_only = link.ends_with("//");
        if scheme_only {
            plain.push_str(link);
        } else {
            if !plain.is_empty() {
                out.push(Segment::Plain(std::mem::take(&mut plain)));
            }
            out.push(Segment::Link(link.to_owned()));
        }
        rest = &tail[link.len()..];
    }
    if !plain.is_empty() {
        out.push(Segment::Plain(plain));
    }
    out
}
