import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browser, page as newPage, origin, stored, eventually, axeSource, sandbox } from './support.mjs';

async function newRecords(before, count, what) {
  return eventually(async () => {
    const all = await stored();
    return all.length >= before + count ? all.slice(before) : null;
  }, 20_000, what);
}

test('a newsletter signup is stored', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/newsletter/`);
    await page.fill('input[autocomplete=name]', 'Bülent Okur');
    await page.fill('input[type=email]', 'bulten@example.com');
    await page.check('[data-channel=email] input');
    await page.click('button.iys-consent__submit');
    await page.waitForSelector('text=İzniniz kaydedildi.');
    const [record] = await newRecords(before, 1, 'the signup');
    assert.equal(record.recipient, 'bulten@example.com');
    assert.equal(record.details.evidence.mode, 'newsletter');
    assert.equal(record.details.name, 'Bülent Okur');
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('the <iys-consent> element works in plain HTML', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/element/`);
    await page.fill('iys-consent input[type=email]', 'element@example.com');
    await page.check('iys-consent [data-channel=email] input');
    const sent = page.evaluate(() => new Promise((resolve) => {
      document.querySelector('iys-consent').addEventListener('iys:sent', (event) => resolve(event.detail), { once: true });
    }));
    await page.click('iys-consent button[type=submit]');
    const detail = await sent;
    assert.equal(detail.receipts.length, 1);
    const [record] = await newRecords(before, 1, 'the element signup');
    assert.equal(record.recipient, 'element@example.com');
    assert.equal(record.details.evidence.formId, 'element-demo');
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('turning a channel off in the preference centre records a refusal', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    // The demo customer first gives e-mail consent, as at a checkout.
    await page.goto(`${origin}/headless/`);
    const before = (await stored()).length;
    await page.fill('#headless-email', 'musteri@example.com');
    await page.click('#accept');
    await newRecords(before, 1, 'the consent');
    await page.goto(`${origin}/preferences/`);
    await page.waitForFunction(() => document.querySelector('[data-channel=email] input')?.checked === true);
    const middle = (await stored()).length;
    await page.uncheck('[data-channel=email] input');
    const [refusal] = await newRecords(middle, 1, 'the refusal');
    assert.equal(refusal.status, 'rejected');
    assert.equal(refusal.channel, 'email');
    assert.equal(refusal.recipient, 'musteri@example.com');
    assert.equal(refusal.details.evidence.mode, 'preferences');
    await eventually(async () => (await stored()).find((record) => record.id === refusal.id)?.iys.state === 'accepted', 20_000, 'the refusal to reach İYS');
    await page.reload();
    await page.waitForSelector('[data-channel=email] input:not([disabled])');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await page.isChecked('[data-channel=email] input'), false, 'the refusal is the state now');
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('records leave from the sending worker, and from the page where a policy refuses workers', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const workers = [];
    page.on('worker', (worker) => workers.push(worker.url()));
    await page.goto(`${origin}/newsletter/`);
    let before = (await stored()).length;
    await page.fill('input[type=email]', 'worker@example.com');
    await page.check('[data-channel=email] input');
    await page.click('button.iys-consent__submit');
    await page.waitForSelector('text=İzniniz kaydedildi.');
    let [record] = await newRecords(before, 1, 'the record sent by the worker');
    assert.equal(record.recipient, 'worker@example.com');
    assert.deepEqual(workers.map((url) => new URL(url).pathname), ['/pkg/iys-consent-worker.js']);
    assert.deepEqual(page.problems, []);

    // The same page under a policy that refuses every worker: the record goes from the page.
    const refusing = await newPage(context);
    const refusedWorkers = [];
    refusing.on('worker', (worker) => refusedWorkers.push(worker.url()));
    await refusing.route(`${origin}/newsletter/`, async (route) => {
      const response = await route.fetch();
      const policy = `${response.headers()['content-security-policy']}; worker-src 'none'`;
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': policy } });
    });
    await refusing.goto(`${origin}/newsletter/`);
    before = (await stored()).length;
    await refusing.fill('input[type=email]', 'no-worker@example.com');
    await refusing.check('[data-channel=email] input');
    await refusing.click('button.iys-consent__submit');
    await refusing.waitForSelector('text=İzniniz kaydedildi.');
    [record] = await newRecords(before, 1, 'the record sent from the page');
    assert.equal(record.recipient, 'no-worker@example.com');
    assert.deepEqual(refusedWorkers, []);
    // The refusal itself is the only problem the page reports.
    assert.ok(refusing.problems.length > 0 && refusing.problems.every((problem) => /worker-src|iys-consent-worker/.test(problem)), refusing.problems.join('\n'));
  } finally {
    await context.close();
  }
});

test('offline at submit, then back online after a reload: the records arrive exactly once', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    await page.goto(`${origin}/newsletter/`);
    await page.waitForSelector('input[type=email]');
    const before = (await stored()).length;
    await context.setOffline(true);
    await page.fill('input[type=email]', 'offline@example.com');
    await page.check('[data-channel=email] input');
    await page.click('button.iys-consent__submit');
    await page.waitForSelector('text=Bağlantı yok');
    const outbox = () => page.evaluate(() => Object.keys(localStorage)
      .filter((key) => key.startsWith('iys-consent:outbox:v1:'))
      .map((key) => JSON.parse(localStorage.getItem(key))));
    assert.equal((await outbox()).filter((entry) => entry.state === 'pending').length, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await stored()).length, before, 'nothing reached the relay while offline');
    await context.setOffline(false);
    await page.reload();
    const records = await newRecords(before, 1, 'the queued record');
    assert.equal(records[0].recipient, 'offline@example.com');
    // The page that went away may have sent it on its way out, unconfirmed; once its lease ends
    // the new page confirms it, and the relay answers `duplicate` rather than storing it again.
    await eventually(async () => (await outbox()).length === 0, 30_000, 'an empty outbox');
    const all = (await stored()).slice(before);
    assert.equal(all.length, 1, 'stored exactly once');
  } finally {
    await context.close();
  }
});

test('every demo page passes an axe accessibility scan and runs under a strict CSP', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    for (const path of ['/', '/checkout/', '/newsletter/', '/preferences/', '/headless/', '/element/', '/operator/', '/mailbox/', '/kvkk/']) {
      const response = await page.goto(`${origin}${path}`);
      const policy = response.headers()['content-security-policy'];
      assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'/);
      assert.match(policy, /style-src 'self'/);
      await page.waitForLoadState('networkidle');
      // Evaluated through the debugging protocol, which a page's CSP does not restrict.
      await page.evaluate(axeSource);
      const results = await page.evaluate(async () => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
      const violations = results.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
      assert.deepEqual(violations, [], `${path} has accessibility violations`);
    }
    const problems = page.problems.filter((problem) => problem.includes('CSP violation'));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a refusal made in İYS shows in the preference centre after a pull', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/checkout/`);
    await page.fill('#name', 'Müşteri');
    await page.fill('#phone', '0532 123 45 67');
    await page.fill('#email', 'musteri@example.com');
    await page.check('[data-channel=sms] input');
    await Promise.all([page.waitForURL(/\/checkout\/thanks\//), page.click('button[type=submit]')]);
    const [consent] = await newRecords(before, 1, 'the SMS consent');
    await eventually(async () => (await stored()).find((record) => record.id === consent.id)?.iys.state === 'accepted', 20_000, 'İYS to accept the consent');
    await page.goto(`${origin}/preferences/`);
    await page.waitForFunction(() => document.querySelector('[data-channel=sms] input')?.checked === true);
    // The customer texts RET to 3338: İYS records the refusal itself.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const citizen = await fetch(`${sandbox}/sandbox/citizen`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: '+905321234567', type: 'MESAJ', recipientType: 'BIREYSEL', status: 'RET' }),
    });
    assert.equal(citizen.status, 200);
    await eventually(async () => {
      await page.reload();
      await page.waitForSelector('[data-channel=sms] input:not([disabled])');
      await new Promise((resolve) => setTimeout(resolve, 300));
      return !(await page.isChecked('[data-channel=sms] input'));
    }, 20_000, 'the refusal to show after a pull');
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('the same-day notice reaches the mailbox, and its link unticks the box in the preference centre and reaches İYS as a RET', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    const started = Date.now() - 1_000;
    await page.goto(`${origin}/checkout/`);
    await page.fill('#name', 'Müşteri');
    await page.fill('#phone', '0532 123 45 67');
    await page.fill('#email', 'musteri@example.com');
    await page.check('[data-channel=email] input');
    await Promise.all([page.waitForURL(/\/checkout\/thanks\//), page.click('button[type=submit]')]);
    const [consent] = await newRecords(before, 1, 'the e-mail consent');
    assert.equal(consent.channel, 'email');
    await eventually(async () => (await stored()).find((record) => record.id === consent.id)?.iys.state === 'accepted', 20_000, 'İYS to accept the consent');
    await page.goto(`${origin}/preferences/`);
    await page.waitForFunction(() => document.querySelector('[data-channel=email] input')?.checked === true);

    // The notice arrives the same day, at the address consented for, from a real SMTP server.
    const notice = await eventually(async () => {
      const messages = await (await fetch(`${origin}/mailbox/messages.json`, { cache: 'no-store' })).json();
      return messages.find((message) => message.kind === 'email' && message.to === 'musteri@example.com' && message.at * 1000 > started);
    }, 20_000, 'the notice e-mail');
    assert.match(notice.subject, /Örnek Mağaza/);
    assert.ok(notice.oneClick, 'the e-mail offers one-click unsubscribe');
    assert.match(notice.text, /e-posta yoluyla/);
    assert.ok(notice.text.includes(notice.link), 'the body carries the refusal link');
    await eventually(async () => (await stored()).find((stored) => stored.id === consent.id)?.notice?.state === 'sent', 10_000, 'the notice to be recorded as sent');

    // The link in the message, opened from the mailbox as the customer would.
    await page.goto(`${origin}/mailbox/`);
    const selector = `li[data-kind=email][data-to="musteri@example.com"] a[href="${notice.link}"]`;
    await page.waitForSelector(selector);
    assert.match(notice.link, /\/v1\/refusals\/[A-Za-z0-9_-]+$/);
    assert.ok(!notice.link.includes('musteri'), 'the link names no address');
    const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'], /^default-src 'none'/);
    const text = await page.textContent('main');
    assert.match(text, /Örnek Mağaza/);
    assert.match(text, /m\*\*\*@example\.com/);
    assert.ok(!text.includes('musteri@'), 'the page masks the address');
    await page.evaluate(axeSource);
    const results = await page.evaluate(async () => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
    assert.deepEqual(results.violations.map((violation) => violation.id), [], 'the refusal page has accessibility violations');
    assert.equal((await stored()).length, before + 1, 'opening the page records nothing');

    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.match(await page.textContent('[role=status]'), /Reddiniz kaydedildi/);
    const [refusal] = await newRecords(before + 1, 1, 'the refusal');
    assert.equal(refusal.channel, 'email');
    assert.equal(refusal.status, 'rejected');
    assert.equal(refusal.recipient, 'musteri@example.com');
    assert.equal(refusal.details.refusalLink.action, 'button');
    assert.match(refusal.details.refusalLink.text, /m\*\*\*@example\.com/);
    await eventually(async () => (await stored()).find((record) => record.id === refusal.id)?.iys.state === 'accepted', 20_000, 'İYS to accept the refusal');
    const log = await (await fetch(`${sandbox}/sandbox/log`)).json();
    assert.ok(
      log.requests.some((request) => request.recipient === 'musteri@example.com' && request.type === 'EPOSTA' && request.status === 'RET'),
      'the sandbox holds the RET',
    );

    await page.goto(`${origin}/preferences/`);
    await page.waitForSelector('[data-channel=email] input:not([disabled])');
    await eventually(async () => !(await page.isChecked('[data-channel=email] input')), 10_000, 'the box to show the refusal');
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});
