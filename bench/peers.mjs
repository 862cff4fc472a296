// The widget against its peers in headless Chromium: our <iys-consent> element in checkout mode,
// a hand-written plain-DOM page with the same three boxes (the floor), and the consent widgets
// vanilla-cookieconsent, cookieconsent (Osano) and klaro at pinned versions, each with its
// minimal documented configuration, plus an empty page for the memory baseline. Every page is the
// same small shop form around the widget, served on 127.0.0.1 by this script.
//
// Each load gets a fresh browser context (nothing cached), loads are interleaved round by round,
// at normal CPU and at 4x CPU throttling through the DevTools protocol. Per load: the time from
// navigation start until the first consent control is in the DOM and visible; the main thread's
// script time (Chrome's ScriptDuration) once the page has settled; the JS heap after a forced
// collection, less the empty page's, plus any WebAssembly linear memory; and, once per page, the
// bytes of everything it loaded besides the HTML itself, raw, gzip -9 and brotli q11.
//
// Prints the report's Markdown section on stdout. IYS_BENCH_LOADS sets the loads per page and
// CPU speed (15 unless set); the peer packages are fetched with `npm pack` into
// target/bench/peers and checked against the integrity pinned below.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const loads = Number(process.env.IYS_BENCH_LOADS ?? 15);
const settleMs = 500;

/** The peers, pinned by version and by the registry's integrity hash. */
const PEERS = {
  'vanilla-cookieconsent': {
    version: '3.1.0',
    integrity: 'sha512-/McNRtm/3IXzb9dhqMIcbquoU45SzbN2VB+To4jxEPqMmp7uVniP6BhGLjU8MC7ZCDsNQVOp27fhQTM/ruIXAA==',
  },
  cookieconsent: {
    version: '3.1.1',
    integrity: 'sha512-v8JWLJcI7Zs9NWrs8hiVldVtm3EBF70TJI231vxn6YToBGj0c9dvdnYwltydkAnrbBMOM/qX1xLFrnTfm5wTag==',
  },
  klaro: {
    version: '0.7.22',
    integrity: 'sha512-NkaFxS4S8160/zH1UQzCSYIIsAtwIDHIkJ7xofCrgRqk14OSY+OJuwCjYyW+q5fmIeF4RvsuBH6brPe2BS9Z0A==',
  },
};

/** Unpacks each peer's published tarball once; returns the folder of each package. */
function fetchPeers() {
  const cache = join(root, 'target', 'bench', 'peers');
  mkdirSync(cache, { recursive: true });
  const folders = {};
  for (const [name, { version, integrity }] of Object.entries(PEERS)) {
    const folder = join(cache, `${name}-${version}`);
    if (!existsSync(join(folder, 'package.json'))) {
      const [packed] = JSON.parse(execFileSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', cache], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
      if (packed.integrity !== integrity) {
        throw new Error(`${name}@${version}: integrity ${packed.integrity}, pinned ${integrity}`);
      }
      mkdirSync(folder, { recursive: true });
      execFileSync('tar', ['-xzf', join(cache, packed.filename), '-C', folder, '--strip-components=1']);
    }
    folders[name] = folder;
  }
  return folders;
}

const SHOP_FORM = `<form id="order" action="#">
  <h1>Sipariş</h1>
  <label for="phone">Cep telefonu</label> <input id="phone" name="phone" type="tel" autocomplete="tel">
  <label for="email">E-posta</label> <input id="email" name="email" type="email" autocomplete="email">
  <div id="consent-slot">SLOT</div>
  <button type="submit">Siparişi tamamla</button>
</form>`;

/** One page per contender: what goes in the head, in the form's slot and after the form. */
const PAGES = {
  empty: {
    label: 'empty page (baseline)',
    selector: null,
  },
  floor: {
    label: 'plain DOM, three boxes (floor)',
    selector: '#consent input[type=checkbox]',
    slot: '<div id="consent"></div>',
    after: '<script type="module" src="/floor.js"></script>',
  },
  'iys-consent': {
    label: 'iys-consent (checkout)',
    selector: 'iys-consent input[type=checkbox]',
    head: '<link rel="stylesheet" href="/pkg/style.css"><script type="module" src="/pkg/element.js"></script>',
    slot: '<iys-consent endpoint="/v1/consents" brand="Örnek Mağaza" mode="checkout" channels="sms,call,email" phone-input="#phone" email-input="#email" privacy-notice-url="/kvkk"></iys-consent>',
  },
  'vanilla-cookieconsent': {
    label: 'vanilla-cookieconsent 3.1.0',
    selector: '#cc-main .cm__btn',
    head: '<link rel="stylesheet" href="/vendor/vanilla-cookieconsent/dist/cookieconsent.css">',
    after: `<script type="module">
import '/vendor/vanilla-cookieconsent/dist/cookieconsent.umd.js';
CookieConsent.run({
  hideFromBots: false,
  categories: { necessary: { enabled: true, readOnly: true }, analytics: {} },
  language: {
    default: 'en',
    translations: {
      en: {
        consentModal: { title: 'We use cookies', description: 'Cookie modal description', acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all', showPreferencesBtn: 'Manage Individual preferences' },
        preferencesModal: {
          title: 'Manage cookie preferences', acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all', savePreferencesBtn: 'Accept current selection', closeIconLabel: 'Close modal',
          sections: [
            { title: 'Strictly Necessary cookies', description: 'These cookies are essential for the proper functioning of the website and cannot be disabled.', linkedCategory: 'necessary' },
            { title: 'Performance and Analytics', description: 'These cookies collect information about how you use our website.', linkedCategory: 'analytics' },
          ],
        },
      },
    },
  },
});
</script>`,
  },
  cookieconsent: {
    label: 'cookieconsent (Osano) 3.1.1',
    selector: '.cc-window .cc-btn',
    head: '<link rel="stylesheet" href="/vendor/cookieconsent/build/cookieconsent.min.css">',
    after: `<script src="/vendor/cookieconsent/build/cookieconsent.min.js"></script>
<script>
window.addEventListener('load', function () {
  window.cookieconsent.initialise({ palette: { popup: { background: '#000' }, button: { background: '#f1d600' } } });
});
</script>`,
  },
  klaro: {
    label: 'klaro 0.7.22',
    selector: '.klaro .cookie-notice button',
    after: `<script>
var klaroConfig = { services: [{ name: 'analytics', title: 'Analytics', purposes: ['analytics'] }] };
</script>
<script defer src="/vendor/klaro/dist/klaro.js"></script>`,
  },
};

function page(name) {
  const { head = '', slot = '', after = '' } = PAGES[name];
  return `<!doctype html>
<html lang="tr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${name}</title>${head}</head>
<body>
${SHOP_FORM.replace('SLOT', slot)}
${after}
</body>
</html>
`;
}

const FLOOR = `const host = document.getElementById('consent');
const box = document.createElement('fieldset');
const legend = document.createElement('legend');
legend.textContent = 'Kampanya ve duyurular';
box.append(legend);
for (const [channel, text] of [['sms', 'SMS'], ['call', 'Arama'], ['email', 'E-posta']]) {
  const label = document.createElement('label');
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.name = channel;
  label.append(input, ' Örnek Mağaza bana ' + text + ' ile ticari elektronik ileti gönderebilir.');
  box.append(label);
}
host.append(box);
`;

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json' };

function serve(folders) {
  const mounts = [['/pkg/', join(root, 'pkg')], ...Object.entries(folders).map(([name, folder]) => [`/vendor/${name}/`, folder])];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    const send = (status, type, body) => {
      response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      response.end(body);
    };
    const name = path.slice(1).replace(/\.html$/, '');
    if (PAGES[name]) return send(200, TYPES['.html'], page(name));
    if (path === '/floor.js') return send(200, TYPES['.js'], FLOOR);
    if (path === '/v1/consents') return send(204, 'text/plain', '');
    for (const [prefix, folder] of mounts) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(folder, path.slice(prefix.length)));
      if (!file.startsWith(folder + sep) || !existsSync(file) || !statSync(file).isFile()) break;
      return send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
    }
    send(404, 'text/plain', 'not found\n');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Runs in every page before its own scripts: notes when the first consent control is in the DOM
// and visible, and keeps every WebAssembly instance's memory.
function probe(selector) {
  let seen;
  const state = { visibleAt: null, memories: [], ready: new Promise((resolve) => { seen = resolve; }) };
  window.__bench = state;
  const keep = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const value of Object.values(instance?.exports ?? {})) {
      if (value instanceof WebAssembly.Memory) state.memories.push(value);
    }
    return result;
  };
  for (const name of ['instantiate', 'instantiateStreaming']) {
    const original = WebAssembly[name];
    WebAssembly[name] = function (...args) {
      return original.apply(this, args).then(keep);
    };
  }
  if (!selector) {
    seen();
    return;
  }
  const shown = (element) => {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    if (getComputedStyle(element).visibility !== 'visible') return false;
    for (let node = element; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === 'none' || Number(style.opacity) === 0) return false;
    }
    return true;
  };
  const look = () => {
    if (state.visibleAt !== null) return true;
    const element = document.querySelector(selector);
    if (element && shown(element)) {
      state.visibleAt = performance.now();
      seen();
      return true;
    }
    return false;
  };
  const observer = new MutationObserver(() => {
    if (look()) observer.disconnect();
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true });
  const frame = () => {
    if (look()) observer.disconnect();
    else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

async function load(browser, origin, name, rate, withBytes) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const session = await context.newCDPSession(tab);
    await session.send('Performance.enable');
    await session.send('Emulation.setCPUThrottlingRate', { rate });
    await tab.addInitScript(probe, PAGES[name].selector);
    const responses = [];
    if (withBytes) {
      tab.on('response', (response) => {
        if (response.request().resourceType() !== 'document') responses.push(response);
      });
    }
    const errors = [];
    tab.on('pageerror', (error) => errors.push(String(error)));
    // The page is read through the debugging protocol only, the same way on every page, so that
    // none of the driver's own scripts is in the heap that is measured.
    const inPage = async (expression, awaitPromise = false) => {
      const { result, exceptionDetails } = await session.send('Runtime.evaluate', { expression, awaitPromise, returnByValue: true });
      if (exceptionDetails) throw new Error(`${name}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
      return result.value;
    };
    await tab.goto(`${origin}/${name}.html`, { waitUntil: 'load' });
    let timer;
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: no visible ${PAGES[name].selector} after 30 s (${errors.join('; ')})`)), 30_000);
    });
    await Promise.race([inPage('window.__bench.ready', true), limit]).finally(() => clearTimeout(timer));
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    if (errors.length) throw new Error(`${name}: ${errors.join('; ')}`);
    const metrics = async () => Object.fromEntries((await session.send('Performance.getMetrics')).metrics.map((metric) => [metric.name, metric.value]));
    const { ScriptDuration } = await metrics();
    await session.send('HeapProfiler.collectGarbage');
    const { JSHeapUsedSize } = await metrics();
    const { visibleAt, linear } = await inPage('({ visibleAt: window.__bench.visibleAt, linear: window.__bench.memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0) })');
    let bytes = null;
    if (withBytes) {
      bytes = { raw: 0, gzip: 0, brotli: 0, files: [] };
      for (const response of responses) {
        const body = await response.body();
        bytes.raw += body.length;
        bytes.gzip += gzipSync(body, { level: 9 }).length;
        bytes.brotli += brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }).length;
        bytes.files.push(new URL(response.url()).pathname);
      }
    }
    return { visibleMs: visibleAt, scriptMs: ScriptDuration * 1000, heap: JSHeapUsedSize, linear, bytes };
  } finally {
    await context.close();
  }
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low] + (sorted[Math.ceil(position)] - sorted[low]) * (position - low);
};

const folders = fetchPeers();
const server = await serve(folders);
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const names = Object.keys(PAGES);
const contenders = names.filter((name) => name !== 'empty');
const peers = Object.keys(PEERS);
const rates = [1, 4];
const samples = {};
const bytes = {};
const chromiumVersion = browser.version();
try {
  for (const name of names) bytes[name] = (await load(browser, origin, name, 1, true)).bytes;
  for (const rate of rates) {
    // A warm-up load of each page, not counted, then `loads` rounds, each in a rotated order.
    for (const name of names) await load(browser, origin, name, rate, false);
    for (let round = 0; round < loads; round += 1) {
      for (let index = 0; index < names.length; index += 1) {
        const name = names[(index + round) % names.length];
        const sample = await load(browser, origin, name, rate, false);
        ((samples[rate] ??= {})[name] ??= []).push(sample);
      }
    }
  }
} finally {
  await browser.close();
  server.close();
}

// Figures per contender and CPU speed: medians with the interquartile range.
const summary = {};
for (const rate of rates) {
  const emptyHeap = quantile(samples[rate].empty.map((sample) => sample.heap), 0.5);
  for (const name of contenders) {
    const list = samples[rate][name];
    const figure = (values) => ({ median: quantile(values, 0.5), low: quantile(values, 0.25), high: quantile(values, 0.75) });
    (summary[rate] ??= {})[name] = {
      visible: figure(list.map((sample) => sample.visibleMs)),
      script: figure(list.map((sample) => sample.scriptMs)),
      memory: figure(list.map((sample) => Math.max(0, sample.heap - emptyHeap) + sample.linear)),
      linear: figure(list.map((sample) => sample.linear)),
    };
  }
}

const lines = [];
const say = (line = '') => lines.push(line);
const ms = (value) => `${value.toFixed(1)} ms`;
const kib = (value) => `${(value / 1024).toFixed(0)} KiB`;
const ratio = (value, base) => (base > 0 ? `${(value / base).toFixed(2)}×` : '–');
const fastestPeer = (rate, key) => peers.reduce((best, name) => (summary[rate][name][key].median < summary[rate][best][key].median ? name : best));
say('## Widget against its peers\n');
say(`Headless Chromium ${chromiumVersion} driven by playwright-core; every page is the same small order form (phone and e-mail fields, a submit button) with one consent widget in it, served over loopback without compression or caching. Each load is a fresh browser context; ${loads} loads per page and CPU speed after one warm-up load, interleaved round by round in a rotating order, at normal CPU and at 4× CPU throttling (\`Emulation.setCPUThrottlingRate\`). Figures are medians with the interquartile range in brackets; ratios compare medians.\n`);
say('- **visible**: from navigation start until the first consent control (a checkbox, or the peer\'s first button) is in the DOM with a size, visible and not transparent, seen by a mutation observer and a per-frame check installed before the page\'s scripts run.');
say(`- **script**: the main thread's script time for the whole load (Chrome's \`ScriptDuration\`), read ${settleMs} ms after the control was visible and the load event had fired.`);
say('- **memory**: the JS heap after a forced collection less the empty page\'s median, plus the WebAssembly linear memory of any instance the page created.');
say('- **bytes**: everything the page loaded besides its HTML (scripts, stylesheets, wasm), each file compressed on its own: gzip -9 and brotli quality 11.\n');
say('Peers, each with its minimal documented configuration: vanilla-cookieconsent 3.1.0 (`CookieConsent.run` with a necessary and an analytics category, English texts, its consent modal; `hideFromBots: false`, since by default it shows nothing to an automated browser), cookieconsent (Osano) 3.1.1 (`initialise` on the load event with a palette, its banner) and klaro 0.7.22 (`klaro.js` with its styles, one service, its notice). The floor is a module script that builds a fieldset with the same three labelled boxes by hand.\n');
for (const rate of rates) {
  const title = rate === 1 ? 'normal CPU' : `${rate}× CPU throttling`;
  say(`### ${title}\n`);
  say('| page | visible | ÷ floor | ÷ fastest peer | script | ÷ floor | ÷ fastest peer | memory | ÷ floor | ÷ fastest peer |');
  say('|---|---|---|---|---|---|---|---|---|---|');
  const fastest = { visible: fastestPeer(rate, 'visible'), script: fastestPeer(rate, 'script'), memory: fastestPeer(rate, 'memory') };
  for (const name of contenders) {
    const row = summary[rate][name];
    const cells = ['visible', 'script', 'memory'].map((key) => {
      const show = key === 'memory' ? kib : ms;
      const { median, low, high } = row[key];
      return `${show(median)} (${show(low)}–${show(high)}) | ${ratio(median, summary[rate].floor[key].median)} | ${ratio(median, summary[rate][fastest[key]][key].median)}`;
    });
    say(`| ${PAGES[name].label} | ${cells.join(' | ')} |`);
  }
  say(`\nFastest peer: visible ${PAGES[fastest.visible].label}, script ${PAGES[fastest.script].label}, memory ${PAGES[fastest.memory].label}. Wasm linear memory in iys-consent's figure: ${kib(summary[rate]['iys-consent'].linear.median)}.\n`);
}
say('### Bytes on the wire\n');
say('| page | raw | gzip | brotli | brotli ÷ fastest-loading peer | files |');
say('|---|---|---|---|---|---|');
const smallestPeer = peers.reduce((best, name) => (bytes[name].brotli < bytes[best].brotli ? name : best));
for (const name of contenders) {
  const { raw, gzip, brotli, files } = bytes[name];
  say(`| ${PAGES[name].label} | ${raw} | ${gzip} | ${brotli} | ${ratio(brotli, bytes[smallestPeer].brotli)} | ${files.map((file) => `\`${file}\``).join(', ')} |`);
}
say(`\nSmallest peer on the wire: ${PAGES[smallestPeer].label}.\n`);
say('### Targets\n');
say('| measure | target | result | |');
say('|---|---|---|---|');
for (const rate of rates) {
  const title = rate === 1 ? 'normal CPU' : `${rate}× CPU`;
  for (const [key, what] of [['visible', 'time to visible'], ['script', 'main-thread script time']]) {
    const ours = summary[rate]['iys-consent'][key].median;
    const best = summary[rate][fastestPeer(rate, key)][key].median;
    say(`| ${what}, ${title} | no worse than the fastest peer (${ms(best)}) | ${ms(ours)} (${ratio(ours, best)}) | ${ours <= best ? 'met' : 'NOT met'} |`);
  }
}
const memory = summary[1]['iys-consent'].memory.median;
say(`| added memory, normal CPU | under 512 KB | ${kib(memory)} | ${memory < 512_000 ? 'met' : 'NOT met'} |`);
console.log(lines.join('\n'));
