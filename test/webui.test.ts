// The Temporal Web UI as an operator uses it, in a real browser (Debian's chromium driven by playwright-core;
// no browser download): filter a source's rejected files, open one, read it. Screenshots go to
// test-artifacts/webui/ (git-ignored).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { usePipeline } from './helpers/pipeline';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts', 'webui');

const pipeline = usePipeline({
  webUi: true,
  sources: [
    { id: 'ui-good' },
    { id: 'ui-bad', processor: { name: 'command', options: { command: ['false'], permanentExitCodes: [1] } } },
  ],
});

let browser: Browser;
let page: Page;
let rejectedId = '';
let doneId = '';

async function shot(name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Opens the workflows list filtered by a visibility query. */
async function openList(query: string): Promise<void> {
  const { uiUrl } = pipeline.temporal;
  assert.ok(uiUrl, 'the dev server runs with its UI');
  const url = `${uiUrl}/namespaces/${pipeline.config.temporal.namespace}/workflows?query=${encodeURIComponent(query)}`;
  await page.goto(url, { waitUntil: 'domcontentloaded' });
}

/** Waits until the visibility store answers `query` with `count` workflows (it is eventually consistent). */
async function waitForVisibility(query: string, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { count: seen } = await pipeline.client.workflow.count(query);
    if (seen === count) return;
    if (Date.now() > deadline) throw new Error(`${query}: ${seen} workflows, wanted ${count}`);
    await sleep(250);
  }
}

describe('Temporal Web UI in a browser', () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await pipeline.startWorker();
    pipeline.putRemote('ui-good', 'fine.csv', 'id\n1\n');
    pipeline.putRemote('ui-bad', 'broken.csv', 'never processed\n');
    assert.equal((await pipeline.poll('ui-good')).claimed, 1);
    assert.equal((await pipeline.poll('ui-bad')).claimed, 1);
    const done = await pipeline.waitForStatus('ui-good', 'fine.csv', ['DONE']);
    const rejected = await pipeline.waitForStatus('ui-bad', 'broken.csv', ['REJECTED']);
    doneId = done.workflowId ?? '';
    rejectedId = rejected.workflowId ?? '';
    await pipeline.fileResult(done);
    await pipeline.fileResult(rejected).catch(() => undefined); // fails once rejected files end Failed
    await waitForVisibility('FtpSource = "ui-bad" AND FtpStage = "rejected"', 1);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(30_000);
  });

  after(async () => {
    await browser?.close();
  });

  test('filtering FtpSource and FtpStage = "rejected" lists the rejected file, not the done one', async () => {
    await openList('FtpSource = "ui-bad" AND FtpStage = "rejected"');
    await page.getByText(rejectedId, { exact: false }).first().waitFor();
    const file = await shot('1-rejected-list');
    const text = await page.locator('body').innerText();
    assert.ok(text.includes(rejectedId), 'the rejected file workflow is listed');
    assert.ok(!text.includes(doneId), 'the done file is not');
    assert.ok(fs.statSync(file).size > 10_000, 'a real screenshot');
  });

  test('opening the rejected file workflow shows its id, type and the rejection in its result', async () => {
    await page.getByText(rejectedId, { exact: false }).first().click();
    await page.waitForURL(/\/workflows\/.+\/.+/);
    await page.getByText('fileWorkflow').first().waitFor();
    await page
      .getByText(/rejected/i)
      .first()
      .waitFor();
    await shot('2-rejected-workflow');
    const text = await page.locator('body').innerText();
    assert.ok(text.includes(rejectedId), 'the workflow id is shown');
    assert.match(text, /exited with 1/, 'the reason is visible');
  });

  test('the Failures view (ExecutionStatus = "Failed") lists exactly the rejected files, with a summary', async () => {
    await waitForVisibility('ExecutionStatus = "Failed"', 1);
    await openList('ExecutionStatus = "Failed"');
    await page.getByText(rejectedId, { exact: false }).first().waitFor();
    await shot('3-failures-view');
    const text = await page.locator('body').innerText();
    assert.ok(text.includes(rejectedId));
    assert.ok(!text.includes(doneId));
    await page.getByText(rejectedId, { exact: false }).first().click();
    await page
      .getByText(/failed/i)
      .first()
      .waitFor();
    await page.getByText('broken.csv').first().waitFor(); // the static summary names the file
    await shot('4-failed-workflow');
  });
});
