//! How deep a request may nest, for every recursive parser a front door feeds.
//!
//! A recursive-descent parser spends stack for each level it descends: given enough
//! levels, one request overflows a worker thread's stack and aborts the process for
//! everyone. So every text a client sends to such a parser is measured first, without
//! recursion, and refused (`invalid_input`) when it nests deeper than [`MAX_NESTING`]:
//!
//! - GraphQL documents (selection sets, arguments, list and object values), before the
//!   GraphQL parser sees them ([`graphql_depth`]);
//! - SCIM filters and PATCH paths (`scim::filter`: parentheses, `not(…)`, value
//!   filters, and the length of an `and`/`or` chain, which nests the tree it builds);
//! - JSON bodies: `serde_json` refuses nesting deeper than 128 by itself, a bound the
//!   tests hold it to.
//!
//! 64 is far above what any client sends (the standard introspection query nests 13
//! deep) and far below what a 2 MiB worker stack holds even in a debug build.

/// The deepest nesting any parser is given.
pub const MAX_NESTING: usize = 64;

/// The deepest `(`, `[` or `{` nesting of a GraphQL document, skipping strings, block
/// strings and comments (where brackets are text).
pub fn graphql_depth(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert_eq!(graphql_depth("{ a }"), 1);
        assert_eq!(graphql_depth("{ a(x: [[1]]) { b } }"), 4);
        assert_eq!(graphql_depth("{ a(x: \"[[[[\\\"[[\") }"), 2);
        assert_eq!(graphql_depth("{ a(x: \"\"\"[[[\\\"\"\"[[\"\"\") }"), 2);
        assert_eq!(graphql_depth("# {{{{{{\n{ a }"), 1);
        assert_eq!(graphql_depth("\"unterminated [[["), 0);
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(graphql_depth(&deep), 100_000);
    }
}
