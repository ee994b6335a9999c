//! Guestlist over GraphQL, one file per feature (the same names as the application
//! layer's `ops/`), merged into one `Query` and one `Mutation`; `args.rs` parses
//! arguments, `types.rs` holds the output types. It follows the data platform's
//! invite-link API (seed 000): `createInviteLink`, `redeemInviteLink`,
//! `deleteInviteLink`, and `inviteLinks(filter, first, after)` as a Relay connection
//! with nested filters. Resolvers parse, call one application function and render: no
//! rule lives here. Errors carry the REST codes in `extensions.code`.

mod args;
mod events;
mod invitations;
mod invites;
mod members;
mod requests;
mod signup;
mod spaces;
mod types;
mod users;
mod webhooks;

use async_graphql::{ErrorExtensions, Schema};
use guestlist_app::domain::{Actor, Error};
use guestlist_app::{App, Caller};

// Every query, one part per feature (the parts' order is the schema's field order).
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    spaces::SpacesQuery,
    members::MembersQuery,
    invites::InviteLinksQuery,
    invitations::InvitationsQuery,
    signup::GateQuery,
    requests::RequestsQuery,
    signup::ReferralsQuery,
    invites::PreviewQuery,
    events::EventsQuery,
    users::UsersQuery,
    webhooks::WebhooksQuery,
);

// Every mutation, one part per feature (the parts' order is the schema's field order).
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    invitations::InvitationsMutation,
    requests::RequestsMutation,
    signup::SignupMutation,
    invitations::AnswerMutation,
    invites::InviteLinksMutation,
    spaces::SpacesMutation,
    members::MembersMutation,
    users::UsersMutation,
    webhooks::WebhooksMutation,
);

// Every subscription.
#[derive(async_graphql::MergedSubscription, Default)]
pub struct Subscription(webhooks::EventsSubscription);

pub type GuestlistSchema = Schema<Query, Mutation, Subscription>;

/// Deepest query accepted: room for the standard introspection query (its type
/// references nest `ofType` nine deep), which GraphiQL and code generators send.
pub const MAX_DEPTH: usize = 20;
/// Most complex query accepted (each field counts 1, connections `first` times).
pub const MAX_COMPLEXITY: usize = 2_000;

/// Measures every document before the GraphQL parser (recursive, and unbounded for
/// values) sees it: deeper than `nesting::MAX_NESTING` is `invalid_input`, whatever
/// the transport (HTTP or WebSocket).
struct Nesting;

impl async_graphql::extensions::ExtensionFactory for Nesting {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(Nesting)
    }
}

#[async_graphql::async_trait::async_trait]
impl async_graphql::extensions::Extension for Nesting {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        use guestlist_app::domain::nesting::{MAX_NESTING, graphql_depth};
        if graphql_depth(query) > MAX_NESTING {
            return Err(async_graphql::ServerError::new(
                format!("query: nests deeper than {MAX_NESTING}"),
                None,
            ));
        }
        next.run(ctx, query, variables).await
    }
}

/// Builds the schema over the application. `introspection` may be turned off in
/// production.
pub fn schema(app: Option<App>, introspection: bool) -> GuestlistSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .extension(Nesting)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY);
    if let Some(app) = app {
        builder = builder.data(app);
    }
    if !introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    let mut s = schema(None, true).sdl();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// The one mapping from the application's error to a GraphQL error. The field at
/// fault is named as GraphQL names it (`max_uses` is `maxUses`), in `extensions.field`
/// and in the message.
pub(crate) fn gql(e: Error) -> async_graphql::Error {
    guestlist_app::log_failure(&e, "graphql");
    let code = e.code().as_str();
    let field = e.field().map(camel_case);
    let mut message = e.public_message();
    if let (Some(rest), Some(f)) = (
        e.field()
            .and_then(|f| message.strip_prefix(&format!("{f}: "))),
        &field,
    ) {
        message = format!("{f}: {rest}");
    }
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", code);
        if let Some(f) = &field {
            ext.set("field", f.as_str());
        }
    })
}

/// `expires_in_seconds` → `expiresInSeconds`; GraphQL's own names pass unchanged.
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn app<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a App> {
    ctx.data::<App>().map_err(|_| {
        gql(Error::internal(
            "the schema was built without the application",
        ))
    })
}

pub(crate) fn caller<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a Caller> {
    ctx.data::<Caller>()
        .map_err(|_| gql(Error::internal("no caller in the request")))
}

/// The signed-in caller, or `unauthenticated`.
pub(crate) fn actor<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a Actor> {
    caller(ctx)?
        .actor
        .as_ref()
        .ok_or_else(|| gql(Error::Unauthenticated("sign in first".into())))
}

/// Gives every error without a code one: GraphQL's own parse and validation errors
/// are the caller's `invalid_input`.
pub fn with_codes(mut res: async_graphql::Response) -> async_graphql::Response {
    for e in &mut res.errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", "invalid_input");
        }
    }
    res
}

/// The GraphiQL page (served only in `--dev`): every asset comes from this binary.
pub fn graphiql_html(endpoint: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Guestlist GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.min.css">
<style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="/graphiql/react.production.min.js"></script>
<script src="/graphiql/react-dom.production.min.js"></script>
<script src="/graphiql/graphiql.min.js"></script>
<script>
  const token = new URLSearchParams(location.search).get("token");
  const fetcher = GraphiQL.createFetcher({{
    url: "{endpoint}",
    headers: token ? {{ Authorization: "Bearer " + token }} : {{}},
  }});
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }})
  );
</script>
</body>
</html>
"#
    )
}

/// A vendored GraphiQL asset by file name: (content type, bytes).
pub fn graphiql_asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    match name {
        "graphiql.min.js" => Some((
            "text/javascript",
            include_bytes!("../assets/graphiql.min.js"),
        )),
        "graphiql.min.css" => Some(("text/css", include_bytes!("../assets/graphiql.min.css"))),
        "react.production.min.js" => Some((
            "text/javascript",
            include_bytes!("../assets/react.production.min.js"),
        )),
        "react-dom.production.min.js" => Some((
            "text/javascript",
            include_bytes!("../assets/react-dom.production.min.js"),
        )),
        _ => None,
    }
}
