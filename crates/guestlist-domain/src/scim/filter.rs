//! The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): parsed
//! against a resource type's schema (an attribute it does not have is refused,
//! `invalidFilter` / `invalidPath`), evaluated on a resource as it is shown.
//!
//! Supported: `eq ne co sw ew gt ge lt le pr`, `and`, `or`, `not ( … )`, grouping,
//! value filters `emails[type eq "work"]`, and, as Entra sends it,
//! `emails[type eq "work"].value eq "…"`. Attribute names and operators are matched
//! without regard to case; string values by the attribute's `caseExact`.

use serde_json::Value;

use super::schema::{Attr, Kind, ResourceDef, SchemaDef};
use super::{Object, ScimType, refused};
use crate::Error;

/// An attribute a filter or a path names: top-level (in the core schema or an
/// extension), and perhaps one of its sub-attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The extension's URN, when the attribute is an extension's.
    pub extension: Option<&'static str>,
    /// The canonical name.
    pub attr: String,
    pub sub: Option<String>,
    pub case_exact: bool,
    /// Whether the top-level attribute is multi-valued.
    pub multi: bool,
    pub read_only: bool,
}

impl AttrPath {
    /// The values this path reaches in `resource`.
    fn values<'a>(&self, resource: &'a Object) -> Vec<&'a Value> {
        let holder = match self.extension {
            Some(urn) => match resource.get(urn) {
                Some(Value::Object(o)) => o,
                _ => return vec![],
            },
            None => resource,
        };
        let Some(top) = holder.get(&self.attr) else {
            return vec![];
        };
        let elements: Vec<&Value> = match top {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        match &self.sub {
            Some(sub) => elements.into_iter().filter_map(|e| e.get(sub)).collect(),
            // A multi-valued complex attribute compares by its `value`.
            None if self.multi => elements
                .into_iter()
                .map(|e| e.get("value").unwrap_or(e))
                .collect(),
            None => elements,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(AttrPath, Op, Value),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of `attr` matches `filter` (whose paths name the
    /// element's sub-attributes).
    Elements(AttrPath, Box<Filter>),
}

impl Filter {
    /// Parses a `filter` query parameter for resources of `def`.
    pub fn parse(def: &ResourceDef, text: &str) -> Result<Filter, Error> {
        let tokens = lex(text).map_err(|e| bad_filter(&e))?;
        if tokens.is_empty() {
            return Err(bad_filter("an empty filter"));
        }
        let mut p = Parser {
            def,
            tokens,
            at: 0,
            within: None,
            depth: 0,
            terms: 0,
        };
        let f = p.or()?;
        if p.at != p.tokens.len() {
            return Err(bad_filter(&format!("unexpected {:?}", p.tokens[p.at])));
        }
        Ok(f)
    }

    pub fn matches(&self, resource: &Object) -> bool {
        match self {
            Filter::Compare(path, op, value) => path
                .values(resource)
                .into_iter()
                .any(|v| compare(v, *op, value, path.case_exact)),
            Filter::Present(path) => path.values(resource).into_iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            }),
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(f) => !f.matches(resource),
            Filter::Elements(path, f) => element_objects(path, resource)
                .into_iter()
                .any(|e| f.matches(e)),
        }
    }

    /// A value the filter requires `attr` (top-level, core schema) to equal: a
    /// store may look it up by index before the whole filter is applied.
    pub fn required_eq(&self, attr: &str) -> Option<&str> {
        match self {
            Filter::Compare(p, Op::Eq, Value::String(v))
                if p.extension.is_none() && p.sub.is_none() && p.attr == attr =>
            {
                Some(v)
            }
            Filter::And(a, b) => a.required_eq(attr).or_else(|| b.required_eq(attr)),
            _ => None,
        }
    }
}

/// The elements (objects) of a multi-valued complex attribute, or the object of a
/// single complex one.
pub(crate) fn element_objects<'a>(path: &AttrPath, resource: &'a Object) -> Vec<&'a Object> {
    let holder = match path.extension {
        Some(urn) => match resource.get(urn) {
            Some(Value::Object(o)) => o,
            _ => return vec![],
        },
        None => resource,
    };
    match holder.get(&path.attr) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => vec![o],
        _ => vec![],
    }
}

fn fold(s: &str, case_exact: bool) -> String {
    if case_exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

fn compare(actual: &Value, op: Op, wanted: &Value, case_exact: bool) -> bool {
    match (actual, wanted) {
        (Value::String(a), Value::String(w)) => {
            let (a, w) = (fold(a, case_exact), fold(w, case_exact));
            match op {
                Op::Eq => a == w,
                Op::Ne => a != w,
                Op::Co => a.contains(&w),
                Op::Sw => a.starts_with(&w),
                Op::Ew => a.ends_with(&w),
                Op::Gt => a > w,
                Op::Ge => a >= w,
                Op::Lt => a < w,
                Op::Le => a <= w,
            }
        }
        (Value::Bool(a), Value::Bool(w)) => match op {
            Op::Eq => a == w,
            Op::Ne => a != w,
            _ => false,
        },
        (Value::Number(a), Value::Number(w)) => {
            let (Some(a), Some(w)) = (a.as_f64(), w.as_f64()) else {
                return false;
            };
            match op {
                Op::Eq => a == w,
                Op::Ne => a != w,
                Op::Gt => a > w,
                Op::Ge => a >= w,
                Op::Lt => a < w,
                Op::Le => a <= w,
                _ => false,
            }
        }
        (_, Value::Null) => op == Op::Ne,
        _ => op == Op::Ne,
    }
}

fn bad_filter(why: &str) -> Error {
    refused(ScimType::InvalidFilter, format!("filter: {why}"))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Str(String),
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (j, c) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or("a string that does not end")?;
                let s: String = serde_json::from_str(&text[i..=end])
                    .map_err(|_| "a string with a bad escape".to_owned())?;
                out.push(Token::Str(s));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || "()[]\"".contains(c) {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Word(text[i..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser<'d> {
    def: &'d ResourceDef,
    tokens: Vec<Token>,
    at: usize,
    /// Inside `attr[…]`: the attribute whose sub-attributes the paths name.
    within: Option<(&'static Attr, Option<&'static str>)>,
    /// How many `(`, `not(` and `[` enclose the token at hand.
    depth: usize,
    /// Comparisons so far: an `and`/`or` chain nests the tree it builds (and the
    /// recursion that matches and drops it) one level per term.
    terms: usize,
}

/// Most comparisons in one filter.
pub const MAX_TERMS: usize = 256;

impl Parser<'_> {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Filter, Error> {
        let mut f = self.and()?;
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("or"))
        {
            self.at += 1;
            f = Filter::Or(Box::new(f), Box::new(self.and()?));
        }
        Ok(f)
    }

    fn and(&mut self) -> Result<Filter, Error> {
        let mut f = self.unary()?;
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("and"))
        {
            self.at += 1;
            f = Filter::And(Box::new(f), Box::new(self.unary()?));
        }
        Ok(f)
    }

    fn expect(&mut self, t: Token) -> Result<(), Error> {
        if self.tokens.get(self.at) == Some(&t) {
            self.at += 1;
            Ok(())
        } else {
            Err(bad_filter(&format!("expected {t:?}")))
        }
    }

    /// Parses what `parse` does one level deeper, refusing (before recursing) a
    /// nesting deeper than `nesting::MAX_NESTING`.
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        if self.depth >= crate::nesting::MAX_NESTING {
            return Err(bad_filter(&format!(
                "nests deeper than {}",
                crate::nesting::MAX_NESTING
            )));
        }
        self.depth += 1;
        let out = parse(self);
        self.depth -= 1;
        out
    }

    fn unary(&mut self) -> Result<Filter, Error> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.at += 1;
                self.expect(Token::Open)?;
                let f = self.nested(Self::or)?;
                self.expect(Token::Close)?;
                Ok(Filter::Not(Box::new(f)))
            }
            Some(Token::Open) => {
                self.at += 1;
                let f = self.nested(Self::or)?;
                self.expect(Token::Close)?;
                Ok(f)
            }
            Some(Token::Word(path)) => {
                self.at += 1;
                self.attr_expr(&path)
            }
            other => Err(bad_filter(&format!(
                "expected an attribute, found {other:?}"
            ))),
        }
    }

    fn attr_expr(&mut self, path: &str) -> Result<Filter, Error> {
        if self.tokens.get(self.at) == Some(&Token::OpenBracket) {
            if self.within.is_some() {
                return Err(bad_filter("a value filter inside a value filter"));
            }
            self.at += 1;
            let top = resolve(self.def, path, ScimType::InvalidFilter)?;
            if top.sub.is_some() {
                return Err(bad_filter("a value filter follows a top-level attribute"));
            }
            let (ext, attr) = locate(self.def, path, ScimType::InvalidFilter)?;
            if attr.kind != Kind::Complex {
                return Err(bad_filter(&format!("{} has no sub-attributes", attr.name)));
            }
            self.within = Some((attr, ext.map(|e| e.id)));
            let inner = self.nested(Self::or);
            self.within = None;
            let mut inner = inner?;
            self.expect(Token::CloseBracket)?;
            // Entra's `emails[type eq "work"].value eq "…"`.
            if let Some(w) = self
                .peek_word()
                .filter(|w| w.starts_with('.'))
                .map(str::to_owned)
            {
                self.at += 1;
                self.within = Some((attr, ext.map(|e| e.id)));
                let tail = self.comparison(&w[1..]);
                self.within = None;
                inner = Filter::And(Box::new(inner), Box::new(tail?));
            }
            return Ok(Filter::Elements(top, Box::new(inner)));
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: &str) -> Result<Filter, Error> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(bad_filter(&format!("more than {MAX_TERMS} comparisons")));
        }
        let target = match self.within {
            Some((attr, _)) => {
                let sub = attr
                    .sub_attr(path)
                    .ok_or_else(|| bad_filter(&format!("{} has no {path:?}", attr.name)))?;
                AttrPath {
                    extension: None,
                    attr: sub.name.to_owned(),
                    sub: None,
                    case_exact: sub.case_exact,
                    multi: false,
                    read_only: false,
                }
            }
            None => resolve(self.def, path, ScimType::InvalidFilter)?,
        };
        let op = self
            .peek_word()
            .ok_or_else(|| bad_filter(&format!("an operator after {path:?}")))?
            .to_ascii_lowercase();
        self.at += 1;
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(target)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(bad_filter(&format!("unknown operator {other:?}"))),
        };
        let value = match self.tokens.get(self.at) {
            Some(Token::Str(s)) => Value::String(s.clone()),
            Some(Token::Word(w)) if w == "true" => Value::Bool(true),
            Some(Token::Word(w)) if w == "false" => Value::Bool(false),
            Some(Token::Word(w)) if w == "null" => Value::Null,
            Some(Token::Word(w)) => Value::Number(
                w.parse::<serde_json::Number>()
                    .map_err(|_| bad_filter(&format!("{w:?} is not a value")))?,
            ),
            _ => return Err(bad_filter(&format!("a value after {path:?} {op:?}"))),
        };
        self.at += 1;
        Ok(Filter::Compare(target, op, value))
    }
}

/// The common attributes every resource has beside its schema's.
fn common(name: &str) -> Option<(&'static str, bool)> {
    [("id", true), ("externalId", true), ("meta", false)]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// The top-level attribute `path` starts with, and the schema it is in.
fn locate(
    def: &ResourceDef,
    path: &str,
    kind: ScimType,
) -> Result<(Option<&'static SchemaDef>, &'static Attr), Error> {
    let (ext, rest) = def
        .split_urn(path)
        .map_err(|_| refused(kind, format!("no attribute {path:?}")))?;
    let name = rest.split('.').next().unwrap_or_default();
    let located = def
        .locate(ext, name)
        .ok_or_else(|| refused(kind, format!("no attribute {path:?}")))?;
    Ok((ext, located.attr))
}

/// Resolves `attr` or `attr.sub` (perhaps after a schema URN) against `def`.
pub fn resolve(def: &ResourceDef, path: &str, kind: ScimType) -> Result<AttrPath, Error> {
    let no = || refused(kind, format!("no attribute {path:?}"));
    let (ext, rest) = def.split_urn(path).map_err(|_| no())?;
    let mut parts = rest.splitn(2, '.');
    let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(no)?;
    let sub = parts.next();
    if ext.is_none()
        && let Some((canonical, case_exact)) = common(name)
    {
        let sub = match (canonical, sub) {
            ("meta", Some(s)) => [
                "created",
                "lastModified",
                "resourceType",
                "version",
                "location",
            ]
            .into_iter()
            .find(|m| m.eq_ignore_ascii_case(s))
            .map(str::to_owned)
            .ok_or_else(no)?
            .into(),
            (_, Some(_)) => return Err(no()),
            (_, None) => None,
        };
        return Ok(AttrPath {
            extension: None,
            attr: canonical.to_owned(),
            sub,
            case_exact,
            multi: false,
            read_only: canonical != "externalId",
        });
    }
    let located = def.locate(ext, name).ok_or_else(no)?;
    let a = located.attr;
    let (sub, case_exact) = match sub {
        Some(s) => {
            let sa = a.sub_attr(s).ok_or_else(no)?;
            (Some(sa.name.to_owned()), sa.case_exact)
        }
        None => (None, a.case_exact),
    };
    Ok(AttrPath {
        extension: ext.map(|e| e.id),
        attr: a.name.to_owned(),
        sub,
        case_exact,
        multi: a.multi,
        read_only: a.mutability == super::schema::Mutability::ReadOnly,
    })
}

/// A PATCH path: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
#[derive(Debug, Clone)]
pub struct PatchPath {
    pub target: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter.
    pub sub: Option<String>,
}

impl PatchPath {
    pub fn parse(def: &ResourceDef, text: &str) -> Result<PatchPath, Error> {
        let bad = |why: &str| refused(ScimType::InvalidPath, format!("path {text:?}: {why}"));
        let Some(open) = text.find('[') else {
            let target = resolve(def, text.trim(), ScimType::InvalidPath)?;
            return Ok(PatchPath {
                target,
                filter: None,
                sub: None,
            });
        };
        let close = text.rfind(']').ok_or_else(|| bad("a '[' without ']'"))?;
        let head = text[..open].trim();
        let target = resolve(def, head, ScimType::InvalidPath)?;
        let (ext, attr) = locate(def, head, ScimType::InvalidPath)?;
        if target.sub.is_some() || attr.kind != Kind::Complex {
            return Err(bad("a value filter follows a complex attribute"));
        }
        let tokens = lex(&text[open + 1..close]).map_err(|e| bad(&e))?;
        let mut p = Parser {
            def,
            tokens,
            at: 0,
            within: Some((attr, ext.map(|e| e.id))),
            depth: 0,
            terms: 0,
        };
        let filter = p.or().map_err(|e| bad(&e.to_string()))?;
        if p.at != p.tokens.len() {
            return Err(bad("a value filter that does not end"));
        }
        let tail = text[close + 1..].trim();
        let sub = match tail {
            "" => None,
            t => {
                let name = t
                    .strip_prefix('.')
                    .ok_or_else(|| bad("expected '.sub' after ']'"))?;
                Some(
                    attr.sub_attr(name)
                        .ok_or_else(|| bad(&format!("{} has no {name:?}", attr.name)))?
                        .name
                        .to_owned(),
                )
            }
        };
        Ok(PatchPath {
            target,
            filter: Some(filter),
            sub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::{GROUP, USER};
    use super::*;
    use serde_json::json;

    fn user() -> Object {
        json!({
            "id": "u1", "userName": "Ada@Example.test", "externalId": "E-1", "active": true,
            "name": { "givenName": "Ada" },
            "emails": [{ "value": "ada@work.test", "type": "work" }, { "value": "ada@home.test", "type": "home" }],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Eng" },
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn yes(f: &str) -> bool {
        Filter::parse(&USER, f).unwrap().matches(&user())
    }

    #[test]
    fn the_filters_identity_providers_send() {
        assert!(yes(r#"userName eq "ada@example.test""#));
        assert!(yes(r#"USERNAME EQ "ADA@EXAMPLE.TEST""#));
        assert!(!yes(r#"externalId eq "e-1""#), "externalId is case-exact");
        assert!(yes(r#"externalId eq "E-1""#));
        assert!(yes(r#"emails[type eq "work"].value eq "ada@work.test""#));
        assert!(!yes(r#"emails[type eq "home"].value eq "ada@work.test""#));
        assert!(yes(r#"emails[type eq "work" and value co "work"]"#));
        assert!(yes(r#"userName sw "ada" and active eq true"#));
        assert!(yes(
            r#"not (name.givenName eq "Bob") and (title pr or active eq true)"#
        ));
        assert!(yes(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "eng""#
        ));
        assert!(yes(r#"emails.value ew "home.test""#));
        assert!(!yes(r#"userName eq "ada" or title pr"#));
    }

    #[test]
    fn beyond_the_grammar_is_invalid_filter() {
        for f in [
            "",
            "userName",
            r#"userName xx "a""#,
            r#"shoeSize eq "9""#,
            r#"userName eq "a" and"#,
            r#"emails[type eq "work""#,
            r#"emails[shoe eq "work"]"#,
            r#"userName eq "unterminated"#,
            r#"(userName eq "a""#,
        ] {
            let err = Filter::parse(&USER, f).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Scim {
                        scim_type: ScimType::InvalidFilter,
                        ..
                    }
                ),
                "{f}: {err:?}"
            );
        }
    }

    #[test]
    fn nesting_and_chains_are_bounded_before_they_reach_the_stack() {
        let nest =
            |n: usize, open: &str| format!("{}userName eq \"a\"{}", open.repeat(n), ")".repeat(n));
        let max = crate::nesting::MAX_NESTING;
        assert!(Filter::parse(&USER, &nest(max, "(")).is_ok());
        assert!(Filter::parse(&USER, &nest(max, "not (")).is_ok());
        for deep in [
            nest(max + 1, "("),
            nest(100_000, "("),
            nest(100_000, "not("),
        ] {
            let err = Filter::parse(&USER, &deep).unwrap_err();
            assert!(err.to_string().contains("deeper than 64"), "{err}");
        }
        let chain = |n: usize| vec![r#"userName eq "a""#; n].join(" and ");
        assert!(Filter::parse(&USER, &chain(MAX_TERMS)).is_ok());
        let err = Filter::parse(&USER, &chain(100_000)).unwrap_err();
        assert!(err.to_string().contains("comparisons"), "{err}");
        let path = format!("emails[{}]", nest(100_000, "("));
        let err = PatchPath::parse(&USER, &path).unwrap_err();
        assert!(err.to_string().contains("deeper than 64"), "{err}");
    }

    #[test]
    fn an_index_may_answer_the_equality_a_filter_requires() {
        let f = Filter::parse(&USER, r#"active eq true and userName eq "Ada""#).unwrap();
        assert_eq!(f.required_eq("userName"), Some("Ada"));
        let f = Filter::parse(&USER, r#"userName eq "Ada" or active eq true"#).unwrap();
        assert_eq!(f.required_eq("userName"), None);
    }

    #[test]
    fn patch_paths() {
        let p = PatchPath::parse(&GROUP, r#"members[value eq "u1"]"#).unwrap();
        assert_eq!(p.target.attr, "members");
        assert!(p.filter.is_some());
        let p = PatchPath::parse(&USER, r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.sub.as_deref(), Some("value"));
        let p = PatchPath::parse(&USER, "name.GIVENNAME").unwrap();
        assert_eq!(p.target.sub.as_deref(), Some("givenName"));
        let p = PatchPath::parse(
            &USER,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert!(p.target.extension.is_some());
        for bad in [
            "shoe",
            "name.shoe",
            "emails[type eq]",
            "emails[type eq \"w\"].shoe",
        ] {
            let err = PatchPath::parse(&USER, bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Scim {
                        scim_type: ScimType::InvalidPath,
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}

/// Shapes a resource as `attributes` / `excludedAttributes` ask (RFC 7644 §3.4.2.5):
/// `schemas` and `id` are always returned; with `attributes`, only the attributes
/// (or sub-attributes) named, otherwise everything but those excluded.
pub fn project(
    def: &ResourceDef,
    resource: &Object,
    attributes: &[String],
    excluded: &[String],
) -> Result<Object, Error> {
    let paths = |names: &[String]| -> Result<Vec<AttrPath>, Error> {
        names
            .iter()
            .map(|n| resolve(def, n.trim(), ScimType::InvalidValue))
            .collect()
    };
    let (attributes, excluded) = (paths(attributes)?, paths(excluded)?);
    let always = |k: &str| k == "schemas" || k == "id";
    if !attributes.is_empty() {
        let mut out = Object::new();
        for (k, v) in resource {
            if always(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        for p in &attributes {
            let (holder, into_ext) = match p.extension {
                Some(urn) => match resource.get(urn).and_then(Value::as_object) {
                    Some(o) => (o, Some(urn)),
                    None => continue,
                },
                None => (resource, None),
            };
            let Some(v) = holder.get(&p.attr) else {
                continue;
            };
            let v = match &p.sub {
                None => v.clone(),
                Some(sub) => keep_sub(v, sub, out_existing(&out, into_ext, &p.attr)),
            };
            match into_ext {
                Some(urn) => {
                    let e = out
                        .entry(urn.to_owned())
                        .or_insert_with(|| Value::Object(Object::new()));
                    if let Some(e) = e.as_object_mut() {
                        e.insert(p.attr.clone(), v);
                    }
                }
                None => {
                    out.insert(p.attr.clone(), v);
                }
            }
        }
        return Ok(out);
    }
    let mut out = resource.clone();
    for p in &excluded {
        if always(&p.attr) && p.extension.is_none() {
            continue;
        }
        let holder = match p.extension {
            Some(urn) => match out.get_mut(urn).and_then(Value::as_object_mut) {
                Some(o) => o,
                None => continue,
            },
            None => &mut out,
        };
        match &p.sub {
            None => {
                holder.remove(&p.attr);
            }
            Some(sub) => match holder.get_mut(&p.attr) {
                Some(Value::Object(o)) => {
                    o.remove(sub);
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        i.remove(sub);
                    }
                }
                _ => {}
            },
        }
        if let Some(urn) = p.extension
            && out
                .get(urn)
                .and_then(Value::as_object)
                .is_some_and(Object::is_empty)
        {
            out.remove(urn);
        }
    }
    Ok(out)
}

/// What was already kept of an attribute (several of its sub-attributes asked for).
fn out_existing<'a>(out: &'a Object, ext: Option<&str>, attr: &str) -> Option<&'a Value> {
    match ext {
        Some(urn) => out.get(urn).and_then(|e| e.get(attr)),
        None => out.get(attr),
    }
}

/// `v` with only its sub-attribute `sub` (merged into what was kept before).
fn keep_sub(v: &Value, sub: &str, kept: Option<&Value>) -> Value {
    let pick = |o: &Object, base: Option<&Value>| -> Value {
        let mut n = base.and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(x) = o.get(sub) {
            n.insert(sub.to_owned(), x.clone());
        }
        Value::Object(n)
    };
    match v {
        Value::Object(o) => pick(o, kept),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(n, i)| {
                    let base = kept.and_then(|k| k.get(n));
                    i.as_object().map(|o| pick(o, base))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod projection {
    use super::super::schema::USER;
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_keep_only_what_is_named_and_excluded_drops_it() {
        let r =
            json!({ "schemas": ["s"], "id": "1", "userName": "a", "title": "t", "externalId": "x",
            "name": { "givenName": "A", "familyName": "L" },
            "emails": [{ "value": "a@x.test", "type": "work" }] })
            .as_object()
            .unwrap()
            .clone();
        let p = project(
            &USER,
            &r,
            &[
                "NAME.givenName".into(),
                "emails.value".into(),
                "externalId".into(),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            json!({ "schemas": ["s"], "id": "1", "name": { "givenName": "A" },
                "emails": [{ "value": "a@x.test" }], "externalId": "x" })
        );
        let p = project(
            &USER,
            &r,
            &[],
            &["title".into(), "id".into(), "name.familyName".into()],
        )
        .unwrap();
        assert!(p.get("title").is_none());
        assert_eq!(p["id"], "1");
        assert_eq!(p["name"], json!({ "givenName": "A" }));
        assert!(project(&USER, &r, &["shoe".into()], &[]).is_err());
    }
}
