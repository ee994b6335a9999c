//! SCIM 2.0 (RFC 7643, RFC 7644) as pure rules: the schemas Guestlist serves
//! (`schema.rs`), the filter language (`filter.rs`) and PATCH (`patch.rs`), over
//! resources held as JSON objects with their attributes under their canonical names.
//! The application layer (`ops/scim/`) stores and provisions; the front door
//! (`guestlist-server/src/scim.rs`) only parses and renders.

pub mod filter;
pub mod patch;
pub mod schema;

pub use filter::{AttrPath, Filter};
pub use patch::{PatchOp, apply_patch};
pub use schema::{GROUP, ResourceDef, USER};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The `scimType` of a refusal (RFC 7644 §3.12): which rule of the protocol the
/// request broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
        }
    }
}

/// A SCIM refusal as the domain's error: `invalid_input` (400) with its `scimType`.
pub fn refused(scim_type: ScimType, detail: impl Into<String>) -> crate::Error {
    crate::Error::Scim {
        scim_type,
        detail: detail.into(),
    }
}

pub type Object = serde_json::Map<String, serde_json::Value>;
