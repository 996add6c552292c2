// SPDX-License-Identifier: MIT
// tls.test.mjs - the demo page over https:// in headless Chromium: chatd
// serves it on a `listen ... ssl` port with a throwaway self-signed
// certificate (made here with the openssl command), the page must open its
// WebSocket as wss:// (it picks the scheme from its own), and two pages
// chat.  --ignore-certificate-errors is given to this test's browser only.
//
// usage: CHATD_BIN=build/chatd CHATD_SRCDIR=. node tls.test.mjs
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.CHATD_BIN;
const SRC = process.env.CHATD_SRCDIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP = 10000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-browser-tls-'));
let chatd = null;
let browser = null;

const log = (...a) => console.log('[browser-tls]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function start(plain, tls) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', `${tmp}/k.pem`, '-out', `${tmp}/c.pem`, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  fs.writeFileSync(`${tmp}/chatd.conf`, ['redis_url off', `static_dir ${SRC}/static`,
    `listen 127.0.0.1:${tls} ssl`, `ssl_certificate ${tmp}/c.pem`, `ssl_certificate_key ${tmp}/k.pem`,
    'shutdown_timeout 2s', ''].join('\n'));
  const out = fs.openSync(`${tmp}/chatd.log`, 'a');
  chatd = spawn(BIN, ['-f', '-c', `${tmp}/chatd.conf`, '-l', `127.0.0.1:${plain}`, '-w', '2'],
    { stdio: ['ignore', out, out] });
  for (const end = Date.now() + 5000; Date.now() < end; await sleep(50)) {
    try { if ((await fetch(`http://127.0.0.1:${plain}/healthz`)).status === 200) return; } catch (e) { /* not yet */ }
  }
  throw new Error('chatd not healthy');
}

async function main() {
  if (!BIN || !fs.existsSync(BIN)) throw new Error('set CHATD_BIN to the built chatd');
  const [plain, tls] = [await freePort(), await freePort()];
  await start(plain, tls);
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--ignore-certificate-errors'],
  });
  const base = `https://127.0.0.1:${tls}`;
  const sockets = [];
  const pages = [];
  for (const name of ['alice', 'bob']) {
    const page = await (await browser.newContext()).newPage();
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${base}/?room=alpha&name=${name}`);
    await page.waitForSelector('#state[data-state="open"]', { timeout: STEP })
      .catch(() => { throw new Error(`${name}: never connected over wss`); });
    pages.push(page);
  }
  if (!sockets.length || !sockets.every((u) => u.startsWith(`wss://127.0.0.1:${tls}/`)))
    throw new Error(`WebSocket URLs ${JSON.stringify(sockets)} are not wss://`);
  await pages[0].fill('#input', 'hello over tls');
  await pages[0].press('#input', 'Enter');
  await pages[1].waitForFunction(() => [...document.querySelectorAll('#messages li.msg-chat .text')]
    .some((e) => e.textContent.includes('hello over tls')), null, { timeout: STEP })
    .catch(() => { throw new Error('bob never saw alice over wss'); });
  log(`two pages chatted over ${sockets[0].split('/').slice(0, 3).join('/')}`);
}

let failed = false;
main().then(() => log('PASS'), (e) => { failed = true; console.error('[browser-tls] FAIL:', e.message); })
  .finally(async () => {
    if (browser) await browser.close().catch(() => {});
    if (chatd && chatd.exitCode === null) chatd.kill('SIGTERM');
    await sleep(300);
    if (failed) { try { console.error(fs.readFileSync(`${tmp}/chatd.log`, 'utf8').split('\n').slice(-15).join('\n')); } catch (e) { /* none */ } }
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(failed ? 1 : 0);
  });
