// The client as a user installs it: scripts/typescript.sh packs the package
// (`npm pack`), installs the tarball into a fresh scratch project beside this file,
// compiles it with `tsc --strict` (no skipLibCheck) and runs it against a live
// `guestlist serve --dev`, passing its address, the platform key and user tokens.
import assert from "node:assert/strict";
import { test } from "node:test";

import { type ErrorCode, type JoinOutcome, GuestlistError, guestlist } from "@guestlist/client";

// The shipped types are real, not `any`: each line below fails to compile if they are.
type IsAny<T> = 0 extends 1 & T ? true : false;
const typed: [IsAny<JoinOutcome>, IsAny<ErrorCode>] = [false, false];
// @ts-expect-error a code the contract does not list is not an ErrorCode
const unknownCode: ErrorCode = "no_such_code";
void typed;
void unknownCode;

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run scripts/typescript.sh)`);
  return v;
};
const baseUrl = env("GUESTLIST_URL");
const platform = guestlist({ baseUrl, token: env("GUESTLIST_KEY") });
const alice = guestlist({ baseUrl, token: env("GUESTLIST_ALICE") });
const bob = guestlist({ baseUrl, token: env("GUESTLIST_BOB") });
const carol = guestlist({ baseUrl, token: env("GUESTLIST_CAROL") });
const anyone = guestlist({ baseUrl });

test("a link is created, previewed, joined once, and then exhausted", async () => {
  await platform.createSpace({ path: "ts/", name: "TypeScript", join_mode: "invite_only" });
  await platform.provisionMember("ts/", "alice", "admin");

  const created = await alice.createInvite({ space: "ts/", max_uses: 1 });
  assert.equal(created.invite.state, "active");
  assert.match(created.code, /^[A-Za-z0-9]{8,32}$/);

  const preview = await anyone.previewInvite(created.code);
  assert.equal(preview.space, "ts/");
  assert.equal(preview.inviter, "alice");
  assert.equal(preview.uses_left, 1);

  const joined = await bob.joinInvite(created.code);
  assert.equal(joined.outcome, "joined");
  assert.equal(joined.membership?.source, "invite_link");

  const again = await bob.joinInvite(created.code);
  assert.equal(again.outcome, "already_member");

  await assert.rejects(carol.joinInvite(created.code), (e: unknown) => {
    assert.ok(e instanceof GuestlistError);
    assert.equal(e.status, 410);
    assert.equal(e.code, "exhausted");
    return true;
  });
});

test("bad input is a typed invalid_input naming the field", async () => {
  await assert.rejects(alice.createInvite({ space: "ts/", max_uses: 0 }), (e: unknown) => {
    assert.ok(e instanceof GuestlistError);
    assert.equal(e.code, "invalid_input");
    assert.equal(e.field, "max_uses");
    return true;
  });
});

test("may this user do this here?", async () => {
  const answer = await bob.check({ space: "ts/", permission: "write" });
  assert.equal(answer.allowed, true);
  assert.equal(answer.role, "member");
});

test("every operation is typed through raw", async () => {
  const { data, error } = await platform.raw.GET("/api/v1/spaces/{space}/members", {
    params: { path: { space: "ts/" } },
  });
  assert.equal(error, undefined);
  const users = (data?.members ?? []).map((m) => m.user_id).sort();
  assert.deepEqual(users, ["alice", "bob"]);
});
