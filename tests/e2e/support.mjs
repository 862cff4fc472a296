// Shared set-up of the end-to-end tests: Debian's Chromium driven by playwright-core, against
// the demo shop and relay that `cargo xtask test` starts (IYS_E2E_ORIGIN).
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const origin = process.env.IYS_E2E_ORIGIN;
if (!origin) {
  throw new Error('IYS_E2E_ORIGIN is not set: run the end-to-end tests through `cargo xtask test`');
}

/** The İYS sandbox the relay forwards to. */
export const sandbox = process.env.IYS_E2E_SANDBOX;

const here = dirname(fileURLToPath(import.meta.url));
export const artifacts = join(here, '..', 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** A fresh browser with its own empty profile; the caller closes it. */
export async function browser() {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'iys-e2e-')), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A page that fails the test on any script error or CSP violation. */
export async function page(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(`console error: ${message.text()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return page;
}

/** What the relay stored, decrypted, as the operator view reads it. */
export async function stored() {
  const response = await fetch(`${origin}/operator/records.json`, { cache: 'no-store' });
  return response.json();
}

/** Waits until `check()` is truthy, polling; fails after `millis`. */
export async function eventually(check, millis = 10_000, what = 'condition') {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > millis) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const axeSource = readFileSync(join(here, '..', '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
