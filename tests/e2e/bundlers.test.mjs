// The packed npm package, installed the way a frontend team installs it: into a fresh Vite app,
// and into React and Vue apps with the documented wrapper components; each is built and run in
// Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browser, page as newPage } from './support.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

/** Serves `folder` and a stand-in for the relay's POST /v1/consents; returns its origin. */
async function serve(folder, received) {
  const server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/v1/consents') {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        const { records } = JSON.parse(body);
        received.push(...records);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ records: records.map((record) => ({ id: record.id, outcome: 'stored', consentDate: '2026-11-29 10:00:00', receipt: '0'.repeat(64) })) }));
      });
      return;
    }
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(folder, path);
    if (!file.startsWith(folder) || !existsSync(file) || path.endsWith('/')) file = join(folder, 'index.html');
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/**
 * Copies an example app, installs its locked dependencies with `npm ci`, adds the packed package
 * beside them without touching the lockfile, and builds the app.
 */
function build(name, tarball, work) {
  const app = join(work, name);
  cpSync(join(root, 'examples', name), app, { recursive: true, filter: (source) => !source.includes('node_modules') });
  const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];
  execFileSync('npm', ['ci', ...quiet], { cwd: app, stdio: 'inherit' });
  execFileSync('npm', ['install', '--no-save', ...quiet, tarball], { cwd: app, stdio: 'inherit' });
  execFileSync('node', [join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: app, stdio: 'inherit' });
  return join(app, 'dist');
}

const work = mkdtempSync(join(tmpdir(), 'iys-bundlers-'));
const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: join(root, 'pkg') }).toString().trim().split('\n').pop();
const tarball = join(work, packed);

async function signUp(origin, check) {
  const context = await browser();
  try {
    const page = await newPage(context);
    await page.goto(`${origin}/`);
    await page.fill('input[type=email]', 'paket@example.com');
    await page.check('[data-channel=email] input');
    await page.click('button.iys-consent__submit');
    await page.waitForSelector('text=İzniniz kaydedildi.');
    await check(page);
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
}

test('the package works in a Vite app', async () => {
  const received = [];
  const { server, origin } = await serve(build('vite', tarball, work), received);
  try {
    await signUp(origin, async () => {
      assert.equal(received.length, 1);
      assert.equal(received[0].recipient, 'paket@example.com');
      assert.equal(received[0].evidence.formId, 'vite-example');
    });
  } finally {
    server.close();
  }
});

/**
 * Builds the example app `name`, whose wrapper component reports receipts as "N kayıt", signs up
 * through it, and checks the one record it sent and that one widget is left on the page.
 */
async function wrapperSignsUp(name) {
  const received = [];
  const { server, origin } = await serve(build(name, tarball, work), received);
  try {
    await signUp(origin, async (page) => {
      await page.waitForSelector('text=1 kayıt');
      assert.equal(received.length, 1);
      assert.equal(received[0].evidence.formId, `${name}-example`);
      // React's strict mode, for one, mounts, destroys and mounts again: one widget is left.
      assert.equal(await page.locator('fieldset.iys-consent').count(), 1);
    });
  } finally {
    server.close();
  }
}

test('the package works in a React app through the documented wrapper component', () => wrapperSignsUp('react'));

test('the package works in a Vue app through the documented wrapper component', () => wrapperSignsUp('vue'));
