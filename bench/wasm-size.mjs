// Where the widget's wasm bytes go: reads a module that kept its name section (wasm-bindgen
// --keep-debug, then wasm-opt -Oz -g, so the code is the shipped code) and prints a Markdown table
// of code bytes per crate, by the first path in each function's name, plus the static data;
// with `--functions N`, also the N largest functions.
//
//   node bench/wasm-size.mjs path/to/named.wasm [--functions N]
import { readFileSync } from 'node:fs';

const bytes = readFileSync(process.argv[2]);
let at = 8;
const unsigned = () => {
  let result = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at];
    at += 1;
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return result;
};
const limits = () => {
  const flags = unsigned();
  unsigned();
  if (flags & 1) unsigned();
};

let imported = 0;
const bodies = [];
const names = new Map();
let data = 0;
while (at < bytes.length) {
  const id = bytes[at];
  at += 1;
  const size = unsigned();
  const end = at + size;
  if (id === 2) {
    // Imports: only the function imports shift the function index space.
    for (let count = unsigned(); count > 0; count -= 1) {
      // `at += unsigned()` would add to the position from before the length was read.
      const moduleLength = unsigned();
      at += moduleLength;
      const fieldLength = unsigned();
      at += fieldLength;
      const kind = bytes[at];
      at += 1;
      if (kind === 0) {
        unsigned();
        imported += 1;
      } else if (kind === 1) {
        at += 1;
        limits();
      } else if (kind === 2) {
        limits();
      } else if (kind === 3) {
        at += 2;
      } else {
        at += 1;
        unsigned();
      }
    }
  } else if (id === 10) {
    for (let count = unsigned(); count > 0; count -= 1) {
      const length = unsigned();
      bodies.push(length);
      at += length;
    }
  } else if (id === 11) {
    data = size;
  } else if (id === 0) {
    const length = unsigned();
    const name = bytes.subarray(at, at + length).toString();
    at += length;
    while (name === 'name' && at < end) {
      const kind = bytes[at];
      at += 1;
      const subsectionEnd = unsigned() + at;
      if (kind === 1) {
        for (let count = unsigned(); count > 0; count -= 1) {
          const index = unsigned();
          const nameLength = unsigned();
          names.set(index, bytes.subarray(at, at + nameLength).toString());
          at += nameLength;
        }
      }
      at = subsectionEnd;
    }
  }
  at = end;
}
if (names.size === 0) throw new Error(`${process.argv[2]} has no function names`);

const crateOf = (name) => {
  // Export shims that wasm-bindgen writes carry the exported name; the widget's code is inlined.
  if (/ shim$|^consentwidget_|^mount$|^__wbg_|^__wbindgen_/.test(name)) return 'iys_consent (exported functions and what was inlined into them)';
  const path = name.replace(/^[<&\s]+/, '').replace(/^(impl|dyn) /, '');
  return path.split(/::|\[|<| /)[0] || 'unnamed';
};
const perCrate = new Map();
bodies.forEach((length, index) => {
  const crate = crateOf(names.get(index + imported) ?? 'unnamed');
  const entry = perCrate.get(crate) ?? { bytes: 0, functions: 0 };
  entry.bytes += length;
  entry.functions += 1;
  perCrate.set(crate, entry);
});
const code = bodies.reduce((sum, length) => sum + length, 0);
const total = code + data;
const rows = [...perCrate.entries()].sort((a, b) => b[1].bytes - a[1].bytes);
const shown = rows.filter(([, entry]) => entry.bytes / total >= 0.005);
const rest = rows.slice(shown.length);
console.log('| part | bytes | share | functions |');
console.log('|---|---|---|---|');
for (const [crate, entry] of shown) {
  console.log(`| \`${crate}\` | ${entry.bytes} | ${((entry.bytes / total) * 100).toFixed(1)} % | ${entry.functions} |`);
}
if (rest.length) {
  const bytesLeft = rest.reduce((sum, [, entry]) => sum + entry.bytes, 0);
  const functionsLeft = rest.reduce((sum, [, entry]) => sum + entry.functions, 0);
  console.log(`| ${rest.length} more, each under 0.5 % | ${bytesLeft} | ${((bytesLeft / total) * 100).toFixed(1)} % | ${functionsLeft} |`);
}
console.log(`| static data (texts, tables, panic messages) | ${data} | ${((data / total) * 100).toFixed(1)} % | |`);
console.log(`| **code and data** | ${total} | 100 % | ${bodies.length} |`);

const functionsFlag = process.argv.indexOf('--functions');
if (functionsFlag > 0) {
  const count = Number(process.argv[functionsFlag + 1] ?? 30);
  const largest = bodies
    .map((length, index) => [names.get(index + imported) ?? 'unnamed', length])
    .sort((a, b) => b[1] - a[1])
    .slice(0, count);
  console.log('');
  console.log('| function | bytes |');
  console.log('|---|---|');
  for (const [name, length] of largest) {
    // The hash rustc appends to each symbol tells nothing to a reader.
    const shown = name.replace(/::h[0-9a-f]{16}$/, '').replaceAll('|', '\\|');
    console.log(`| \`${shown}\` | ${length} |`);
  }
}
