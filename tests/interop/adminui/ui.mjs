// Shared by the admin UI's browser tests: Chromium (Debian's, driven by
// playwright-core), screenshots, and the admin config of the test servers.
import { after, before } from 'node:test';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { randomHex } from '../harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync'];

/** Screenshots of every page, desktop and narrow (gitignored). */
export const OUTPUT = process.env.ADMIN_UI_OUTPUT || resolve(here, 'output');
export const DESKTOP = { width: 1280, height: 860 };
export const NARROW = { width: 390, height: 844 };

export const PASSWORD = `pw-${randomHex(8)}`;

/** The admin section of a test server's config. */
export function adminYaml({ enabled = true, password = PASSWORD, loginAttempts = 20 } = {}) {
  return `admin: {enabled: ${enabled}, password: "${password}", login_attempts: ${loginAttempts}, login_window: 1m}`;
}

/**
 * Registers hooks starting one Chromium per test file; returns an object whose
 * `context` is the browser context once before() ran.
 */
export function useBrowser() {
  const b = { context: null, dir: null };
  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is not installed (Debian package chromium): run \`make deps\` (scripts/deps.sh) first`);
    }
    mkdirSync(OUTPUT, { recursive: true });
    b.dir = mkdtempSync(join(tmpdir(), 'centrifuge-adminui-'));
    b.context = await chromium.launchPersistentContext(b.dir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: DESKTOP,
    });
  });
  after(async () => {
    if (b.context) await b.context.close();
    if (b.dir) rmSync(b.dir, { recursive: true, force: true });
  });
  return b;
}

/**
 * A new page whose console errors, failed requests and CSP violations are kept
 * (page.problems) and every admin API request is recorded (page.requests).
 */
export async function newPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.requests = [];
  page.on('console', (m) => {
    // Answers such as 401 and 403 are expected (the tests cause them); anything else is not.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) page.problems.push(`[console.error] ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`[pageerror] ${e.message}`));
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/admin/api/')) {
      page.requests.push({ method: r.method(), path: new URL(r.url()).pathname, csrf: r.headers()['x-csrf-token'] });
    }
  });
  return page;
}

/**
 * Screenshots of the page as it is (full page): desktop, desktop in the dark
 * scheme, then narrow, named name-desktop.png, name-dark.png, name-narrow.png.
 */
export async function shoot(page, name) {
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(OUTPUT, `${name}-desktop.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(OUTPUT, `${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(NARROW);
  await page.waitForTimeout(250);
  // Nothing wider than the narrow window: no sideways scrolling of the page.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(OUTPUT, `${name}-narrow.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
  if (overflow > 0) throw new Error(`page ${name} is ${overflow}px wider than a ${NARROW.width}px window`);
}

/** Logs in through the form. */
export async function login(page, base, password = PASSWORD) {
  await page.goto(`${base}/`);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}
