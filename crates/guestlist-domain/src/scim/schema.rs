//! The schemas Guestlist serves (RFC 7643 §4, §8.7), as data: `/Schemas` renders them,
//! and every resource a client sends is read through them (`ResourceDef::read`), so
//! an attribute the schema does not name is refused, names are matched without regard
//! to case, and each value has its declared type.

use serde_json::{Value, json};

use super::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Object, ScimType, USER_SCHEMA, refused};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    /// `server`: no two resources of a type may hold the same value.
    pub unique: bool,
    pub sub: &'static [Attr],
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub description: &'static str,
}

const fn attr(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        kind: Kind::String,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        sub: &[],
        canonical: &[],
        reference_types: &[],
        description,
    }
}

impl Attr {
    const fn boolean(mut self) -> Self {
        self.kind = Kind::Boolean;
        self
    }
    const fn reference(mut self, types: &'static [&'static str]) -> Self {
        self.kind = Kind::Reference;
        self.reference_types = types;
        self
    }
    const fn complex(mut self, sub: &'static [Attr]) -> Self {
        self.kind = Kind::Complex;
        self.sub = sub;
        self
    }
    const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn immutable(mut self) -> Self {
        self.mutability = Mutability::Immutable;
        self
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }

    /// The sub-attribute named `name` (any case).
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attr> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn render(&self) -> Value {
        let kind = match self.kind {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Reference => "reference",
            Kind::Complex => "complex",
        };
        let mut a = json!({
            "name": self.name,
            "type": kind,
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": match self.mutability {
                Mutability::ReadOnly => "readOnly",
                Mutability::ReadWrite => "readWrite",
                Mutability::Immutable => "immutable",
            },
            "returned": "default",
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.canonical.is_empty() {
            a["canonicalValues"] = json!(self.canonical);
        }
        if self.kind == Kind::Reference {
            a["referenceTypes"] = json!(self.reference_types);
        }
        if self.kind == Kind::Complex {
            a["subAttributes"] = Value::Array(self.sub.iter().map(Attr::render).collect());
        }
        a
    }
}

/// A schema: a core schema or an extension.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attrs: &'static [Attr],
}

impl SchemaDef {
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema as `/Schemas` shows it.
    pub fn render(&self, base: &str) -> Value {
        json!({
            "schemas": [super::SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attrs.iter().map(Attr::render).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{}", self.id) },
        })
    }
}

/// A resource type: its core schema and its extensions.
#[derive(Debug)]
pub struct ResourceDef {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub core: &'static SchemaDef,
    pub extensions: &'static [&'static SchemaDef],
}

const TYPE_VALUE: &[Attr] = &[
    attr("value", "The value."),
    attr("display", "A name for display."),
    attr("type", "What kind of value it is.").canonical(&["work", "home", "other"]),
    attr("primary", "Whether this is the preferred value.").boolean(),
];

const ADDRESS: &[Attr] = &[
    attr("formatted", "The full address."),
    attr("streetAddress", "The street."),
    attr("locality", "The city."),
    attr("region", "The state or region."),
    attr("postalCode", "The postal code."),
    attr("country", "The country."),
    attr("type", "What kind of address it is.").canonical(&["work", "home", "other"]),
    attr("primary", "Whether this is the preferred address.").boolean(),
];

const NAME: &[Attr] = &[
    attr("formatted", "The full name."),
    attr("familyName", "The family name."),
    attr("givenName", "The given name."),
    attr("middleName", "The middle name."),
    attr("honorificPrefix", "A title before the name."),
    attr("honorificSuffix", "A suffix after the name."),
];

const USER_GROUP: &[Attr] = &[
    attr("value", "The group's id.").read_only(),
    attr("$ref", "The group's URI.")
        .reference(&["Group"])
        .read_only(),
    attr("display", "The group's name.").read_only(),
    attr("type", "How the user is in it.")
        .canonical(&["direct"])
        .read_only(),
];

pub static USER_CORE: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "A person the identity provider provisions.",
    attrs: &[
        attr(
            "userName",
            "The identifier the person signs in with; unique.",
        )
        .required()
        .unique(),
        attr("name", "The person's name.").complex(NAME),
        attr("displayName", "The name to show."),
        attr("nickName", "A casual name."),
        attr("profileUrl", "A page about the person.").reference(&["external"]),
        attr("title", "The person's title."),
        attr("userType", "How the organisation relates to the person."),
        attr("preferredLanguage", "The preferred language."),
        attr("locale", "The locale."),
        attr("timezone", "The time zone."),
        attr(
            "active",
            "Whether the person may have access: false deprovisions.",
        )
        .boolean(),
        attr(
            "emails",
            "E-mail addresses; each is recorded as the user's.",
        )
        .multi()
        .complex(TYPE_VALUE),
        attr("phoneNumbers", "Phone numbers.")
            .multi()
            .complex(TYPE_VALUE),
        attr("addresses", "Postal addresses.")
            .multi()
            .complex(ADDRESS),
        attr("groups", "The groups (spaces) the user is in.")
            .multi()
            .read_only()
            .complex(USER_GROUP),
    ],
};

const MANAGER: &[Attr] = &[
    attr("value", "The manager's id."),
    attr("$ref", "The manager's URI.").reference(&["User"]),
    attr("displayName", "The manager's name.").read_only(),
];

pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise attributes of a user.",
    attrs: &[
        attr("employeeNumber", "The employee number."),
        attr("costCenter", "The cost center."),
        attr("organization", "The organisation."),
        attr("division", "The division."),
        attr("department", "The department."),
        attr("manager", "The user's manager.").complex(MANAGER),
    ],
};

const MEMBER: &[Attr] = &[
    attr("value", "The member's user id.").immutable(),
    attr("$ref", "The member's URI.")
        .reference(&["User"])
        .immutable(),
    attr("display", "The member's userName.").read_only(),
    attr("type", "What the member is: only users.")
        .canonical(&["User"])
        .immutable(),
];

pub static GROUP_CORE: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "A space: its members are provisioned there.",
    attrs: &[
        attr("displayName", "The space's name.").required(),
        attr("members", "The users provisioned into the space.")
            .multi()
            .complex(MEMBER),
    ],
};

pub static USER: ResourceDef = ResourceDef {
    name: "User",
    endpoint: "/Users",
    description: "A person; active ones hold the memberships of their groups.",
    core: &USER_CORE,
    extensions: &[&ENTERPRISE_USER],
};

pub static GROUP: ResourceDef = ResourceDef {
    name: "Group",
    endpoint: "/Groups",
    description: "A space within the key's subtree.",
    core: &GROUP_CORE,
    extensions: &[],
};

pub static RESOURCES: [&ResourceDef; 2] = [&USER, &GROUP];

/// Every schema served, by id.
pub fn schemas() -> [&'static SchemaDef; 3] {
    [&USER_CORE, &ENTERPRISE_USER, &GROUP_CORE]
}

/// What a resource may hold beside its schemas' attributes.
const COMMON: [&str; 4] = ["schemas", "id", "meta", "externalId"];

/// Where an attribute is: in the core schema, or in an extension (by its URN).
#[derive(Debug, Clone, Copy)]
pub struct Located {
    pub extension: Option<&'static SchemaDef>,
    pub attr: &'static Attr,
}

impl ResourceDef {
    /// The resource type as `/ResourceTypes` shows it.
    pub fn render(&self, base: &str) -> Value {
        json!({
            "schemas": [super::RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
            "schemaExtensions": self.extensions.iter()
                .map(|e| json!({ "schema": e.id, "required": false }))
                .collect::<Vec<_>>(),
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", self.name) },
        })
    }

    pub fn extension(&self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions
            .iter()
            .copied()
            .find(|e| e.id.eq_ignore_ascii_case(urn))
    }

    /// Splits a leading schema URN off an attribute path (`urn:…:User:department`).
    /// Returns the extension named (None: the core schema) and the rest.
    pub fn split_urn<'a>(
        &self,
        path: &'a str,
    ) -> Result<(Option<&'static SchemaDef>, &'a str), Error> {
        if !path
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        {
            return Ok((None, path));
        }
        for schema in std::iter::once(self.core).chain(self.extensions.iter().copied()) {
            let n = schema.id.len();
            if path.len() >= n && path[..n].eq_ignore_ascii_case(schema.id) {
                let rest = &path[n..];
                let ext = (schema.id != self.core.id).then_some(schema);
                return match rest.strip_prefix(':') {
                    Some(rest) => Ok((ext, rest)),
                    None if rest.is_empty() => Ok((ext, "")),
                    None => Err(refused(
                        ScimType::InvalidPath,
                        format!("no attribute {path:?}"),
                    )),
                };
            }
        }
        Err(refused(
            ScimType::InvalidPath,
            format!("no schema for {path:?}"),
        ))
    }

    /// The attribute `name` in `extension` (None: the core schema).
    pub fn locate(&self, extension: Option<&'static SchemaDef>, name: &str) -> Option<Located> {
        let schema = extension.unwrap_or(self.core);
        schema.attr(name).map(|attr| Located { extension, attr })
    }

    /// Reads a resource a client sent: every attribute known (any case; refused
    /// otherwise, `invalidSyntax`), each value of its declared type (`invalidValue`;
    /// Entra's `"True"`/`"False"` are booleans), read-only attributes and `id`/`meta`
    /// dropped (RFC 7643 §2.2: ignored), nulls and empty lists as absent. The result
    /// holds canonical names, extensions under their URNs, and no `schemas`.
    pub fn read(&self, input: &Value) -> Result<Object, Error> {
        let Value::Object(input) = input else {
            return Err(refused(
                ScimType::InvalidSyntax,
                "a resource is a JSON object",
            ));
        };
        let mut out = Object::new();
        for (key, value) in input {
            if let Some(common) = COMMON.iter().find(|c| c.eq_ignore_ascii_case(key)) {
                match *common {
                    "schemas" => self.check_schemas(value)?,
                    "externalId" => match value {
                        Value::Null => {}
                        Value::String(s) => {
                            out.insert("externalId".into(), Value::String(s.clone()));
                        }
                        _ => return Err(refused(ScimType::InvalidValue, "externalId is a string")),
                    },
                    _ => {}
                }
                continue;
            }
            if let Some(ext) = self.extension(key) {
                let Value::Object(inner) = value else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(refused(
                        ScimType::InvalidValue,
                        format!("{} is an object", ext.id),
                    ));
                };
                let mut read = Object::new();
                for (k, v) in inner {
                    let a = ext.attr(k).ok_or_else(|| unknown(k))?;
                    if let Some(v) = read_value(a, v)? {
                        read.insert(a.name.into(), v);
                    }
                }
                if !read.is_empty() {
                    out.insert(ext.id.into(), Value::Object(read));
                }
                continue;
            }
            let a = self.core.attr(key).ok_or_else(|| unknown(key))?;
            if let Some(v) = read_value(a, value)? {
                out.insert(a.name.into(), v);
            }
        }
        Ok(out)
    }

    fn check_schemas(&self, value: &Value) -> Result<(), Error> {
        let Value::Array(list) = value else {
            return Err(refused(
                ScimType::InvalidSyntax,
                "schemas is a list of URNs",
            ));
        };
        let mut core = false;
        for s in list {
            let Value::String(s) = s else {
                return Err(refused(
                    ScimType::InvalidSyntax,
                    "schemas is a list of URNs",
                ));
            };
            if s.eq_ignore_ascii_case(self.core.id) {
                core = true;
            } else if self.extension(s).is_none() {
                return Err(refused(
                    ScimType::InvalidSyntax,
                    format!("unknown schema {s:?}"),
                ));
            }
        }
        if !core {
            return Err(refused(
                ScimType::InvalidSyntax,
                format!("schemas must name {}", self.core.id),
            ));
        }
        Ok(())
    }

    /// Checks what a whole resource must hold (required attributes) and keeps at most
    /// one `primary: true` per multi-valued attribute (the last given: RFC 7644
    /// §3.5.2, a new primary value takes over).
    pub fn finish(&self, resource: &mut Object) -> Result<(), Error> {
        for a in self.core.attrs.iter().filter(|a| a.required) {
            match resource.get(a.name) {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                Some(v) if !v.is_string() && !v.is_null() => {}
                _ => {
                    return Err(refused(
                        ScimType::InvalidValue,
                        format!("{} is required", a.name),
                    ));
                }
            }
        }
        for a in self.core.attrs.iter().filter(|a| a.multi) {
            if let Some(Value::Array(items)) = resource.get_mut(a.name) {
                let last = items
                    .iter()
                    .rposition(|i| i.get("primary") == Some(&Value::Bool(true)));
                if let Some(last) = last {
                    for (n, item) in items.iter_mut().enumerate() {
                        if n != last
                            && let Some(Value::Bool(p)) = item.get_mut("primary")
                        {
                            *p = false;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn unknown(key: &str) -> Error {
    refused(
        ScimType::InvalidSyntax,
        format!("unknown attribute {key:?}: the schema does not have it"),
    )
}

/// A value read by its attribute's definition; `None` when absent (null, empty list,
/// read-only).
pub fn read_value(a: &Attr, value: &Value) -> Result<Option<Value>, Error> {
    if a.mutability == Mutability::ReadOnly || value.is_null() {
        return Ok(None);
    }
    if a.multi {
        let Value::Array(items) = value else {
            return Err(refused(
                ScimType::InvalidValue,
                format!("{} is a list", a.name),
            ));
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = read_single(a, item)? {
                out.push(v);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    read_single(a, value)
}

/// One value of `a` (an element, for a multi-valued attribute).
pub fn read_single(a: &Attr, value: &Value) -> Result<Option<Value>, Error> {
    let wrong = |what: &str| refused(ScimType::InvalidValue, format!("{} is {what}", a.name));
    Ok(match (a.kind, value) {
        (_, Value::Null) => None,
        (Kind::String | Kind::Reference, Value::String(s)) => {
            if s.len() > 2048 {
                return Err(wrong("at most 2048 bytes"));
            }
            Some(Value::String(s.clone()))
        }
        (Kind::String | Kind::Reference, _) => return Err(wrong("a string")),
        (Kind::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Some(Value::Bool(true))
        }
        (Kind::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Some(Value::Bool(false))
        }
        (Kind::Boolean, _) => return Err(wrong("a boolean")),
        (Kind::Complex, Value::Object(inner)) => {
            let mut out = Object::new();
            for (k, v) in inner {
                let s = a
                    .sub_attr(k)
                    .ok_or_else(|| unknown(&format!("{}.{k}", a.name)))?;
                if let Some(v) = read_value(s, v)? {
                    out.insert(s.name.into(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        // Entra sends a manager as its id alone: a complex value given as a string is
        // its `value`.
        (Kind::Complex, Value::String(s)) if a.sub_attr("value").is_some() => {
            let mut out = Object::new();
            out.insert("value".into(), Value::String(s.clone()));
            Some(Value::Object(out))
        }
        (Kind::Complex, _) => return Err(wrong("an object")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_in_any_case_and_unknown_ones_are_refused() {
        let read = USER
            .read(&json!({
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "USERNAME": "ada", "Active": "False", "id": "ignored",
                "name": { "GivenName": "Ada" },
                ENTERPRISE_USER_SCHEMA: { "Department": "Eng" },
                "emails": [{ "value": "a@x.test", "primary": "True" }],
            }))
            .unwrap();
        assert_eq!(read["userName"], "ada");
        assert_eq!(read["active"], false);
        assert_eq!(read["name"]["givenName"], "Ada");
        assert_eq!(read[ENTERPRISE_USER_SCHEMA]["department"], "Eng");
        assert_eq!(read["emails"][0]["primary"], true);
        assert!(read.get("id").is_none());
        let err = USER
            .read(&json!({ "userName": "a", "shoeSize": 9 }))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Scim {
                scim_type: ScimType::InvalidSyntax,
                ..
            }
        ));
        let err = USER
            .read(&json!({ "userName": "a", "active": 3 }))
            .unwrap_err();
        assert!(matches!(
            err,
            Error::Scim {
                scim_type: ScimType::InvalidValue,
                ..
            }
        ));
    }

    #[test]
    fn a_complex_value_given_as_a_string_is_its_value() {
        let read = USER
            .read(&json!({ "userName": "a", ENTERPRISE_USER_SCHEMA: { "manager": "boss-1" } }))
            .unwrap();
        assert_eq!(
            read[ENTERPRISE_USER_SCHEMA]["manager"],
            json!({ "value": "boss-1" })
        );
        assert!(
            USER.read(&json!({ "userName": "a", "name": "Ada" }))
                .is_err(),
            "name has no value"
        );
    }

    #[test]
    fn one_primary_at_most_and_user_name_required() {
        let mut r = USER
            .read(&json!({ "userName": "a", "emails": [
                { "value": "1@x.test", "primary": true }, { "value": "2@x.test", "primary": true }
            ]}))
            .unwrap();
        USER.finish(&mut r).unwrap();
        assert_eq!(r["emails"][0]["primary"], false);
        assert_eq!(r["emails"][1]["primary"], true);
        let mut r = USER.read(&json!({ "displayName": "x" })).unwrap();
        assert!(USER.finish(&mut r).is_err());
    }
}
