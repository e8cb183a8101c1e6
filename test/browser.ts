// Debian's Chromium through playwright-core, for the tests of mlpipe's HTML
// pages (the report, the plots page): launched offline, and a page opened
// with every console error or warning and every request it makes recorded.
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.MLPIPE_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens a local file; `errors` holds console errors, warnings and page errors, `requests` every URL the page asked for. */
export async function openFile(browser: Browser, file: string, viewport = { width: 1200, height: 900 }): Promise<{ page: Page; url: string; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  const url = `file://${file}`;
  await page.goto(url);
  return { page, url, errors, requests };
}
