// A typed client for Guestlist: `paths` and `components` are generated from the
// service's OpenAPI document (src/schema.d.ts, by openapi-typescript); requests go
// through openapi-fetch. This file adds only what a generator cannot: one error type
// carrying the stable codes, and the outcomes as plain results.

import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
/** Every code an error can carry (`exhausted`, `not_found`, …). */
export type ErrorCode = Schemas["ErrorCode"];
/** What a redemption did: `joined`, `upgraded`, `already_member` or `requested`. */
export type JoinOutcome = Schemas["JoinOutcome"];

/** A refusal from the service: its HTTP status, stable code, message and field. */
export class GuestlistError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly field?: string;

  constructor(status: number, body: Schemas["ErrorBody"]) {
    super(body.error.message);
    this.name = "GuestlistError";
    this.status = status;
    this.code = body.error.code;
    this.field = body.error.field ?? undefined;
  }
}

/** The typed answer of a call, or a `GuestlistError`. */
async function data<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || data === undefined) {
    const body = error as Schemas["ErrorBody"] | undefined;
    if (body?.error?.code) throw new GuestlistError(response.status, body);
    throw new Error(`Guestlist answered ${response.status} without an error body`);
  }
  return data;
}

export interface Options {
  /** The server, e.g. `https://guestlist.example.com`. */
  baseUrl: string;
  /** A user token from your identity provider, or a Guestlist API key (`gl_…`). */
  token?: string;
  fetch?: typeof globalThis.fetch;
}

/** The client: `raw` is every operation, typed; the methods cover the common path. */
export function guestlist(options: Options) {
  const raw: Client<paths> = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
    fetch: options.fetch,
  });
  return {
    raw,
    createSpace: (body: Schemas["CreateSpaceRequest"]) =>
      data(raw.POST("/api/v1/spaces", { body })),
    provisionMember: (spacePath: string, userId: string, role: string) =>
      data(
        raw.PUT("/api/v1/spaces/{space}/members/{user_id}", {
          // openapi-fetch percent-encodes path parameters (acme/ → acme%2F).
          params: { path: { space: spacePath, user_id: userId } },
          body: { role },
        }),
      ),
    createInvite: (body: Schemas["CreateInviteRequest"]) =>
      data(raw.POST("/api/v1/invites", { body })),
    previewInvite: (code: string) =>
      data(raw.GET("/api/v1/invites/{code}", { params: { path: { code } } })),
    joinInvite: (code: string, body?: Schemas["RedeemRequest"]) =>
      data(raw.POST("/api/v1/invites/{code}/join", { params: { path: { code } }, body })),
    revokeInvite: (code: string) =>
      data(raw.DELETE("/api/v1/invites/{code}", { params: { path: { code } } })),
    check: (query: paths["/api/v1/check"]["get"]["parameters"]["query"]) =>
      data(raw.GET("/api/v1/check", { params: { query } })),
  };
}

export type Guestlist = ReturnType<typeof guestlist>;
