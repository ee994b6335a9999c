//! Space paths: `acme/`, `acme/eng/`. A path is a list of segments, each followed by a
//! `/`. Segments use a fixed character set (`a-z`, `0-9`, `-`, `_`), so `.` and `..`
//! can never appear, and because every path ends in `/`, string-prefix tests are exact
//! subtree tests: `acme/` is a prefix of `acme/eng/` but never of `acmecorp/`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

pub const MAX_PATH_LEN: usize = 256;
/// Segments are short enough that the deepest path fits the length bound (8 × 32).
pub const MAX_SEGMENT_LEN: usize = 31;
pub const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpacePath(String);

impl SpacePath {
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bad =
            |why: &str| Error::invalid("space", format!("invalid space path {input:?}: {why}"));
        if input.is_empty() {
            return Err(bad("empty"));
        }
        if input.len() > MAX_PATH_LEN {
            return Err(bad(&format!("longer than {MAX_PATH_LEN} characters")));
        }
        let Some(body) = input.strip_suffix('/') else {
            return Err(bad("must end with '/'"));
        };
        let segments: Vec<&str> = body.split('/').collect();
        if segments.len() > MAX_DEPTH {
            return Err(bad(&format!("deeper than {MAX_DEPTH} levels")));
        }
        for segment in segments {
            if segment.is_empty() {
                return Err(bad("empty segment"));
            }
            if segment.len() > MAX_SEGMENT_LEN {
                return Err(bad(&format!("segment longer than {MAX_SEGMENT_LEN}")));
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(bad("segments may contain only a-z, 0-9, '-' and '_'"));
            }
        }
        Ok(SpacePath(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.trim_end_matches('/').split('/')
    }

    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    pub fn is_top_level(&self) -> bool {
        self.depth() == 1
    }

    /// The last segment: `eng` for `acme/eng/`.
    pub fn leaf(&self) -> &str {
        self.segments().last().unwrap_or_default()
    }

    pub fn parent(&self) -> Option<SpacePath> {
        let body = &self.0[..self.0.len() - 1];
        body.rfind('/').map(|i| SpacePath(self.0[..=i].to_owned()))
    }

    /// This path and every ancestor, root first: `acme/`, `acme/eng/`.
    pub fn lineage(&self) -> Vec<SpacePath> {
        self.0
            .match_indices('/')
            .map(|(i, _)| SpacePath(self.0[..=i].to_owned()))
            .collect()
    }

    /// True when `self` is `other` or lies beneath it.
    pub fn is_within(&self, other: &SpacePath) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The exclusive upper bound of this subtree in byte order: every path within
    /// `self` sorts in `[self, upper)`. Lets storage answer subtree queries with an
    /// index range instead of a pattern.
    pub fn subtree_upper_bound(&self) -> String {
        // Paths end in '/', and '0' is the byte right after '/'.
        let mut upper = self.0[..self.0.len() - 1].to_owned();
        upper.push('0');
        upper
    }
}

/// The roots of the subtrees both lists cover: where a root of one lies within a root
/// of the other, the deeper one. The result holds no root within another.
pub fn intersect_subtrees(a: &[SpacePath], b: &[SpacePath]) -> Vec<SpacePath> {
    let mut out: Vec<SpacePath> = Vec::new();
    for x in a {
        for y in b {
            let deeper = if x.is_within(y) {
                x
            } else if y.is_within(x) {
                y
            } else {
                continue;
            };
            out.push(deeper.clone());
        }
    }
    minimal_roots(out)
}

/// Drops every root that lies within another (and duplicates).
pub fn minimal_roots(mut roots: Vec<SpacePath>) -> Vec<SpacePath> {
    roots.sort();
    roots.dedup();
    let mut out: Vec<SpacePath> = Vec::new();
    for r in roots {
        // Sorted order puts an ancestor before everything beneath it.
        if !out.iter().any(|o| r.is_within(o)) {
            out.push(r);
        }
    }
    out
}

impl fmt::Display for SpacePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SpacePath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SpacePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SpacePath::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> SpacePath {
        SpacePath::parse(s).unwrap()
    }

    #[test]
    fn accepts_well_formed_paths() {
        for ok in ["acme/", "acme/eng/", "a-b_c/0/x/", "acme/eng/backend/"] {
            assert_eq!(p(ok).as_str(), ok);
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "",
            "/",
            "acme",
            "/acme/",
            "acme//",
            "acme/../",
            "acme/./",
            "../",
            "..",
            "Acme/",
            "acme eng/",
            "acme/eng",
            "acme\\eng/",
            "acme/é/",
            "acme/%2e%2e/",
        ] {
            let err = SpacePath::parse(bad).unwrap_err();
            assert_eq!(err.field(), Some("space"), "{bad:?}");
        }
        assert!(SpacePath::parse(&format!("{}/", "a".repeat(64))).is_err());
        assert!(SpacePath::parse(&"a/".repeat(9)).is_err());
    }

    #[test]
    fn a_prefix_of_the_text_is_not_a_prefix_of_the_tree() {
        assert!(!p("acmecorp/").is_within(&p("acme/")));
        assert!(p("acme/eng/").is_within(&p("acme/")));
        assert!(p("acme/").is_within(&p("acme/")));
        assert!(!p("acme/").is_within(&p("acme/eng/")));
    }

    #[test]
    fn lineage_and_parent() {
        assert_eq!(p("a/b/c/").lineage(), vec![p("a/"), p("a/b/"), p("a/b/c/")]);
        assert_eq!(p("a/b/").parent(), Some(p("a/")));
        assert_eq!(p("a/").parent(), None);
        assert_eq!(p("a/b/").leaf(), "b");
    }

    #[test]
    fn subtree_intersections() {
        let v = |l: &[&str]| l.iter().map(|s| p(s)).collect::<Vec<_>>();
        assert_eq!(
            intersect_subtrees(&v(&["acme/"]), &v(&["acme/eng/"])),
            v(&["acme/eng/"])
        );
        assert_eq!(
            intersect_subtrees(&v(&["acme/eng/"]), &v(&["acme/"])),
            v(&["acme/eng/"])
        );
        assert_eq!(
            intersect_subtrees(&v(&["acme/"]), &v(&["acmecorp/"])),
            v(&[])
        );
        assert_eq!(
            intersect_subtrees(&v(&["a/", "b/"]), &v(&["a/x/", "b/", "c/"])),
            v(&["a/x/", "b/"])
        );
        assert_eq!(
            minimal_roots(v(&["a/x/", "a/", "b/", "a/"])),
            v(&["a/", "b/"])
        );
    }

    fn segment() -> impl Strategy<Value = String> {
        "[a-z0-9_-]{1,12}"
    }

    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(segment(), 1..5).prop_map(|s| format!("{}/", s.join("/")))
    }

    proptest! {
        #[test]
        fn every_generated_path_round_trips(s in path()) {
            let parsed = SpacePath::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
            let lineage = parsed.lineage();
            prop_assert_eq!(lineage.last().unwrap(), &parsed);
        }

        #[test]
        fn within_agrees_with_segment_prefix(a in path(), b in path()) {
            let (pa, pb) = (SpacePath::parse(&a).unwrap(), SpacePath::parse(&b).unwrap());
            let sa: Vec<&str> = pa.segments().collect();
            let sb: Vec<&str> = pb.segments().collect();
            let segment_prefix = sa.len() >= sb.len() && sa[..sb.len()] == sb[..];
            prop_assert_eq!(pa.is_within(&pb), segment_prefix);
        }

        #[test]
        fn subtree_bound_contains_exactly_the_subtree(a in path(), b in path()) {
            let (pa, pb) = (SpacePath::parse(&a).unwrap(), SpacePath::parse(&b).unwrap());
            let upper = pb.subtree_upper_bound();
            let in_range = pa.as_str() >= pb.as_str() && pa.as_str() < upper.as_str();
            prop_assert_eq!(in_range, pa.is_within(&pb));
        }

        #[test]
        fn nothing_with_a_dot_segment_or_empty_segment_parses(
            pre in path(), bad in prop::sample::select(vec!["./", "../", "/", "x/../"])
        ) {
            let candidate = format!("{pre}{bad}");
            prop_assert!(SpacePath::parse(&candidate).is_err());
        }

        #[test]
        fn a_path_is_in_the_intersection_exactly_when_it_is_in_both(
            a in prop::collection::vec(path(), 1..4),
            b in prop::collection::vec(path(), 1..4),
            probe in path()
        ) {
            let (a, b): (Vec<SpacePath>, Vec<SpacePath>) = (
                a.iter().map(|s| SpacePath::parse(s).unwrap()).collect(),
                b.iter().map(|s| SpacePath::parse(s).unwrap()).collect(),
            );
            let probe = SpacePath::parse(&probe).unwrap();
            let within = |roots: &[SpacePath]| roots.iter().any(|r| probe.is_within(r));
            prop_assert_eq!(within(&intersect_subtrees(&a, &b)), within(&a) && within(&b));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,300}") {
            if let Ok(p) = SpacePath::parse(&s) {
                prop_assert!(p.as_str().ends_with('/'));
                prop_assert!(!p.as_str().contains(".."));
                prop_assert!(!p.as_str().contains("//"));
            }
        }
    }
}
