import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from './run-demo.js';

/** Debian's chromium: `playwright install` cannot download browsers here; `.ci/run` installs it with apt. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', // CI runs as root
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const dir = mkdtempSync(join(tmpdir(), 'mesh-demo-dashboard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dashboard in a real headless Chromium', () => {
  it('shows every node, rotations and a restart arriving live, and saves a screenshot', async () => {
    // The browser first (slow to start on a busy machine), so the page is open before the demo is far in.
    const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1400, height: 1000 },
    });
    let resolveUrl: (url: string) => void;
    const dashboardUrl = new Promise<string>((r) => {
      resolveUrl = r;
    });
    const demo = runDemo(
      [
        '--duration',
        '12',
        '--rotate-every',
        '1500',
        '--port',
        '0',
        '--kill-one',
        'inventory',
        '--down',
        '2',
        '--dir',
        join(dir, 'state'),
      ],
      {
        onLine: (line) => {
          const m = /^\s+dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line);
          if (m) resolveUrl(m[1]!);
        },
      },
    );
    const screenshot = join(dir, 'dashboard.png');
    try {
      const url = await Promise.race([
        dashboardUrl,
        demo.then((r) => {
          throw new Error(`demo ended before serving the dashboard:\n${r.stdout}${r.stderr}`);
        }),
      ]);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(url);
      // Every node appears, up, with a key version.
      for (const name of ['orders', 'payments', 'inventory']) {
        await page.waitForSelector(`[data-node="${name}"][data-status="up"]`, { timeout: 30_000 });
      }
      const before = Number(await page.getAttribute('#rotations', 'data-count'));
      // The crash and the restart show up: inventory up again with one restart, both in the event log.
      await page.waitForFunction(
        () => {
          const card = document.querySelector<HTMLElement>('[data-node="inventory"]');
          return card?.dataset.status === 'up' && card.dataset.restarts === '1';
        },
        undefined,
        { timeout: 30_000 },
      );
      expect(await page.textContent('#event-list')).toMatch(/inventory killed/);
      expect(await page.textContent('#event-list')).toMatch(/inventory restarted/);
      // Rotations arrive while the page is open (pushed over server-sent events, no reload) ...
      await page.waitForFunction(
        (n) => Number(document.getElementById('rotations')?.dataset.count) > n,
        before,
        { timeout: 30_000 },
      );
      // ... and every node, the restarted one too, shows the newest key version.
      await page.waitForFunction(
        () => {
          const latest = document.querySelector('#rotation-list li')?.textContent ?? '';
          const version = /key v(\d+)/.exec(latest)?.[1];
          const cards = [...document.querySelectorAll<HTMLElement>('[data-node]')];
          return (
            version !== undefined &&
            cards.length === 3 &&
            cards.every((c) => c.dataset.status === 'up' && c.dataset.keyVersion === version)
          );
        },
        undefined,
        { timeout: 30_000 },
      );
      expect(await page.locator('.uplot').count()).toBe(3);
      expect(await page.textContent('#failures')).toBe('0');
      // Let the charts fill a little before the picture.
      await page.waitForFunction(
        () => /^(9|\d\d) s of|^finished/.test(document.getElementById('clock')?.textContent ?? ''),
        undefined,
        { timeout: 30_000 },
      );
      await page.screenshot({ path: screenshot, fullPage: true });
    } finally {
      await context.close();
    }
    expect(statSync(screenshot).size).toBeGreaterThan(20_000);
    if (process.env.MESH_DEMO_SCREENSHOT) copyFileSync(screenshot, resolve(process.env.MESH_DEMO_SCREENSHOT));

    const run = await demo;
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });
});
