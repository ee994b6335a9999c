// Guestlist's pages in Chromium, as a visitor uses them. Run by scripts/browser.sh
// against a live `guestlist serve --dev` (GUESTLIST_URL, GUESTLIST_KEY), whose
// invitation e-mail lands as .eml files in GUESTLIST_MAIL_DIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import {
  api, base, devSignIn, mailDir, member, secrets, shot, spaceWithLink, visitor, XSS,
} from './helpers.mjs';


test('a fresh link: signed out, sign in through the handoff, join, continue', async () => {
  const { path, code } = await spaceWithLink(XSS, { max_uses: 1 });
  const { context, page } = await visitor();
  const landing = await page.goto(`${base}/i/${code}`);
  assert.equal(landing.status(), 200);
  // The hostile name is shown as text, never run.
  assert.equal(await page.textContent('h1'), XSS);
  assert.equal(await page.locator('img[src=x]').count(), 0);
  assert.equal(await page.getAttribute('meta[property="og:title"]', 'content'),
    `Join ${XSS} — invited by dev-admin`);
  await shot(page, '01-landing-signed-out');

  await page.click('#sign-in');
  await page.waitForURL(/\/auth\/sign-in/);
  await shot(page, '02-dev-sign-in');
  await devSignIn(page, 'ada', 'ada@example.com');
  await page.waitForURL(`${base}/i/${code}`);
  await shot(page, '03-landing-signed-in');

  await page.click('#join');
  await page.waitForSelector('[data-outcome="joined"]');
  await shot(page, '04-joined');
  await page.click('#continue');
  await page.waitForURL(`${base}/me`);
  await page.waitForSelector(`tr[data-space="${path}"]`);
  await shot(page, '05-me');
  const m = await member(path, 'ada');
  assert.equal(m.status, 200, 'the API shows the membership');
  assert.equal(m.body.source, 'invite_link');

  // The same link in another browser, after its one use: the exhausted page.
  const other = await visitor();
  const spent = await other.page.goto(`${base}/i/${code}`);
  assert.equal(spent.status(), 410);
  assert.equal(await other.page.getAttribute('[data-problem]', 'data-problem'), 'exhausted');
  await shot(other.page, '06-exhausted');
  await other.context.close();
  await context.close();
});

test('the landing page weighs little and asks no other origin for anything', async () => {
  const { code } = await spaceWithLink('Acme');
  const { context, page } = await visitor();
  const requests = [];
  let bytes = 0;
  page.on('response', async (r) => {
    requests.push(r.url());
    try { bytes += (await r.body()).length; } catch { /* redirects have none */ }
  });
  await page.goto(`${base}/i/${code}`, { waitUntil: 'networkidle' });
  assert.ok(requests.length >= 2, `the page and its assets: ${requests}`);
  for (const url of requests) assert.ok(url.startsWith(base), `${url} is another origin`);
  assert.ok(bytes <= 100 * 1024, `the landing page weighs ${bytes} bytes`);
  // Readable at phone width: nothing wider than the screen.
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 360, `the page is ${overflow}px wide on a 360px screen`);
  await shot(page, '07-landing-phone');
  await context.close();
});

test('with JavaScript off, a visitor signs in and joins', async () => {
  const { path, code } = await spaceWithLink('No script');
  const { context, page } = await visitor({ javaScriptEnabled: false });
  await page.goto(`${base}/i/${code}`);
  await page.click('#sign-in');
  await devSignIn(page, 'nojs', 'nojs@example.com');
  await page.waitForURL(`${base}/i/${code}`);
  await page.click('#join');
  await page.waitForSelector('[data-outcome="joined"]');
  assert.equal((await member(path, 'nojs')).status, 200);
  await context.close();
});

test('by keyboard only, a visitor signs in and joins', async () => {
  const { path, code } = await spaceWithLink('Keys');
  const { context, page } = await visitor();
  await page.goto(`${base}/i/${code}`);
  const tabTo = async (selector) => {
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
    }
    assert.fail(`${selector} is not reachable with Tab`);
  };
  await tabTo('#sign-in');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/auth\/sign-in/);
  // The user id field has the focus (autofocus: waited for, so that a loaded machine
  // does not type before the page has placed it).
  await page.waitForFunction(() => document.activeElement?.id === 'user', null, { timeout: 5000 });
  await page.keyboard.type('kbd');
  assert.equal(await page.inputValue('#user'), 'kbd');
  await page.keyboard.press('Tab');
  await page.keyboard.type('kbd@example.com');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/i/${code}`);
  await tabTo('#join');
  // The focus is visible.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-outcome="joined"]');
  assert.equal((await member(path, 'kbd')).status, 200);
  await context.close();
});

/** The accept link of the newest e-mail to `to`, read from the .eml file. */
async function acceptLink(to) {
  for (let i = 0; i < 100; i++) {
    let files = [];
    try {
      files = readdirSync(mailDir, { withFileTypes: true }).filter((f) => f.isFile());
    } catch { /* not written yet */ }
    for (const f of files) {
      const raw = readFileSync(join(mailDir, f.name), 'utf8');
      if (!raw.includes(`To: ${to}`)) continue;
      // Quoted-printable: soft line breaks and encoded "=".
      const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      const m = text.match(/https?:\/\/[^\s"<>]*\/invitations\/accept\?token=[A-Za-z0-9]+/);
      if (m) {
        secrets.push(m[0].split('token=')[1]);
        return m[0];
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no e-mail to ${to}`);
}

test('the e-mail accept link: refused in words for someone else, accepted by the addressee', async () => {
  const { path } = await spaceWithLink('Mail space');
  const made = await api('POST', '/invitations', { space: path, email: 'bea@example.com' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const link = await acceptLink('bea@example.com');

  const carol = await visitor();
  await carol.page.goto(link);
  await carol.page.click('#sign-in');
  await devSignIn(carol.page, 'carol', 'carol@example.com');
  await carol.page.waitForURL(link);
  await carol.page.waitForSelector('#refusal');
  assert.match(await carol.page.textContent('#refusal'), /for someone else/);
  assert.equal(await carol.page.locator('#accept').count(), 0);
  await shot(carol.page, '08-invitation-someone-else');
  const still = await api('GET', `/invitations/${made.body.invitation.id}`);
  assert.equal(still.body.status, 'pending', 'the invitation stays pending');
  await carol.context.close();

  const bea = await visitor();
  await bea.page.goto(link);
  await bea.page.click('#sign-in');
  await devSignIn(bea.page, 'bea', 'bea@example.com');
  await bea.page.waitForURL(link);
  await shot(bea.page, '09-invitation');
  await bea.page.click('#accept');
  await bea.page.waitForSelector('[data-outcome="joined"]');
  await shot(bea.page, '10-invitation-accepted');
  assert.equal((await api('GET', `/invitations/${made.body.invitation.id}`)).body.status, 'accepted');
  assert.equal((await member(path, 'bea')).status, 200);
  await bea.context.close();
});

test('an owner add is accepted from /me', async () => {
  const { path } = await spaceWithLink('Roster');
  const add = await api('POST', `/spaces/${encodeURIComponent(path)}/members`, { user_id: 'dana' });
  assert.equal(add.status, 201, JSON.stringify(add.body));
  const { context, page } = await visitor();
  await page.goto(`${base}/me`);
  await page.waitForURL(/\/auth\/sign-in/);
  await devSignIn(page, 'dana', 'dana@example.com');
  await page.waitForURL(`${base}/me`);
  const item = page.locator(`li[data-kind="add"][data-space="${path}"]`);
  await shot(page, '11-me-pending');
  await item.getByRole('button', { name: 'Accept' }).click();
  await page.waitForSelector('#notice');
  assert.equal(await page.textContent('#notice'), 'Membership accepted.');
  assert.equal((await member(path, 'dana')).body.status, 'active');
  await context.close();
});

test('a form posted from another site is refused and changes nothing', async () => {
  const { path, code } = await spaceWithLink('Target');
  const { context, page } = await visitor();
  await page.goto(`${base}/i/${code}`);
  await page.click('#sign-in');
  await devSignIn(page, 'victim', 'victim@example.com');
  await page.waitForURL(`${base}/i/${code}`);
  const csrf = await page.getAttribute('input[name=csrf]', 'value');

  // The attacker's page, on another origin (and another site: localhost).
  const evil = createServer((_, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<form method="post" action="${base}/i/${code}/join">
      <input type="hidden" name="csrf" value="${csrf}"><button id="go">Win a prize</button></form>`);
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  const port = evil.address().port;
  try {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      await page.goto(`http://${host}/`);
      const [res] = await Promise.all([page.waitForNavigation(), page.click('#go')]);
      assert.equal(res.status(), 403, `from ${host}`);
      assert.equal(await page.getAttribute('[data-problem]', 'data-problem'), 'forbidden');
    }
    await shot(page, '12-cross-site-refused');
  } finally {
    evil.close();
  }
  assert.equal((await member(path, 'victim')).status, 404, 'nobody joined');
  await context.close();
});

test('a sign-up invitation hands over, and an unusable one says so', async () => {
  const made = await api('POST', '/signup/invitations', {});
  assert.equal(made.status, 201, JSON.stringify(made.body));
  secrets.push(made.body.token);
  const { context, page } = await visitor();
  await page.goto(`${base}/signup?invitation=${made.body.token}`);
  assert.equal(await page.getAttribute('[data-valid]', 'data-valid'), 'true');
  await shot(page, '13-signup');
  await api('DELETE', `/signup/invitations/${made.body.invitation.id}`);
  const gone = await page.goto(`${base}/signup?invitation=${made.body.token}`);
  assert.equal(gone.status(), 410);
  await shot(page, '14-signup-unusable');
  await context.close();
});
