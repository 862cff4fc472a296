// Main-thread time the widget costs per submit, in headless Chromium against the demo shop's
// relay (IYS_BENCH_ORIGIN): Chrome's own TaskDuration over many submits, less the same number of
// empty round trips through the debugging protocol, in several rounds (the median is the result), and the synchronous part of each call; and
// whether the requests left from the package's sending worker. Prints one JSON object. The memory
// a widget adds is measured against an empty page in peers.mjs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const origin = process.env.IYS_BENCH_ORIGIN;
// Five rounds of 100 submits, one request each: within the demo relay's default limit of 600
// requests per minute from one address, so that no answer is a 429.
const submits = Number(process.env.IYS_BENCH_SUBMITS ?? 100);
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'iys-bench-')), {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await context.newPage();
  const workers = [];
  page.on('worker', (worker) => workers.push(new URL(worker.url()).pathname));
  await page.goto(`${origin}/kvkk/`);
  await page.evaluate(async () => {
    const { default: init, mount } = await import('/pkg/iys_consent.js');
    await init();
    const host = document.createElement('div');
    document.body.append(host);
    window.benchWidget = mount(host, { endpoint: '/v1/consents', mode: 'headless', brand: 'Örnek Mağaza', channels: ['sms', 'email'] });
  });
  const session = await context.newCDPSession(page);
  await session.send('Performance.enable');
  const taskDuration = async () => (await session.send('Performance.getMetrics')).metrics.find((metric) => metric.name === 'TaskDuration').value;
  // Warm up, then measure.
  const once = () => page.evaluate(async () => {
    const started = performance.now();
    const promise = window.benchWidget.record([
      { channel: 'sms', status: 'granted', recipient: '0532 123 45 67' },
      { channel: 'email', status: 'granted', recipient: 'ornek@example.com' },
    ]);
    const synchronous = performance.now() - started;
    const result = await promise;
    return { synchronous, status: result.status };
  });
  for (let index = 0; index < 5; index += 1) await once();
  // The harness's own cost: the same round trips through the debugging protocol, doing nothing.
  const idle = () => page.evaluate(async () => {
    const started = performance.now();
    const promise = Promise.resolve({ status: 'idle' });
    const synchronous = performance.now() - started;
    const result = await promise;
    return { synchronous, status: result.status };
  });
  // Rounds of idle calls then submits, so that a slow moment of the machine shows as one
  // round's figure rather than as the result.
  const rounds = Number(process.env.IYS_BENCH_ROUNDS ?? 5);
  const perRound = [];
  const baselines = [];
  const samples = [];
  for (let round = 0; round < rounds; round += 1) {
    const baselineBefore = await taskDuration();
    for (let index = 0; index < submits; index += 1) await idle();
    const baseline = (await taskDuration()) - baselineBefore;
    const before = await taskDuration();
    for (let index = 0; index < submits; index += 1) samples.push(await once());
    const after = await taskDuration();
    perRound.push(((after - before - baseline) * 1000) / submits);
    baselines.push((baseline * 1000) / submits);
  }
  const synchronous = samples.map((sample) => sample.synchronous).sort((a, b) => a - b);
  const sorted = [...perRound].sort((a, b) => a - b);
  console.log(JSON.stringify({
    submits,
    rounds,
    total: samples.length,
    sent: samples.filter((sample) => sample.status === 'sent').length,
    mainThreadMsPerSubmit: sorted[Math.floor(sorted.length / 2)],
    mainThreadMsPerSubmitRounds: perRound,
    harnessMsPerCall: baselines.reduce((sum, value) => sum + value, 0) / baselines.length,
    synchronousMedianMs: synchronous[Math.floor(synchronous.length / 2)],
    synchronousMaxMs: synchronous[synchronous.length - 1],
    sentFrom: workers.includes('/pkg/iys-consent-worker.js') ? 'worker' : 'page',
  }));
} finally {
  await context.close();
}
