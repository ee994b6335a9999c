// What both browser suites share: the server under test, its API as the host's back
// end calls it, and a visitor in a fresh browser context.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const base = process.env.GUESTLIST_URL;
export const key = process.env.GUESTLIST_KEY;
export const mailDir = process.env.GUESTLIST_MAIL_DIR;
const shots = process.env.GUESTLIST_SCREENSHOTS;
mkdirSync(shots, { recursive: true });

export const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';
let browser;
/** Every code and token the tests used: scripts/browser.sh checks none is in the log. */
export const secrets = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  appendFileSync(process.env.GUESTLIST_SECRETS_FILE, secrets.join('\n') + '\n');
});

export async function api(method, path, body) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let spaces = 0;
const run = Date.now() % 100000;
/** A space (named `name`) with a link; returns the link's code and the space path. */
export async function spaceWithLink(name, link = {}, prefix = 's') {
  const path = `${prefix}${++spaces}-${run}/`;
  assert.equal((await api('POST', '/spaces', { path, name })).status, 201);
  const created = await api('POST', '/invites', { space: path, ...link });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  secrets.push(created.body.code);
  return { path, code: created.body.code };
}

/** A fresh browser context that fails the test on any dialog (an alert is XSS). */
export async function visitor(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 800 }, ...options });
  // Each step waits at most this long, so that a hung page fails quickly.
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  page.on('dialog', async (d) => {
    await d.dismiss();
    assert.fail(`a dialog opened: ${d.message()}`);
  });
  return { context, page };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Through the development sign-in form, by mouse. */
export async function devSignIn(page, user, email) {
  await page.fill('#user', user);
  await page.fill('#email', email);
  await page.click('#submit');
}

export async function member(path, user) {
  return api('GET', `/spaces/${encodeURIComponent(path)}/members/${user}`);
}
