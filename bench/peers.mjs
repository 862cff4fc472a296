// The widget against its peers in headless Chromium: our <iys-consent> element in checkout mode,
// a hand-written plain-DOM page with the same three boxes (the floor), and the consent widgets
// vanilla-cookieconsent, cookieconsent (Osano) and klaro at pinned versions, each with its
// minimal documented configuration, plus an empty page for the memory baseline. Every page is the
// same small shop form around the widget, served on 127.0.0.1 by this script.
//
// Each load gets a fresh browser context (nothing cached), loads are interleaved round by round,
// at normal CPU, at 4x CPU throttling, and at 4x CPU with Lighthouse's slow 4G network, through
// the DevTools protocol. Per load: the time from navigation start until the first consent control
// shows; the main thread's script time (Chrome's ScriptDuration) once the page has settled; the
// JS heap after a forced collection, less the empty page's, plus any WebAssembly linear memory;
// and, once per page, the bytes of everything it loaded besides the HTML itself, raw, gzip -9 and
// brotli q11.
//
// Prints the report's Markdown section on stdout. IYS_BENCH_LOADS sets the loads per page and
// setting (15 unless set); the peer packages are fetched with `npm pack` into
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
if (!Number.isInteger(loads) || loads < 1) throw new Error(`IYS_BENCH_LOADS must be a whole number of at least 1, not ${process.env.IYS_BENCH_LOADS}`);
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
    // As the package's README shows for plain HTML, with the module and the wasm preloaded.
    head: '<link rel="stylesheet" href="/pkg/style.css"><link rel="modulepreload" href="/pkg/iys_consent.js"><link rel="preload" href="/pkg/iys_consent_bg.wasm" as="fetch" type="application/wasm" crossorigin><script type="module" src="/pkg/element.js"></script>',
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

const brotli = (body) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });

function serve(folders) {
  const compressed = new Map();
  const mounts = [['/pkg/', join(root, 'pkg')], ...Object.entries(folders).map(([name, folder]) => [`/vendor/${name}/`, folder])];
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname);
    // Compressed as a production server would, brotli where the browser takes it.
    const accepts = request.headers['accept-encoding'] ?? '';
    const encoding = /\bbr\b/.test(accepts) ? 'br' : /\bgzip\b/.test(accepts) ? 'gzip' : null;
    const send = (status, type, body) => {
      const headers = { 'Content-Type': type, 'Cache-Control': 'no-store' };
      let payload = Buffer.from(body);
      if (encoding && payload.length > 0) {
        const key = `${encoding} ${path}`;
        if (!compressed.has(key)) compressed.set(key, encoding === 'br' ? brotli(payload) : gzipSync(payload, { level: 9 }));
        payload = compressed.get(key);
        headers['Content-Encoding'] = encoding;
      }
      headers['Content-Length'] = payload.length;
      response.writeHead(status, headers);
      response.end(payload);
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

// Runs in every page before its own scripts: notes the first animation frame in which the first
// consent control is in the DOM, has a size, and shows at least half opaque (the product of its
// and its ancestors' opacity, so a banner still fading in does not count), and keeps every
// WebAssembly instance's memory. It looks once per frame and nowhere else, so its own cost is a
// query per frame until the control shows.
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
    let opacity = 1;
    for (let node = element; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === 'none') return false;
      opacity *= Number(style.opacity);
    }
    return opacity >= 0.5;
  };
  const frame = () => {
    const element = document.querySelector(selector);
    if (element && shown(element)) {
      state.visibleAt = performance.now();
      seen();
    } else {
      requestAnimationFrame(frame);
    }
  };
  requestAnimationFrame(frame);
}

async function load(browser, origin, name, setting, withBytes) {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const session = await context.newCDPSession(tab);
    await session.send('Performance.enable');
    await session.send('Emulation.setCPUThrottlingRate', { rate: setting.rate });
    if (setting.network) {
      await session.send('Network.enable');
      await session.send('Network.emulateNetworkConditions', { offline: false, ...setting.network });
    }
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
    const shown = inPage('window.__bench.ready', true);
    // Closing the context on a timeout rejects the evaluation too; the timeout is the error.
    shown.catch(() => {});
    await Promise.race([shown, limit]).finally(() => clearTimeout(timer));
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
        bytes.brotli += brotli(body).length;
        bytes.files.push(new URL(response.url()).pathname);
      }
    }
    return { visibleMs: visibleAt, scriptMs: ScriptDuration * 1000, heap: JSHeapUsedSize, linear, bytes, numberCache: withBytes ? await numberCacheBytes(session) : null };
  } finally {
    await context.close();
  }
}

/**
 * The size of V8's number-to-string cache for small integers, read from a heap snapshot: V8
 * starts it at 1 KiB and enlarges it to 64 KiB the first time two numbers it writes share a slot.
 */
async function numberCacheBytes(session) {
  const chunks = [];
  const collect = (event) => chunks.push(event.chunk);
  session.on('HeapProfiler.addHeapSnapshotChunk', collect);
  await session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  session.off('HeapProfiler.addHeapSnapshotChunk', collect);
  const { snapshot, nodes, edges, strings } = JSON.parse(chunks.join(''));
  const nodeFields = snapshot.meta.node_fields;
  const edgeFields = snapshot.meta.edge_fields;
  const edgeCount = nodeFields.indexOf('edge_count');
  const selfSize = nodeFields.indexOf('self_size');
  const edgeType = edgeFields.indexOf('type');
  const edgeName = edgeFields.indexOf('name_or_index');
  const toNode = edgeFields.indexOf('to_node');
  const named = new Set(['context', 'property', 'internal', 'shortcut', 'weak'].map((type) => snapshot.meta.edge_types[edgeType].indexOf(type)));
  let edge = 0;
  for (let node = 0; node < nodes.length; node += nodeFields.length) {
    for (let count = nodes[node + edgeCount]; count > 0; count -= 1, edge += edgeFields.length) {
      if (named.has(edges[edge + edgeType]) && strings[edges[edge + edgeName]] === 'smi_string_cache') {
        return nodes[edges[edge + toNode] + selfSize];
      }
    }
  }
  console.error('peers.mjs: no smi_string_cache in the heap snapshot; the report leaves out its share of the memory');
  return null;
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low] + (sorted[Math.ceil(position)] - sorted[low]) * (position - low);
};

// A small seeded generator, so that the load order is shuffled the same way on every run.
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(6563);
const shuffled = (list) => {
  const copy = [...list];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(next() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
};

// The 95 % interval of the ratio of two medians, from resampling both sets of loads.
function ratioInterval(ours, theirs) {
  const pick = (values) => Array.from(values, () => values[Math.floor(next() * values.length)]);
  const ratios = [];
  for (let draw = 0; draw < 2000; draw += 1) ratios.push(quantile(pick(ours), 0.5) / quantile(pick(theirs), 0.5));
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}

/** What each load runs under: CPU throttling, and for the last one Lighthouse's mobile network. */
const SETTINGS = [
  { key: 'normal', title: 'normal CPU', rate: 1 },
  { key: 'cpu4', title: '4× CPU throttling', rate: 4 },
  {
    key: 'mobile',
    title: '4× CPU throttling and a slow 4G network (150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up)',
    rate: 4,
    network: { latency: 150, downloadThroughput: (1638.4 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 },
  },
];

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
const samples = {};
const bytes = {};
const numberCache = {};
const chromiumVersion = browser.version();
const playwrightVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'playwright-core', 'package.json'), 'utf8')).version;
try {
  for (const name of names) {
    const first = await load(browser, origin, name, SETTINGS[0], true);
    bytes[name] = first.bytes;
    numberCache[name] = first.numberCache;
  }
  for (const setting of SETTINGS) {
    // A warm-up load of each page, not counted, then `loads` rounds, each in its own order.
    for (const name of names) await load(browser, origin, name, setting, false);
    for (let round = 0; round < loads; round += 1) {
      for (const name of shuffled(names)) {
        const sample = await load(browser, origin, name, setting, false);
        ((samples[setting.key] ??= {})[name] ??= []).push(sample);
      }
    }
  }
} finally {
  await browser.close();
  server.close();
}

// Figures per contender and setting: medians with the interquartile range.
const summary = {};
const FIGURES = ['visible', 'script', 'memory'];
for (const { key } of SETTINGS) {
  const emptyHeap = quantile(samples[key].empty.map((sample) => sample.heap), 0.5);
  for (const name of contenders) {
    const list = samples[key][name];
    const values = {
      visible: list.map((sample) => sample.visibleMs),
      script: list.map((sample) => sample.scriptMs),
      memory: list.map((sample) => Math.max(0, sample.heap - emptyHeap) + sample.linear),
      linear: list.map((sample) => sample.linear),
    };
    (summary[key] ??= {})[name] = Object.fromEntries(
      Object.entries(values).map(([figure, list]) => [figure, { values: list, median: quantile(list, 0.5), low: quantile(list, 0.25), high: quantile(list, 0.75) }]),
    );
  }
}

const lines = [];
const say = (line = '') => lines.push(line);
const ms = (value) => `${value.toFixed(1)} ms`;
const kib = (value) => `${(value / 1024).toFixed(0)} KiB`;
const ratio = (value, base) => (base > 0 ? `${(value / base).toFixed(2)}×` : '–');
const bestPeer = (key, figure) => peers.reduce((best, name) => (summary[key][name][figure].median < summary[key][best][figure].median ? name : best));
say('## Widget against its peers\n');
say(`Headless Chromium ${chromiumVersion} driven by playwright-core ${playwrightVersion} on Node.js ${process.versions.node}; every page is the same small order form (phone and e-mail fields, a submit button) with one consent widget in it, served on 127.0.0.1 with brotli or gzip compression and no caching. Each load is a fresh browser context; ${loads} loads per page and setting after one warm-up load, in a newly shuffled order each round (seeded, so every run shuffles alike). Figures are medians with the interquartile range in brackets; ratios compare medians, to the floor and to the best peer for that figure (the lowest median among the three peers).\n`);
say('- **visible**: from navigation start until the first animation frame in which the first consent control (a checkbox, or the peer\'s first button) is in the DOM with a size, not hidden, and at least half opaque counting its ancestors, checked once per frame by a script installed before the page\'s own.');
say(`- **script**: the main thread's script time for the whole load (Chrome's \`ScriptDuration\`), read ${settleMs} ms after the control showed and the load event fired. It includes the per-frame check, which costs every page alike (a query per frame until the control shows).`);
say('- **memory**: the JS heap after a forced collection less the empty page\'s median, plus the WebAssembly linear memory of any instance the page created. Compiled WebAssembly code and V8\'s module data live outside the JS heap and are not counted, while the peers\' compiled JavaScript is.');
say('- **bytes**: everything the page loaded besides its HTML (scripts, stylesheets, wasm), each file compressed on its own: gzip -9 and brotli quality 11. The peers\' configuration is inline in the HTML and not counted.\n');
say('Peers, each with its minimal documented configuration: vanilla-cookieconsent 3.1.0 (`CookieConsent.run` with a necessary and an analytics category, English texts, its consent modal; `hideFromBots: false`, since by default it shows nothing to an automated browser; it shows its modal from a 100 ms timer, which CPU throttling does not stretch), cookieconsent (Osano) 3.1.1 (`initialise` on the load event with a palette, its banner; on this bare page the load event comes sooner than on a real shop page) and klaro 0.7.22 (`klaro.js` with its styles, loaded with `defer`, one service, its notice). Our widget is embedded as the package\'s README shows for plain HTML: the stylesheet, the element\'s script, and the module and the wasm preloaded. The floor is a module script that builds a fieldset with the same three labelled boxes by hand. CPU throttling slows the page\'s main thread only, not the browser\'s background threads where WebAssembly is compiled.\n');
for (const { key, title } of SETTINGS) {
  say(`### ${title}\n`);
  say('| page | visible | ÷ floor | ÷ best peer | script | ÷ floor | ÷ best peer | memory | ÷ floor | ÷ best peer |');
  say('|---|---|---|---|---|---|---|---|---|---|');
  const best = Object.fromEntries(FIGURES.map((figure) => [figure, bestPeer(key, figure)]));
  for (const name of contenders) {
    const row = summary[key][name];
    const cells = FIGURES.map((figure) => {
      const show = figure === 'memory' ? kib : ms;
      const { median, low, high } = row[figure];
      return `${show(median)} (${show(low)}–${show(high)}) | ${ratio(median, summary[key].floor[figure].median)} | ${ratio(median, summary[key][best[figure]][figure].median)}`;
    });
    say(`| ${PAGES[name].label} | ${cells.join(' | ')} |`);
  }
  say(`\nBest peer: visible ${PAGES[best.visible].label}, script ${PAGES[best.script].label}, memory ${PAGES[best.memory].label}. WebAssembly linear memory in iys-consent's figure: ${kib(summary[key]['iys-consent'].linear.median)}.\n`);
}
say('### Bytes on the wire\n');
say('| page | raw | gzip | brotli | brotli ÷ smallest peer | files |');
say('|---|---|---|---|---|---|');
const smallestPeer = peers.reduce((best, name) => (bytes[name].brotli < bytes[best].brotli ? name : best));
for (const name of contenders) {
  const { raw, gzip, brotli: compressed, files } = bytes[name];
  say(`| ${PAGES[name].label} | ${raw} | ${gzip} | ${compressed} | ${ratio(compressed, bytes[smallestPeer].brotli)} | ${files.map((file) => `\`${file}\``).join(', ')} |`);
}
say(`\nSmallest peer on the wire: ${PAGES[smallestPeer].label}.\n`);
say('### Targets\n');
say('A target is met when the whole 95 % interval of the ratio (from resampling both sets of loads) is at or under 1, not met when all of it is over 1, and inconclusive otherwise.\n');
const verdicts = [];
const wasmImports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(join(root, 'pkg', 'iys_consent_bg.wasm')))).length;
say('| measure | target | result | ratio, 95 % interval | |');
say('|---|---|---|---|---|');
for (const { key, title } of SETTINGS.filter((setting) => !setting.network)) {
  for (const [figure, what] of [['visible', 'time to visible'], ['script', 'main-thread script time']]) {
    const ours = summary[key]['iys-consent'][figure];
    const best = summary[key][bestPeer(key, figure)][figure];
    const [low, high] = ratioInterval(ours.values, best.values);
    const verdict = high <= 1 ? 'met' : low > 1 ? 'NOT met' : 'inconclusive';
    verdicts.push(verdict);
    say(`| ${what}, ${title} | no worse than the best peer (${ms(best.median)}) | ${ms(ours.median)} (${ratio(ours.median, best.median)}) | ${low.toFixed(2)}–${high.toFixed(2)} | ${verdict} |`);
  }
}
const memory = summary.normal['iys-consent'].memory.median;
say(`| added memory, normal CPU | under 512 KB (512000 bytes) | ${Math.round(memory)} bytes (${kib(memory)}) | | ${memory < 512_000 ? 'met' : 'NOT met'} |`);
const timeMet = verdicts.every((verdict) => verdict === 'met');
if (!timeMet || memory >= 512_000) say('\nWhat closing the gaps would take:\n');
if (!timeMet) {
  const module = bytes['iys-consent'].files.includes('/pkg/iys_consent_bg.wasm') ? statSync(join(root, 'pkg', 'iys_consent_bg.wasm')).size : 0;
  const peerSizes = peers.map((name) => bytes[name].raw).sort((a, b) => a - b);
  say(`- Time to visible and script time: before its first frame the widget has the browser compile and instantiate ${Math.round(module / 1024)} KiB of WebAssembly, run the glue that wires its ${wasmImports} imports, and build and diff Yew's virtual DOM, where the peers run ${Math.round(peerSizes[0] / 1024)}–${Math.round(peerSizes[peerSizes.length - 1] / 1024)} KiB of JavaScript and CSS. The lever is the same as for the package's size: a smaller module with fewer functions to compile and fewer imports, and the few elements created directly rather than through a virtual DOM.`);
}
if (memory >= 512_000) {
  const ours = numberCache['iys-consent'];
  const empty = numberCache.empty;
  const cacheNote = ours !== null && empty !== null && ours > empty
    ? ` ${kib(ours - empty)} of that JS heap is V8's number-to-string cache, ${kib(ours)} on the widget's page against ${kib(empty)} on the empty page (read from a heap snapshot): instantiating the module makes a function for each of its exports, named by its index; V8 writes those numbers through that cache and enlarges it to its full size the first time two numbers share a slot of its small first table. A page with more script of its own than this one has usually enlarged it already; without it, the figure would be ${Math.round(memory - (ours - empty))} bytes.`
    : '';
  say(`- Added memory: ${kib(summary.normal['iys-consent'].linear.median)} of it is the module's linear memory, two 64 KiB pages at least (the 32 KiB stack and the static data fill the first, and the allocator starts its heap on a page of its own); the rest is JS heap: the glue's functions and the strings they make, and the browser's bindings for each Web API the glue calls.${cacheNote} Getting under 512 KB means fewer imports and less glue, or an allocator that uses the rest of the first page.`);
}
console.log(lines.join('\n'));
