//! PATCH (RFC 7644 §3.5.2) on a resource held as JSON: `add`, `replace`, `remove`
//! (their names in any case, as Entra sends them), with or without a path, values
//! read through the schema (`schema::read_value`) so a patched resource is as valid
//! as a posted one.

use serde_json::Value;

use super::filter::{Filter, PatchPath, element_objects};
use super::schema::{Attr, Kind, Mutability, ResourceDef, read_single, read_value};
use super::{Object, PATCH_OP, ScimType, refused};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// Reads a PatchOp message: its `schemas`, and its `Operations`.
pub fn read_patch(body: &Value) -> Result<Vec<PatchOp>, Error> {
    let syntax = |why: &str| refused(ScimType::InvalidSyntax, why.to_owned());
    let Value::Object(body) = body else {
        return Err(syntax("a PatchOp is a JSON object"));
    };
    let mut schemas_ok = false;
    let mut ops = None;
    for (k, v) in body {
        if k.eq_ignore_ascii_case("schemas") {
            schemas_ok = v.as_array().is_some_and(|a| {
                a.iter()
                    .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP)))
            });
        } else if k.eq_ignore_ascii_case("Operations") {
            ops = Some(v.as_array().ok_or_else(|| syntax("Operations is a list"))?);
        } else {
            return Err(syntax(&format!("a PatchOp has no {k:?}")));
        }
    }
    if !schemas_ok {
        return Err(syntax(&format!("schemas must name {PATCH_OP}")));
    }
    let ops = ops.ok_or_else(|| syntax("Operations is required"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(syntax(&format!("1-{MAX_OPERATIONS} operations")));
    }
    ops.iter()
        .map(|o| {
            let Value::Object(o) = o else {
                return Err(syntax("an operation is an object"));
            };
            let (mut op, mut path, mut value) = (None, None, None);
            for (k, v) in o {
                match k.to_ascii_lowercase().as_str() {
                    "op" => {
                        op = Some(match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                            Some("add") => OpKind::Add,
                            Some("replace") => OpKind::Replace,
                            Some("remove") => OpKind::Remove,
                            _ => {
                                return Err(refused(
                                    ScimType::InvalidValue,
                                    format!("unknown op {v}"),
                                ));
                            }
                        })
                    }
                    "path" => {
                        path = Some(
                            v.as_str()
                                .ok_or_else(|| refused(ScimType::InvalidPath, "path is a string"))?
                                .to_owned(),
                        )
                    }
                    "value" => value = Some(v.clone()),
                    _ => return Err(syntax(&format!("an operation has no {k:?}"))),
                }
            }
            let op = op.ok_or_else(|| syntax("an operation needs op"))?;
            if op != OpKind::Remove && value.is_none() {
                return Err(refused(
                    ScimType::InvalidValue,
                    "add and replace need a value",
                ));
            }
            if op == OpKind::Remove && path.is_none() {
                return Err(refused(ScimType::NoTarget, "remove needs a path"));
            }
            Ok(PatchOp { op, path, value })
        })
        .collect()
}

/// Applies `ops` in order to `resource` (all or nothing: the caller keeps the
/// original until this returns).
pub fn apply_patch(def: &ResourceDef, resource: &mut Object, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        match &op.path {
            Some(path) => apply_at(def, resource, op.op, path, op.value.as_ref())?,
            None => {
                let Some(Value::Object(values)) = &op.value else {
                    return Err(refused(
                        ScimType::InvalidValue,
                        "without a path, the value is an object of attributes",
                    ));
                };
                for (k, v) in values {
                    match def.extension(k) {
                        Some(ext) => {
                            let Value::Object(inner) = v else {
                                return Err(refused(
                                    ScimType::InvalidValue,
                                    format!("{} is an object", ext.id),
                                ));
                            };
                            for (k2, v2) in inner
                                .iter()
                                .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                            {
                                apply_at(
                                    def,
                                    resource,
                                    op.op,
                                    &format!("{}:{k2}", ext.id),
                                    Some(v2),
                                )?;
                            }
                        }
                        // Okta renames a group with `{"id": …, "displayName": …}`: what
                        // cannot change is not a change asked for.
                        None if ["schemas", "id", "meta"]
                            .iter()
                            .any(|c| k.eq_ignore_ascii_case(c)) => {}
                        None => apply_at(def, resource, op.op, k, Some(v))?,
                    }
                }
            }
        }
    }
    Ok(())
}

fn apply_at(
    def: &ResourceDef,
    resource: &mut Object,
    op: OpKind,
    path: &str,
    value: Option<&Value>,
) -> Result<(), Error> {
    // A whole extension: its attributes, each in turn (remove: all of it).
    if let Some(ext) = def.extension(path.trim()) {
        match (op, value) {
            (OpKind::Remove, _) | (_, Some(Value::Null)) => {
                resource.remove(ext.id);
                return Ok(());
            }
            (_, Some(Value::Object(inner))) => {
                if op == OpKind::Replace {
                    resource.remove(ext.id);
                }
                for (k, v) in inner
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                {
                    apply_at(
                        def,
                        resource,
                        OpKind::Add,
                        &format!("{}:{k}", ext.id),
                        Some(v),
                    )?;
                }
                return Ok(());
            }
            _ => {
                return Err(refused(
                    ScimType::InvalidValue,
                    format!("{} is an object", ext.id),
                ));
            }
        }
    }
    let p = PatchPath::parse(def, path)?;
    let t = &p.target;
    if t.attr == "externalId" && t.extension.is_none() {
        match (op, value) {
            (OpKind::Remove, _) | (_, Some(Value::Null)) => {
                resource.remove("externalId");
            }
            (_, Some(Value::String(s))) => {
                resource.insert("externalId".into(), Value::String(s.clone()));
            }
            _ => return Err(refused(ScimType::InvalidValue, "externalId is a string")),
        }
        return Ok(());
    }
    if t.read_only {
        return Err(refused(
            ScimType::Mutability,
            format!("{path:?} is read-only"),
        ));
    }
    let a: &'static Attr = def
        .locate(t.extension.and_then(|u| def.extension(u)), &t.attr)
        .ok_or_else(|| refused(ScimType::InvalidPath, format!("no attribute {path:?}")))?
        .attr;
    // Whatever the filter matches, it is evaluated on the elements as they are.
    let matching: Option<Vec<bool>> = p.filter.as_ref().map(|f| {
        let wrapped = wrap(resource, t.extension);
        element_objects(t, &wrapped)
            .into_iter()
            .map(|e| f.matches(e))
            .collect()
    });
    let holder = holder(resource, t.extension);
    let sub_name = p.sub.clone().or_else(|| t.sub.clone());
    let sub = match &sub_name {
        Some(s) => Some(
            a.sub_attr(s)
                .ok_or_else(|| refused(ScimType::InvalidPath, format!("no attribute {path:?}")))?,
        ),
        None => None,
    };
    if sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return Err(refused(
            ScimType::Mutability,
            format!("{path:?} is read-only"),
        ));
    }
    match (matching, sub) {
        (None, None) => whole(a, holder, op, value)?,
        (None, Some(s)) => {
            let v = match op {
                OpKind::Remove => None,
                _ => read_value(s, value.unwrap_or(&Value::Null))?,
            };
            if a.multi {
                let items = holder.entry(a.name).or_insert_with(|| Value::Array(vec![]));
                let items = items
                    .as_array_mut()
                    .ok_or_else(|| Error::internal("not a list"))?;
                if items.is_empty() && v.is_some() {
                    items.push(Value::Object(Object::new()));
                }
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    set_or_remove(item, s.name, v.clone());
                }
            } else {
                let obj = holder
                    .entry(a.name)
                    .or_insert_with(|| Value::Object(Object::new()));
                if let Some(obj) = obj.as_object_mut() {
                    set_or_remove(obj, s.name, v);
                }
            }
        }
        (Some(matching), sub) => {
            let filter = p
                .filter
                .as_ref()
                .ok_or_else(|| Error::internal("no filter"))?;
            let any = matching.iter().any(|m| *m);
            let items = holder.entry(a.name).or_insert_with(|| Value::Array(vec![]));
            let Some(items) = items.as_array_mut() else {
                return Err(refused(
                    ScimType::InvalidPath,
                    format!("{} is not multi-valued", a.name),
                ));
            };
            match (op, sub) {
                (OpKind::Remove, None) => {
                    let mut n = 0;
                    items.retain(|_| {
                        n += 1;
                        !matching[n - 1]
                    });
                }
                (OpKind::Remove, Some(s)) => {
                    for (item, m) in items.iter_mut().zip(&matching) {
                        if *m && let Some(o) = item.as_object_mut() {
                            o.remove(s.name);
                        }
                    }
                }
                (_, sub) => {
                    let v = value.unwrap_or(&Value::Null);
                    let new: Object = match sub {
                        Some(s) => {
                            let mut o = Object::new();
                            if let Some(v) = read_value(s, v)? {
                                o.insert(s.name.into(), v);
                            }
                            o
                        }
                        None => match read_single(a, v)? {
                            Some(Value::Object(o)) => o,
                            _ => Object::new(),
                        },
                    };
                    if any {
                        for (item, m) in items.iter_mut().zip(&matching) {
                            if *m && let Some(o) = item.as_object_mut() {
                                for (k, v) in &new {
                                    o.insert(k.clone(), v.clone());
                                }
                            }
                        }
                    } else if op == OpKind::Replace && sub.is_none() {
                        return Err(refused(
                            ScimType::NoTarget,
                            format!("nothing matches {path:?}"),
                        ));
                    } else {
                        // Entra adds `emails[type eq "work"].value` to a user without one:
                        // a new element, with what the filter asks of it.
                        let mut element = equalities(filter);
                        element.extend(new);
                        items.push(Value::Object(element));
                    }
                }
            }
        }
    }
    tidy(resource, t.extension, a.name);
    Ok(())
}

/// The whole attribute `a` (no sub-attribute, no filter).
fn whole(
    a: &'static Attr,
    holder: &mut Object,
    op: OpKind,
    value: Option<&Value>,
) -> Result<(), Error> {
    match op {
        OpKind::Remove => match value {
            // Entra removes members by value: `{"op":"Remove","path":"members","value":[{"value":"…"}]}`.
            Some(Value::Array(gone)) if a.multi && a.kind == Kind::Complex => {
                let gone: Vec<&Value> = gone.iter().filter_map(|g| g.get("value")).collect();
                if let Some(Value::Array(items)) = holder.get_mut(a.name) {
                    items.retain(|i| i.get("value").is_none_or(|v| !gone.contains(&v)));
                }
            }
            _ => {
                holder.remove(a.name);
            }
        },
        OpKind::Add | OpKind::Replace => {
            let raw = value.unwrap_or(&Value::Null);
            // A single value given for a multi-valued attribute is one element.
            let raw = match raw {
                Value::Array(_) => raw.clone(),
                Value::Null => Value::Null,
                v if a.multi => Value::Array(vec![v.clone()]),
                v => v.clone(),
            };
            let v = read_value(a, &raw)?;
            match (op, v) {
                (_, None) => {
                    if op == OpKind::Replace {
                        holder.remove(a.name);
                    }
                }
                (OpKind::Add, Some(Value::Array(new))) => {
                    let items = holder.entry(a.name).or_insert_with(|| Value::Array(vec![]));
                    if let Some(items) = items.as_array_mut() {
                        for n in new {
                            let same = |i: &Value| {
                                i == &n
                                    || (n.get("value").is_some()
                                        && i.get("value") == n.get("value"))
                            };
                            match items.iter_mut().find(|i| same(i)) {
                                Some(existing) => *existing = n,
                                None => items.push(n),
                            }
                        }
                    }
                }
                (_, Some(Value::Object(new))) if !a.multi => {
                    let obj = holder
                        .entry(a.name)
                        .or_insert_with(|| Value::Object(Object::new()));
                    match obj.as_object_mut() {
                        Some(obj) => obj.extend(new),
                        None => *obj = Value::Object(new),
                    }
                }
                (_, Some(v)) => {
                    holder.insert(a.name.into(), v);
                }
            }
        }
    }
    Ok(())
}

fn set_or_remove(obj: &mut Object, key: &str, v: Option<Value>) {
    match v {
        Some(v) => {
            obj.insert(key.into(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

/// The `attr eq "…"` parts of an element filter, as an element's attributes.
fn equalities(f: &Filter) -> Object {
    let mut o = Object::new();
    match f {
        Filter::Compare(p, super::filter::Op::Eq, v) => {
            o.insert(p.attr.clone(), v.clone());
        }
        Filter::And(a, b) => {
            o.extend(equalities(a));
            o.extend(equalities(b));
        }
        _ => {}
    }
    o
}

fn wrap(resource: &Object, extension: Option<&str>) -> Object {
    match extension {
        None => resource.clone(),
        Some(urn) => {
            let mut o = Object::new();
            if let Some(v) = resource.get(urn) {
                o.insert(urn.into(), v.clone());
            }
            o
        }
    }
}

fn holder<'a>(resource: &'a mut Object, extension: Option<&str>) -> &'a mut Object {
    match extension {
        None => resource,
        Some(urn) => {
            let e = resource
                .entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Object::new()));
            if !e.is_object() {
                *e = Value::Object(Object::new());
            }
            e.as_object_mut().expect("an object")
        }
    }
}

/// Drops what became empty: an empty list, an empty object, an empty extension.
fn tidy(resource: &mut Object, extension: Option<&str>, attr: &str) {
    let h = holder(resource, extension);
    if let Some(Value::Array(items)) = h.get_mut(attr) {
        items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
    }
    let empty = match h.get(attr) {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    };
    if empty {
        h.remove(attr);
    }
    if let Some(urn) = extension
        && resource
            .get(urn)
            .and_then(Value::as_object)
            .is_some_and(Object::is_empty)
    {
        resource.remove(urn);
    }
}

#[cfg(test)]
mod tests {
    use super::super::ENTERPRISE_USER_SCHEMA;
    use super::super::schema::{GROUP, USER};
    use super::*;
    use serde_json::json;

    fn patch(def: &ResourceDef, r: Value, ops: Value) -> Result<Object, Error> {
        let mut r = r.as_object().unwrap().clone();
        let ops = read_patch(&json!({ "schemas": [PATCH_OP], "Operations": ops }))?;
        apply_patch(def, &mut r, &ops)?;
        Ok(r)
    }

    #[test]
    fn entra_sends_capitalised_ops_string_booleans_and_filtered_paths() {
        let r = patch(&USER, json!({ "userName": "a", "active": true }), json!([
            { "op": "Replace", "path": "active", "value": "False" },
            { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@work.test" },
            { "op": "Add", "path": "name.givenName", "value": "Ada" },
            { "op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Eng" },
        ]))
        .unwrap();
        assert_eq!(r["active"], false);
        assert_eq!(
            r["emails"],
            json!([{ "type": "work", "value": "a@work.test" }])
        );
        assert_eq!(r["name"]["givenName"], "Ada");
        assert_eq!(r[ENTERPRISE_USER_SCHEMA]["department"], "Eng");
        let r = patch(&USER, Value::Object(r), json!([
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@work.test" },
        ]))
        .unwrap();
        assert_eq!(
            r["emails"],
            json!([{ "type": "work", "value": "b@work.test" }])
        );
    }

    #[test]
    fn a_whole_extension_is_a_path_too() {
        let r = patch(&USER, json!({ "userName": "a", ENTERPRISE_USER_SCHEMA: { "division": "R" } }), json!([
            { "op": "replace", "path": ENTERPRISE_USER_SCHEMA, "value": { "department": "Eng" } },
        ]))
        .unwrap();
        assert_eq!(r[ENTERPRISE_USER_SCHEMA], json!({ "department": "Eng" }));
        let r = patch(
            &USER,
            Value::Object(r),
            json!([{ "op": "remove", "path": ENTERPRISE_USER_SCHEMA }]),
        )
        .unwrap();
        assert!(r.get(ENTERPRISE_USER_SCHEMA).is_none());
    }

    #[test]
    fn okta_replaces_without_a_path() {
        let r = patch(
            &USER,
            json!({ "userName": "a", "active": true }),
            json!([
                { "op": "replace", "value": { "active": false, "name.familyName": "L",
                  ENTERPRISE_USER_SCHEMA: { "division": "R&D" } } },
            ]),
        )
        .unwrap();
        assert_eq!(r["active"], false);
        assert_eq!(r["name"]["familyName"], "L");
        assert_eq!(r[ENTERPRISE_USER_SCHEMA]["division"], "R&D");
    }

    #[test]
    fn group_members_add_and_remove_both_ways() {
        let r = patch(&GROUP, json!({ "displayName": "g" }), json!([
            { "op": "add", "path": "members", "value": [{ "value": "u1" }, { "value": "u2" }, { "value": "u3" }] },
            { "op": "remove", "path": "members[value eq \"u1\"]" },
            { "op": "Remove", "path": "members", "value": [{ "value": "u2" }] },
            { "op": "add", "path": "members", "value": [{ "value": "u3" }] },
        ]))
        .unwrap();
        assert_eq!(r["members"], json!([{ "value": "u3" }]));
    }

    #[test]
    fn refusals_carry_their_scim_type() {
        let kind = |r: Result<Object, Error>| match r.unwrap_err() {
            Error::Scim { scim_type, .. } => scim_type,
            e => panic!("{e:?}"),
        };
        let u = || json!({ "userName": "a" });
        assert_eq!(
            kind(patch(
                &USER,
                u(),
                json!([{ "op": "replace", "path": "id", "value": "x" }])
            )),
            ScimType::Mutability
        );
        assert_eq!(
            kind(patch(
                &USER,
                u(),
                json!([{ "op": "replace", "path": "groups", "value": [] }])
            )),
            ScimType::Mutability
        );
        assert_eq!(
            kind(patch(
                &USER,
                u(),
                json!([{ "op": "replace", "path": "shoe", "value": 1 }])
            )),
            ScimType::InvalidPath
        );
        assert_eq!(
            kind(patch(&USER, u(), json!([{ "op": "remove" }]))),
            ScimType::NoTarget
        );
        assert_eq!(
            kind(patch(
                &USER,
                u(),
                json!([{ "op": "move", "path": "title" }])
            )),
            ScimType::InvalidValue
        );
        assert_eq!(
            kind(patch(
                &USER,
                u(),
                json!([{ "op": "replace", "path": "active", "value": "maybe" }])
            )),
            ScimType::InvalidValue
        );
        assert_eq!(
            kind(patch(
                &USER,
                u(),
                json!([{ "op": "replace", "path": "emails[type eq \"x\"]", "value": { "value": "a" } }])
            )),
            ScimType::NoTarget
        );
    }
}
