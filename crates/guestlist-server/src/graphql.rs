//! `POST /graphql`: the GraphQL front door. Identity and client address come from the
//! same extractors as REST; the schema calls the same application functions.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use guestlist_app::domain::Error;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Auth, ClientIp, Json, Path, caller};

pub async fn execute(
    State(s): State<AppState>,
    actor: Option<Auth>,
    ip: ClientIp,
    Json(request): Json<async_graphql::Request>,
) -> Response {
    let response = s.graphql.execute(request.data(caller(actor, ip))).await;
    Json(guestlist_graphql::with_codes(response)).into_response()
}

/// The GraphiQL page, in `--dev` only.
pub async fn graphiql(State(s): State<AppState>) -> Response {
    if !s.options.graphiql {
        return ApiError(Error::MethodNotAllowed).into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        guestlist_graphql::graphiql_html("/graphql"),
    )
        .into_response()
}

pub async fn asset(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    match guestlist_graphql::graphiql_asset(&name) {
        Some((content_type, bytes)) if s.options.graphiql => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            bytes,
        )
            .into_response(),
        _ => ApiError(Error::NotFound("asset")).into_response(),
    }
}

/// `GET /graphql/ws`: subscriptions (and queries and mutations) over a WebSocket, in
/// the graphql-transport-ws protocol (`graphql-ws`, the older one, too). The caller
/// signs in with the `connection_init` payload: `{"Authorization": "Bearer <token>"}`,
/// as graphql-ws clients send it.
pub async fn subscriptions(
    State(s): State<AppState>,
    ip: ClientIp,
    headers: axum::http::HeaderMap,
    ws: axum::extract::ws::WebSocketUpgrade,
) -> Response {
    use axum::extract::ws::Message;
    use futures::{SinkExt, StreamExt};
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|p| {
                p.trim()
                    .parse::<async_graphql::http::WebSocketProtocols>()
                    .ok()
            })
        });
    let Some(protocol) = protocol else {
        return ApiError(Error::invalid(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws (or graphql-ws)",
        ))
        .into_response();
    };
    let schema = s.graphql.clone();
    let app = s.app.clone();
    let client = ip.0;
    ws.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let (mut sink, stream) = socket.split();
            let input = stream
                .take_while(|m| futures::future::ready(m.is_ok()))
                .filter_map(|m| async move {
                    match m {
                        Ok(Message::Text(t)) => Some(t.as_str().as_bytes().to_vec()),
                        Ok(Message::Binary(b)) => Some(b.to_vec()),
                        _ => None,
                    }
                });
            let out = async_graphql::http::WebSocket::new(schema, input, protocol)
                .on_connection_init(move |payload| async move {
                    let token = payload
                        .get("Authorization")
                        .or_else(|| payload.get("authorization"))
                        .and_then(|v| v.as_str())
                        .and_then(|v| v.strip_prefix("Bearer ").or(Some(v)))
                        .map(str::trim)
                        .filter(|t| !t.is_empty());
                    let actor = match token {
                        Some(t) => Some(
                            app.authenticate(t)
                                .await
                                .map_err(|e| async_graphql::Error::new(e.public_message()))?,
                        ),
                        None => None,
                    };
                    let mut data = async_graphql::Data::default();
                    if let Some(t) = token {
                        data.insert(guestlist_app::Credential(t.to_owned()));
                    }
                    data.insert(guestlist_app::Caller { actor, client });
                    Ok(data)
                });
            let mut out = std::pin::pin!(out);
            while let Some(msg) = out.next().await {
                let sent = match msg {
                    async_graphql::http::WsMessage::Text(t) => {
                        sink.send(Message::Text(t.into())).await
                    }
                    async_graphql::http::WsMessage::Close(code, reason) => {
                        let _ = sink
                            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                                code,
                                reason: reason.into(),
                            })))
                            .await;
                        break;
                    }
                };
                if sent.is_err() {
                    break;
                }
            }
        })
}
