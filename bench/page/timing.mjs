// Porchlight's page bench, the browser part (`cargo xtask bench page` runs it): in one
// fresh headless Chromium profile, visits the article page twice (cold cache, then warm:
// a new tab in the same profile) and on each visit measures
//   - launcher_after_load_ms: from the host page's `load` event to the launcher being
//     visible (its button in the widget's document and not hidden, and the loader's iframe
//     sized above zero, whichever comes last);
//   - click_to_focus_ms: from the click on the launcher to the composer getting focus.
// Every timestamp is taken inside the pages (performance.timeOrigin + now / event
// timeStamp, comparable across the host's and the iframe's processes), so CDP round trips
// are not counted. Prints one JSON object on stdout:
//   {"cold": {"launcher_after_load_ms": N, "click_to_focus_ms": N}, "warm": {…}}
//
// usage: node timing.mjs --lighthouse DIR --chromium PATH --url URL --chat-origin ORIGIN
// (DIR: the installed lighthouse package, whose puppeteer-core is used)

import { createRequire } from 'node:module';
import path from 'node:path';

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
      throw new Error(`bad argument ${argv[i]}`);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const name of ['lighthouse', 'chromium', 'url', 'chat-origin']) {
    if (!out[name]) throw new Error(`--${name} is required`);
  }
  return out;
}

const LAUNCHER = 'button.pl-launcher';
const COMPOSER = 'textarea#pl-composer-input';
const TIMEOUT_MS = 30000;

// Runs in every frame at document start (before the page's own scripts). In the host page
// it notes when the loader's iframe first has a size; in the widget's frame, when the
// launcher first shows, when it is clicked and when the composer gets focus.
function probe(chatOrigin, launcher, composer) {
  const now = () => performance.timeOrigin + performance.now();
  const marks = (window.__plBench = {});
  if (window === window.top) {
    const check = () => {
      const frame = document.querySelector('iframe[data-porchlight]');
      if (!marks.sized && frame && frame.offsetWidth > 0 && frame.offsetHeight > 0) {
        // The frame in which the new size is drawn.
        marks.sized = true;
        requestAnimationFrame(() => { marks.sizedAt = now(); });
      }
    };
    new MutationObserver(check).observe(document, {
      subtree: true, childList: true, attributes: true, attributeFilter: ['style'],
    });
    addEventListener('load', () => {
      const nav = performance.getEntriesByType('navigation')[0];
      marks.loadAt = performance.timeOrigin + (nav ? nav.loadEventStart : performance.now());
    });
  } else if (location.origin === chatOrigin) {
    const check = () => {
      const button = document.querySelector(launcher);
      if (!marks.launcherAt && button && !button.hidden && button.getClientRects().length > 0) {
        marks.launcherAt = now();
      }
    };
    new MutationObserver(check).observe(document, {
      subtree: true, childList: true, attributes: true,
    });
    addEventListener('click', (event) => {
      if (!marks.clickAt && event.target instanceof Element && event.target.closest(launcher)) {
        marks.clickAt = performance.timeOrigin + event.timeStamp;
      }
    }, true);
    addEventListener('focusin', (event) => {
      if (!marks.focusAt && marks.clickAt && event.target instanceof Element &&
          event.target.matches(composer)) {
        marks.focusAt = now();
      }
    }, true);
  }
}

async function visit(browser, opts) {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(probe, opts['chat-origin'], LAUNCHER, COMPOSER);
  await page.goto(opts.url, { waitUntil: 'load', timeout: TIMEOUT_MS });
  await page.bringToFront();
  await page.waitForFunction(() => window.__plBench.sizedAt && window.__plBench.loadAt, {
    timeout: TIMEOUT_MS,
  });
  const frame = await widgetFrame(page, opts['chat-origin']);
  await frame.waitForFunction(() => window.__plBench && window.__plBench.launcherAt, {
    timeout: TIMEOUT_MS,
  });
  const host = await page.evaluate(() => window.__plBench);
  const shown = await frame.evaluate(() => window.__plBench.launcherAt);
  // The visitor reads first: click once the page has settled.
  await page.waitForNetworkIdle({ idleTime: 500, timeout: TIMEOUT_MS }).catch(() => {});
  const button = await frame.waitForSelector(`${LAUNCHER}:not([hidden])`, { timeout: TIMEOUT_MS });
  await button.click();
  await frame.waitForFunction(() => window.__plBench.focusAt, { timeout: TIMEOUT_MS });
  const widget = await frame.evaluate(() => window.__plBench);
  await page.close();
  return {
    launcher_after_load_ms: Math.max(shown, host.sizedAt) - host.loadAt,
    click_to_focus_ms: widget.focusAt - widget.clickAt,
  };
}

async function widgetFrame(page, chatOrigin) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const frame = page.frames().find((f) => f.url().startsWith(`${chatOrigin}/widget/`));
    if (frame) return frame;
    if (Date.now() > deadline) throw new Error('the widget iframe never appeared');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main() {
  const opts = args();
  // puppeteer-core as Lighthouse itself resolves it.
  const require = createRequire(path.join(path.resolve(opts.lighthouse), 'package.json'));
  const puppeteer = require('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: opts.chromium,
    headless: true,
    args: ['--headless=new', '--no-sandbox'],
    defaultViewport: { width: 1280, height: 800 },
  });
  try {
    const cold = await visit(browser, opts);
    const warm = await visit(browser, opts);
    process.stdout.write(`${JSON.stringify({ cold, warm })}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  process.stderr.write(`timing.mjs: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
