// The admin console in Chromium, as the people who run spaces use it. Run by
// scripts/browser.sh against a live `guestlist serve --dev` whose `platform_admins`
// names "boss".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, base, devSignIn, member, secrets, shot, visitor } from './helpers.mjs';

let n = 0;
const run = Date.now() % 100000;
/** A space with `admin` as its first admin. */
async function spaceRunBy(admin, options = {}) {
  const path = `c${++n}-${run}/`;
  assert.equal((await api('POST', '/spaces', { path, name: `Console ${n}`, ...options })).status, 201);
  const put = await api('PUT', `/spaces/${encodeURIComponent(path)}/members/${admin}`, { role: 'admin' });
  assert.ok([200, 201].includes(put.status), JSON.stringify(put.body));
  return path;
}

/** Signs in through the development form, starting at `path`. */
async function signedIn(user, path) {
  const v = await visitor();
  await v.page.goto(`${base}${path}`);
  await v.page.waitForURL(/\/auth\/sign-in/);
  await devSignIn(v.page, user, `${user}@example.com`);
  await v.page.waitForURL(`${base}${path}`);
  return v;
}

const q = (path) => encodeURIComponent(path);

test('an admin creates a 2-use link in the console; a visitor joins; the console shows it', async () => {
  const path = await spaceRunBy('ann');
  const { context, page } = await signedIn('ann', '/admin');
  await page.waitForSelector(`tr[data-space="${path}"]`);
  await shot(page, 'c01-console-home');
  await page.click(`tr[data-space="${path}"] a`);
  await page.waitForURL(`${base}/admin/spaces/${q(path)}`);
  await shot(page, 'c02-console-space');
  await page.getByRole('link', { name: 'Invite links' }).click();
  await page.click('#create-invite-form');
  await page.fill('#i-max', '2');
  await page.fill('#i-desc', 'For the newsletter');
  await page.click('#create-invite');
  const link = await page.inputValue('#link');
  assert.match(link, /\/i\/[A-Za-z0-9]+$/);
  secrets.push(link.split('/i/')[1]);
  await shot(page, 'c03-console-link-created');

  const guest = await visitor();
  await guest.page.goto(link);
  await guest.page.click('#sign-in');
  await devSignIn(guest.page, 'gus', 'gus@example.com');
  await guest.page.waitForURL(link);
  await guest.page.click('#join');
  await guest.page.waitForSelector('[data-outcome="joined"]');
  await guest.context.close();

  await page.goto(`${base}/admin/spaces/${q(path)}/invites`);
  assert.equal((await page.textContent('td[data-uses]')).trim(), '1 / 2');
  // The funnel: one view before signing in and one after, one sign-in, one join (the
  // counts are written every few seconds).
  let funnel = '';
  for (let i = 0; i < 20 && funnel !== '2 1 1 0'; i++) {
    await page.waitForTimeout(500);
    await page.reload();
    funnel = await page.getAttribute('td[data-funnel]', 'data-funnel');
  }
  assert.equal(funnel, '2 1 1 0', 'views, sign-ins, joins, requests');
  await shot(page, 'c04-console-invites');
  await page.goto(`${base}/admin/spaces/${q(path)}/members`);
  assert.equal(await page.textContent('tr[data-member="gus"] td[data-source]'), 'Invite link');
  await shot(page, 'c05-console-members');
  await context.close();
});

test('a CSV of five with one bad address: the dry run writes nothing, then four are invited', async () => {
  const path = await spaceRunBy('bea');
  const { context, page } = await signedIn('bea', `/admin/spaces/${q(path)}/invitations`);
  const dir = mkdtempSync(join(tmpdir(), 'gl-csv-'));
  const file = join(dir, 'people.csv');
  writeFileSync(file, 'email,role\nv1@example.com,member\nv2@example.com,\nnot-an-address,member\nv3@example.com,viewer\nv4@example.com,\n');
  await page.setInputFiles('#b-file', file);
  await page.click('#preview');
  await page.waitForSelector('#bulk-summary');
  assert.equal(await page.getAttribute('#bulk-summary', 'data-ok'), '4');
  assert.equal(await page.getAttribute('#bulk-summary', 'data-failed'), '1');
  assert.equal(await page.locator('tr[data-ok="false"]').count(), 1);
  await shot(page, 'c06-console-bulk-preview');
  const none = await api('GET', `/invitations?space=${q(path)}`);
  assert.equal(none.body.invitations.length, 0, 'the dry run wrote nothing');

  await page.click('#confirm');
  await page.waitForSelector('#bulk-summary');
  assert.equal(await page.getAttribute('#bulk-summary', 'data-ok'), '4');
  const four = await api('GET', `/invitations?space=${q(path)}`);
  assert.equal(four.body.invitations.length, 4);
  await page.goto(`${base}/admin/spaces/${q(path)}/invitations`);
  assert.equal(await page.locator('tr[data-invitation]').count(), 4);
  await page.waitForFunction(() =>
    [...document.querySelectorAll('td[data-delivery]')].every((td) => td.dataset.delivery !== ''));
  await shot(page, 'c07-console-invitations');
  await context.close();
});

test('a join request is approved from the console', async () => {
  const path = await spaceRunBy('cat');
  const made = await api('POST', '/invites', { space: path, requires_approval: true });
  secrets.push(made.body.code);
  const asker = await visitor();
  await asker.page.goto(`${base}/i/${made.body.code}`);
  await asker.page.click('#sign-in');
  await devSignIn(asker.page, 'ray', 'ray@example.com');
  await asker.page.waitForURL(`${base}/i/${made.body.code}`);
  await asker.page.click('#join');
  await asker.page.waitForSelector('[data-outcome="requested"]');
  await asker.context.close();

  const { context, page } = await signedIn('cat', `/admin/spaces/${q(path)}/requests`);
  await page.check('tr[data-request="ray"] input[type=checkbox]');
  await shot(page, 'c08-console-requests');
  await page.click('#approve');
  await page.waitForSelector('#notice');
  assert.equal((await member(path, 'ray')).status, 200);
  await context.close();
});

test("a member of one space cannot reach another's console pages, and the last admin stays", async () => {
  const mine = await spaceRunBy('dee');
  const theirs = await spaceRunBy('eve');
  const { context, page } = await signedIn('dee', '/admin');
  assert.equal(await page.locator(`tr[data-space="${theirs}"]`).count(), 0, 'not listed');
  for (const tab of ['', '/invites', '/invitations', '/members', '/requests', '/events']) {
    const res = await page.goto(`${base}/admin/spaces/${q(theirs)}${tab}`);
    assert.ok([403, 404].includes(res.status()), `${tab}: ${res.status()}`);
    assert.ok(await page.locator('[data-problem]').count(), `${tab} is a page that says why`);
  }
  await shot(page, 'c09-console-refused');
  const platform = await page.goto(`${base}/admin/platform`);
  assert.equal(platform.status(), 403);

  await page.goto(`${base}/admin/spaces/${q(mine)}/members`);
  await page.click('tr[data-member="dee"] a');
  await page.click('#confirm');
  await page.waitForSelector('[data-problem="last_admin"]');
  assert.match(await page.textContent('main'), /at least one admin/);
  await shot(page, 'c10-console-last-admin');
  assert.equal((await member(mine, 'dee')).body.role, 'admin');
  await context.close();
});

test('a platform admin makes the gate invite-only with a cap of 3', async () => {
  const { context, page } = await signedIn('boss', '/admin/platform');
  await page.selectOption('#g-mode', 'invite_only');
  await page.fill('#g-cap', '3');
  await page.click('#save-gate');
  await page.waitForSelector('#notice');
  assert.match(await page.textContent('#seats'), /3 of 3 seats left/);
  await shot(page, 'c11-console-platform');
  const pub = await fetch(`${base}/api/v1/signup/config`).then((r) => r.json());
  assert.equal(pub.mode, 'invite_only');
  assert.equal(pub.cap, 3);
  // And back, for the other suites.
  await page.selectOption('#g-mode', 'open');
  await page.fill('#g-cap', '');
  await page.click('#save-gate');
  await page.waitForSelector('#notice');
  await context.close();
});
