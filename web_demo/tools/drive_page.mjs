// Drives the demo page in headless Chromium (playwright-core, the system
// browser: never downloads one). Used by tests/web_demo/test_web_demo.py and
// python -m web_demo.bench.
//
//   node drive_page.mjs animate URL OUT_DIR SOURCE_IMAGE DRIVING_VIDEO
//   node drive_page.mjs error   URL OUT_DIR
//   node drive_page.mjs bench   URL OUT_DIR RUNS
//   node drive_page.mjs webcam  URL OUT_DIR FRAMES   (Chromium's fake camera)
//
// EXTRA_CHROMIUM_ARGS (space-separated) adds browser flags.
// Writes OUT_DIR/result.json (and for animate page.png, result.webm); exit 0.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {chromium} from 'playwright-core';

const [mode, url, outDir, ...rest] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.PAGE_TIMEOUT_MS || 600000);
mkdirSync(outDir, {recursive: true});

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    '--autoplay-policy=no-user-gesture-required',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    ...(process.env.EXTRA_CHROMIUM_ARGS || '').split(' ').filter(Boolean)],
});
const log = [];
const result = {mode};
try {
  const context = await browser.newContext({acceptDownloads: true,
    viewport: {width: 960, height: 720}});
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(
      () => window.fommDemo && ['ready', 'error'].includes(window.fommDemo.status),
      null, {timeout: TIMEOUT});
  Object.assign(result, await page.evaluate(() => ({
    status: window.fommDemo.status, error: window.fommDemo.error,
    threads: window.fommDemo.threads, models: window.fommDemo.models,
    crossOriginIsolated: self.crossOriginIsolated,
    statusText: document.getElementById('status').textContent})));
  if (mode === 'animate' && result.status === 'ready') {
    const [source, driving] = rest;
    await page.setInputFiles('#source-file', source);
    await page.setInputFiles('#driving-file', driving);
    await page.click('#animate');
    await page.waitForFunction(
        () => ['done', 'error'].includes(window.fommDemo.status), null, {timeout: TIMEOUT});
    Object.assign(result, await page.evaluate(() => {
      const d = window.fommDemo;
      const b64 = (a) => {
        const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) {
          s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        }
        return btoa(s);
      };
      return {
        status: d.status, error: d.error, frameCount: d.frameCount, fps: d.fps,
        timings: d.timings, stats: document.getElementById('stats').textContent,
        statusText: document.getElementById('status').textContent,
        source: d.inputs && b64(d.inputs.source),
        driving: d.inputs ? d.inputs.driving.map(b64) : [],
        outputs: d.outputs ? d.outputs.map(b64) : [],
      };
    }));
    await page.screenshot({path: join(outDir, 'page.png'), fullPage: true});
    if (result.status === 'done') {
      const download = page.waitForEvent('download', {timeout: 120000});
      await page.click('#save');
      const file = await download;
      await file.saveAs(join(outDir, 'result.webm'));
      result.savedName = file.suggestedFilename();
    }
  } else if (mode === 'webcam' && result.status === 'ready') {
    await page.click('#sample');
    await page.waitForFunction(
        () => document.getElementById('status').textContent.startsWith('Bundled sample'));
    await page.click('#webcam');
    await page.waitForFunction((n) => window.fommDemo.framesDone >= n ||
        window.fommDemo.status === 'error', Number(rest[0] || 3), {timeout: TIMEOUT});
    await page.click('#stop');
    await page.waitForFunction(
        () => ['done', 'error'].includes(window.fommDemo.status), null, {timeout: TIMEOUT});
    Object.assign(result, await page.evaluate(() => ({
      status: window.fommDemo.status, error: window.fommDemo.error,
      framesDone: window.fommDemo.framesDone,
      stats: document.getElementById('stats').textContent,
      statusText: document.getElementById('status').textContent,
      saveEnabled: !document.getElementById('save').disabled})));
    await page.screenshot({path: join(outDir, 'page.png'), fullPage: true});
  } else if (mode === 'bench' && result.status === 'ready') {
    result.bench = await page.evaluate((runs) => window.fommBenchmark(runs),
        Number(rest[0] || 10));
  } else {
    await page.screenshot({path: join(outDir, 'page.png'), fullPage: true});
  }
} catch (error) {
  result.driverError = String(error && error.stack || error);
} finally {
  result.console = log;
  writeFileSync(join(outDir, 'result.json'), JSON.stringify(result));
  await browser.close();
}
