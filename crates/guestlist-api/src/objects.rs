//! A list of objects in a request body is a list of JSON objects: serde would also
//! read a struct from an array (`[null, null]` as its fields in order), which JSON
//! Schema, and so the OpenAPI document, does not allow.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error};

/// `#[serde(deserialize_with = "crate::objects::rows")]`: the bulk request's rows.
pub fn rows<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    list(d, "rows")
}

/// `#[serde(deserialize_with = "crate::objects::checks")]`: a batch of questions.
pub fn checks<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    list(d, "checks")
}

/// The items of `field`, each a JSON object read as `T`. The message names the field
/// as serde names an unknown one (`` field `rows`: … ``), so the error can too.
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
    field: &str,
) -> Result<Vec<T>, D::Error> {
    Vec::<serde_json::Value>::deserialize(d)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if !v.is_object() {
                return Err(D::Error::custom(format!(
                    "field `{field}`: item {i} must be a JSON object"
                )));
            }
            serde_json::from_value(v)
                .map_err(|e| D::Error::custom(format!("field `{field}`: item {i}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{BulkInvitationRequest, CheckBatchRequest};

    #[test]
    fn items_must_be_objects_not_arrays() {
        let as_array = r#"{"space":"acme/","rows":[[null,null]]}"#;
        let err = serde_json::from_str::<BulkInvitationRequest>(as_array).unwrap_err();
        assert!(
            err.to_string()
                .contains("field `rows`: item 0 must be a JSON object"),
            "{err}"
        );
        let ok = r#"{"space":"acme/","rows":[{"email":"a@example.com"}]}"#;
        assert!(serde_json::from_str::<BulkInvitationRequest>(ok).is_ok());
        let unknown = r#"{"space":"acme/","rows":[{"email":"a@example.com","x":1}]}"#;
        assert!(
            serde_json::from_str::<BulkInvitationRequest>(unknown).is_err(),
            "still strict"
        );
        let checks = r#"{"checks":[["alice","acme/","read"]]}"#;
        assert!(serde_json::from_str::<CheckBatchRequest>(checks).is_err());
    }
}
