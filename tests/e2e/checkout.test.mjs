import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browser, page as newPage, origin, stored, eventually, artifacts, sandbox } from './support.mjs';

test('checkout with sms and e-mail ticked stores two records with the normalised phone', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/checkout/`);
    await page.fill('#name', 'Ayşe Yılmaz');
    await page.fill('#phone', '0532 123 45 67');
    await page.fill('#email', 'ayse@example.com');
    await page.check('[data-channel=sms] input');
    await page.check('[data-channel=email] input');
    await Promise.all([page.waitForURL(/\/checkout\/thanks\//), page.click('button[type=submit]')]);
    const records = await eventually(async () => {
      const all = await stored();
      return all.length >= before + 2 ? all.slice(before) : null;
    }, 15_000, 'two stored records');
    const sms = records.find((record) => record.channel === 'sms');
    const email = records.find((record) => record.channel === 'email');
    assert.equal(sms.recipient, '+905321234567');
    assert.equal(sms.details.recipientAsTyped, '0532 123 45 67');
    assert.equal(sms.details.name, 'Ayşe Yılmaz', 'the shop\'s name field goes with each record');
    assert.equal(email.details.name, 'Ayşe Yılmaz');
    assert.equal(sms.status, 'granted');
    assert.equal(sms.details.evidence.mode, 'checkout');
    assert.match(sms.details.evidence.text, /Örnek Mağaza/);
    assert.equal(email.recipient, 'ayse@example.com');
    // Both reach İYS (the sandbox) and are accepted there.
    const forwarded = await eventually(async () => {
      const all = await stored();
      const mine = all.filter((record) => record.id === sms.id || record.id === email.id);
      return mine.every((record) => record.iys.state === 'accepted') ? mine : null;
    }, 20_000, 'İYS to accept both');
    for (const record of forwarded) assert.equal(record.iys.transactionId.length, 64);
    const log = await (await fetch(`${sandbox}/sandbox/log`)).json();
    assert.ok(log.requests.some((body) => body.recipient === '+905321234567' && body.type === 'MESAJ' && body.source === 'HS_WEB'));
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('a merchant at checkout is recorded as one and registered in İYS as TACIR', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/checkout/`);
    await page.fill('#name', 'Kaya Tekstil');
    await page.fill('#phone', '0535 777 88 99');
    await page.fill('#email', 'satis@kaya-tekstil.example');
    const legend = await page.textContent('fieldset.iys-consent__kind legend');
    assert.equal(legend, 'İletileri kim olarak alıyorsunuz?');
    await page.check('input[type=radio][value=merchant]');
    await page.check('[data-channel=sms] input');
    await Promise.all([page.waitForURL(/\/checkout\/thanks\//), page.click('button[type=submit]')]);
    const [record] = await eventually(async () => {
      const all = await stored();
      return all.length >= before + 1 ? all.slice(before) : null;
    }, 15_000, 'the merchant\'s record');
    assert.equal(record.recipientType, 'merchant');
    assert.equal(record.channel, 'sms');
    await eventually(async () => (await stored()).find((stored) => stored.id === record.id)?.iys.state === 'accepted', 20_000, 'İYS to accept the TACIR record');
    const log = await (await fetch(`${sandbox}/sandbox/log`)).json();
    assert.ok(log.requests.some((body) => body.recipient === '+905357778899' && body.recipientType === 'TACIR' && body.type === 'MESAJ' && body.status === 'ONAY'));
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('checkout with nothing ticked goes through and records nothing', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/checkout/`);
    await page.fill('#name', 'Can Demir');
    await page.fill('#phone', '0533 111 22 33');
    await page.fill('#email', 'can@example.com');
    await Promise.all([page.waitForURL(/\/checkout\/thanks\//), page.click('button[type=submit]')]);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await stored()).length, before);
    assert.deepEqual(page.problems, []);
  } finally {
    await context.close();
  }
});

test('the checkout can be completed with the keyboard alone', async () => {
  const context = await browser();
  try {
    const page = await newPage(context);
    const before = (await stored()).length;
    await page.goto(`${origin}/checkout/`);
    await page.waitForSelector('[data-channel=sms] input');
    await page.focus('#name');
    await page.keyboard.type('Deniz Kaya');
    await page.keyboard.press('Tab');
    await page.keyboard.type('0534 222 33 44');
    await page.keyboard.press('Tab');
    await page.keyboard.type('deniz@example.com');
    // The individual or merchant choice comes first, its chosen radio taking the focus.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.matches('input[type=radio][value=individual]:checked')), true);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.closest('[data-channel]')?.dataset.channel), 'sms');
    await page.keyboard.press('Space');
    assert.equal(await page.isChecked('[data-channel=sms] input'), true);
    // Tab past the other boxes and the privacy link to the order button, and press Enter.
    for (let step = 0; step < 10; step += 1) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement.matches('button[type=submit]'))) break;
    }
    assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Siparişi tamamla');
    await Promise.all([page.waitForURL(/\/checkout\/thanks\//), page.keyboard.press('Enter')]);
    const records = await eventually(async () => {
      const all = await stored();
      return all.length >= before + 1 ? all.slice(before) : null;
    }, 15_000, 'the keyboard-made record');
    assert.equal(records[0].channel, 'sms');
    assert.equal(records[0].recipient, '+905342223344');
  } finally {
    await context.close();
  }
});

for (const width of [320, 1280]) {
  test(`every page renders at ${width} px wide`, async () => {
    const context = await browser();
    try {
      const page = await newPage(context);
      await page.setViewportSize({ width, height: 900 });
      for (const path of ['/', '/checkout/', '/newsletter/', '/preferences/', '/headless/', '/operator/']) {
        await page.goto(`${origin}${path}`);
        await page.waitForLoadState('networkidle');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (path !== '/operator/') assert.ok(overflow <= 0, `${path} scrolls sideways at ${width} px by ${overflow} px`);
        const name = path === '/' ? 'index' : path.replaceAll('/', '');
        await page.screenshot({ path: `${artifacts}/${name}-${width}.png`, fullPage: true });
      }
      assert.deepEqual(page.problems, []);
    } finally {
      await context.close();
    }
  });
}
