// SPDX-License-Identifier: MIT
// chat.test.mjs - end-to-end test of chatd's demo page in headless Chromium.
//
// Starts chatd from the build (CHATD_BIN, serving CHATD_SRCDIR/static), opens
// three pages: alice and bob in room "alpha" (bob through {prefix}/), carol in
// "beta".  Checks that presence shows, that alice and bob exchange messages
// both ways (typed, sent with Enter), that carol sees none of them (and they
// none of hers), that no Content-Security-Policy violation happens; then
// restarts chatd, waits for every page to reconnect by itself and chats
// again.  Room history (history_size 100): a page joining later shows the
// room's earlier messages; a page whose socket drops while another keeps
// sending recovers every message it missed, exactly once and in order; the
// member list follows joins and leaves.  Writes a screenshot to
// OUT_DIR/browser-chat.png.
//
// usage: CHATD_BIN=build/chatd CHATD_SRCDIR=. node chat.test.mjs [OUT_DIR]
// Uses Debian's /usr/bin/chromium (CHROMIUM to override); never downloads a browser.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.CHATD_BIN;
const SRC = process.env.CHATD_SRCDIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const OUT = path.resolve(process.argv[2] || path.dirname(BIN || '.'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP = 10000;                 // ms allowed for one expectation
const TOTAL = 150000;               // ms for the whole test

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-browser-'));
let chatd = null;
let browser = null;
let failed = false;

function log(...a) { console.log('[browser]', ...a); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function healthy(port, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.status === 200) return;
    } catch (e) { /* not yet */ }
    if (chatd && chatd.exitCode !== null) throw new Error(`chatd exited with ${chatd.exitCode}`);
    await sleep(50);
  }
  throw new Error(`chatd not healthy on port ${port} within ${ms} ms`);
}

async function startChatd(port) {
  const conf = path.join(tmp, 'chatd.conf');
  fs.writeFileSync(conf, [
    'redis_url off', `pid_file ${tmp}/chatd.pid`, `static_dir ${SRC}/static`,
    'shutdown_timeout 2s', 'log_level info', 'history_size 100', '',
  ].join('\n'));
  const out = fs.openSync(path.join(tmp, 'chatd.log'), 'a');
  chatd = spawn(BIN, ['-f', '-c', conf, '-l', `127.0.0.1:${port}`, '-w', '2'],
    { stdio: ['ignore', out, out] });
  await healthy(port, 5000);
  log(`chatd ${chatd.pid} on port ${port}`);
}

function stopChatd() {
  return new Promise((resolve) => {
    if (!chatd || chatd.exitCode !== null) { resolve(); return; }
    const t = setTimeout(() => chatd.kill('SIGKILL'), 5000);
    chatd.once('exit', () => { clearTimeout(t); resolve(); });
    chatd.kill('SIGTERM');
  });
}

// Open a page as `name` in `room`; collects CSP violations and script errors.
async function open(ctx, url, problems) {
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page.goto(url);
  return page;
}

const chats = (page) => page.$$eval('#messages li.msg-chat', (els) => els.map((e) => ({
  from: e.querySelector('.from') ? e.querySelector('.from').textContent : '',
  text: e.querySelector('.text').textContent,
  time: e.querySelector('.time').textContent,
})));

async function waitState(page, state, who) {
  await page.waitForSelector(`#state[data-state="${state}"]`, { timeout: STEP })
    .catch(() => { throw new Error(`${who}: state never became ${state}`); });
}

async function waitText(page, sel, text, who) {
  await page.waitForFunction(([s, t]) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)),
    [sel, text], { timeout: STEP })
    .catch(() => { throw new Error(`${who}: never saw "${text}" in ${sel}`); });
}

// The texts of the member list.
const members = (page) => page.$$eval('#members li', (els) => els.map((e) => e.textContent));

async function waitMembers(page, n, who) {
  await page.waitForFunction((k) => document.querySelectorAll('#members li').length === k, n,
    { timeout: STEP }).catch(async () => {
    throw new Error(`${who}: member list is ${JSON.stringify(await members(page))}, want ${n}`);
  });
}

// Remembers the page's WebSockets (window.__sockets), so a test can drop one.
function keepSockets() {
  const W = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends W {
    constructor(...a) { super(...a); window.__sockets.push(this); }
  };
}

async function say(page, text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

async function main() {
  if (!BIN || !fs.existsSync(BIN)) throw new Error('set CHATD_BIN to the built chatd');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await startChatd(port);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const problems = [];
  // one context each: separate storage, like three people
  const [ca, cb, cc] = await Promise.all([1, 2, 3].map(() => browser.newContext({ viewport: { width: 900, height: 640 } })));
  await ca.addInitScript(keepSockets);
  const alice = await open(ca, `${base}/?room=alpha&name=alice`, problems);
  await waitState(alice, 'open', 'alice');
  const bob = await open(cb, `${base}/api/chat-api/?room=alpha&name=bob`, problems);
  const carol = await open(cc, `${base}/?room=beta&name=carol`, problems);
  await waitState(bob, 'open', 'bob');
  await waitState(carol, 'open', 'carol');
  log('three pages connected');

  // presence: alice is told that someone joined alpha
  await waitText(alice, '#messages li.msg-presence', 'joined', 'alice');

  await say(alice, 'hello from alice');
  await waitText(bob, '#messages li.msg-chat .text', 'hello from alice', 'bob');
  await waitText(alice, '#messages li.msg-chat .text', 'hello from alice', 'alice (own echo)');
  await say(bob, 'hi alice, bob here');
  await waitText(alice, '#messages li.msg-chat .text', 'hi alice, bob here', 'alice');
  await say(carol, 'carol in beta');
  await waitText(carol, '#messages li.msg-chat .text', 'carol in beta', 'carol (own echo)');
  await sleep(300);
  const seenByBob = await chats(bob);
  const b0 = seenByBob.find((m) => m.text === 'hello from alice');
  if (!b0 || b0.from !== 'alice' || !/\d/.test(b0.time)) throw new Error(`bob: sender or time missing: ${JSON.stringify(b0)}`);
  for (const [who, page] of [['alice', alice], ['bob', bob]])
    if ((await chats(page)).some((m) => m.text.includes('carol'))) throw new Error(`${who} saw a message of room beta`);
  const seenByCarol = await chats(carol);
  if (seenByCarol.length !== 1) throw new Error(`carol saw ${JSON.stringify(seenByCarol)}`);
  log('messages both ways in alpha, none across rooms');

  // history on join: dave sees what was said before he came; the members
  await waitMembers(alice, 2, 'alice');
  const cd = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const dave = await open(cd, `${base}/?room=alpha&name=dave`, problems);
  await waitState(dave, 'open', 'dave');
  await waitText(dave, '#messages li.msg-chat.past .text', 'hello from alice', 'dave (history)');
  await waitText(dave, '#messages li.msg-chat.past .text', 'hi alice, bob here', 'dave (history)');
  const daveSaw = (await chats(dave)).map((m) => m.text);
  if (daveSaw.indexOf('hello from alice') > daveSaw.indexOf('hi alice, bob here'))
    throw new Error(`dave: history out of order: ${JSON.stringify(daveSaw)}`);
  await waitMembers(dave, 3, 'dave');
  await waitMembers(alice, 3, 'alice after dave joined');
  await cd.close();
  await waitMembers(alice, 2, 'alice after dave left');
  log('history on join, member list');

  // recovery: alice's socket drops while bob keeps sending
  await alice.evaluate(() => window.__sockets[window.__sockets.length - 1].close(4000, 'test'));
  await alice.waitForSelector('#state:not([data-state="open"])', { timeout: STEP });
  const sent = [];
  for (let i = 1; i <= 10; i++) { sent.push(`missed ${i}`); await say(bob, `missed ${i}`); }
  await waitState(alice, 'open', 'alice (back)');
  for (let i = 11; i <= 15; i++) { sent.push(`missed ${i}`); await say(bob, `missed ${i}`); }
  await waitText(alice, '#messages li.msg-chat .text', 'missed 15', 'alice (recovered)');
  await sleep(300);
  const got = (await chats(alice)).map((m) => m.text).filter((t) => t.startsWith('missed '));
  if (JSON.stringify(got) !== JSON.stringify(sent))
    throw new Error(`alice after a drop: ${JSON.stringify(got)}, want each of missed 1..15 once, in order`);
  log('a dropped page recovered every message once, in order');

  // restart chatd: every page notices, backs off and reconnects by itself
  await stopChatd();
  for (const [who, page] of [['alice', alice], ['bob', bob], ['carol', carol]])
    await page.waitForSelector('#state:not([data-state="open"])', { timeout: STEP })
      .catch(() => { throw new Error(`${who} did not notice the restart`); });
  log('chatd stopped; pages are reconnecting');
  await sleep(500);
  await startChatd(port);
  for (const [who, page] of [['alice', alice], ['bob', bob], ['carol', carol]])
    await page.waitForSelector('#state[data-state="open"]', { timeout: 20000 })
      .catch(() => { throw new Error(`${who} did not reconnect`); });
  log('all pages reconnected');
  await say(bob, 'back after the restart');
  await waitText(alice, '#messages li.msg-chat .text', 'back after the restart', 'alice after restart');
  await say(alice, 'welcome back bob');
  await waitText(bob, '#messages li.msg-chat .text', 'welcome back bob', 'bob after restart');
  await sleep(300);
  if ((await chats(carol)).some((m) => /restart|welcome back/.test(m.text))) throw new Error('carol saw alpha after the restart');
  if (problems.length) throw new Error('CSP or script problems: ' + problems.join(' | '));

  fs.mkdirSync(OUT, { recursive: true });
  const shot = path.join(OUT, 'browser-chat.png');
  await alice.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);
}

const guard = setTimeout(() => { console.error('[browser] FAIL: timed out'); cleanup().then(() => process.exit(1)); }, TOTAL);

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  await stopChatd();
  if (failed) {
    try { console.error(fs.readFileSync(path.join(tmp, 'chatd.log'), 'utf8').split('\n').slice(-20).join('\n')); } catch (e) { /* none */ }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

async function failShot() {
  const pages = browser ? browser.contexts().flatMap((c) => c.pages()) : [];
  for (const [i, p] of pages.entries())
    await p.screenshot({ path: path.join(OUT, `browser-chat-failed-${i}.png`) }).catch(() => {});
}

main().then(() => log('PASS'), async (e) => {
  failed = true;
  console.error('[browser] FAIL:', e.message);
  await failShot();
})
  .finally(async () => { clearTimeout(guard); await cleanup(); process.exit(failed ? 1 : 0); });
