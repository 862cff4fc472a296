//! Every JavaScript the widget calls, in one place.
//!
//! A few small helpers are written in JavaScript because the browser APIs they wrap are either
//! unstable in `web-sys` (Web Locks) or much smaller to call from JS (fetch with a timeout and
//! `keepalive` through the sending worker, `localStorage` with its exceptions,
//! `crypto.getRandomValues`).
//!
//! The JavaScript ships as written, so its explanations live here rather than in it:
//! - `with_lock`: where Web Locks are refused (an opaque origin), the task runs without one
//!   rather than never.
//! - `send`: one worker per page sends for every widget on it (`workerState` 0 not tried yet,
//!   1 working, 2 unavailable). It is the package's `iys-consent-worker.js`, two folders up
//!   from the snippet, named in the `new Worker(new URL(...))` form bundlers follow; a page
//!   whose policy refuses it, or a copy without the file, sends from the page. Requests sent
//!   as the page goes away stay on the page, as only the page's `keepalive` outlives it. A
//!   request the worker could not finish is sent again from the page within what is left of
//!   its time, so it still ends before the record's lease does; should the worker never
//!   answer, the request counts as timed out and is tried again later.
//! - `listen` and `unlisten`: the DOM listeners a widget adds (the shop's form and inputs, the
//!   page going away, coming online, hidden) call one Rust function with their reaction's
//!   number; each listener is kept with a function that removes it, under the widget's id
//!   prefix, which `unlisten` calls when the widget is destroyed.
//! - `add_callback`, `remove_callback`, `forget_callbacks` and `dispatch`: the page's callbacks
//!   are kept in a `WeakMap` under the widget's root element. Each change writes a new list, so
//!   a dispatch calls the list as it was once the DOM event was dispatched: a callback added or
//!   removed meanwhile, or by a listener of that event, counts from the next event.

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use web_sys::Element;

#[wasm_bindgen(inline_js = r#"
export function with_lock(name, task) {
  const locks = globalThis.navigator && navigator.locks;
  if (locks && typeof locks.request === 'function') {
    let ran = false;
    return locks.request(name, () => { ran = true; return task(); }).catch((error) => {
      if (ran) throw error;
      return task();
    });
  }
  return Promise.resolve().then(() => task());
}

async function sendHere(method, url, body, headers, timeout_ms, keepalive) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout_ms);
  try {
    const init = { method, headers, keepalive, signal: controller.signal, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) init.body = body;
    const response = await fetch(url, init);
    const text = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text };
  } catch (error) {
    return { status: 0, retryAfter: null, body: String((error && error.name) || error) };
  } finally {
    clearTimeout(timer);
  }
}

let worker = null;
let workerState = 0;
let lastRequest = 0;
const waiting = new Map();

function sendingWorker() {
  if (workerState === 0) {
    workerState = 2;
    try {
      worker = new Worker(new URL('../../iys-consent-worker.js', import.meta.url));
      worker.onmessage = (event) => {
        const request = waiting.get(event.data.id);
        if (request) {
          waiting.delete(event.data.id);
          clearTimeout(request.timer);
          request.resolve(event.data);
        }
      };
      worker.onerror = (event) => {
        if (event && typeof event.preventDefault === 'function') event.preventDefault();
        workerState = 2;
        worker.terminate();
        const stranded = [...waiting.values()];
        waiting.clear();
        for (const request of stranded) {
          clearTimeout(request.timer);
          request.again();
        }
      };
      workerState = 1;
    } catch (_) {
      worker = null;
    }
  }
  return workerState === 1;
}

export function send(method, url, body, headers, timeout_ms, keepalive) {
  if (keepalive || !sendingWorker()) return sendHere(method, url, body, headers, timeout_ms, keepalive);
  return new Promise((resolve) => {
    lastRequest += 1;
    const id = lastRequest;
    const started = Date.now();
    const again = () => sendHere(method, url, body, headers, Math.max(1000, timeout_ms - (Date.now() - started)), false).then(resolve);
    const timer = setTimeout(() => {
      if (waiting.delete(id)) resolve({ status: 0, retryAfter: null, body: 'TimeoutError' });
    }, timeout_ms + 2000);
    waiting.set(id, { resolve, again, timer });
    const target = new URL(url, document.baseURI).href;
    worker.postMessage({ id, method, url: target, headers: { ...headers }, body, timeoutMs: timeout_ms });
  });
}

export function storage_values(prefix) {
  const storage = globalThis.localStorage;
  const values = [];
  for (let index = 0; index < storage.length; index += 1) {
    const key = storage.key(index);
    if (key === null || !key.startsWith(prefix)) continue;
    try {
      const value = storage.getItem(key);
      if (value !== null) values.push(value);
    } catch (_) {}
  }
  return values;
}

export function storage_write(key, value) {
  if (value === null || value === undefined) {
    globalThis.localStorage.removeItem(key);
  } else {
    globalThis.localStorage.setItem(key, value);
  }
}

export function random_bytes(length) {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export function now_millis() {
  return Date.now();
}

export function set_timer(callback, delay_ms) {
  return setTimeout(callback, delay_ms);
}

export function clear_timer(handle) {
  clearTimeout(handle);
}

export function page_url() {
  return String(globalThis.location && location.href || '');
}

export function user_agent() {
  return String(globalThis.navigator && navigator.userAgent || '');
}

export function hides_page(event) {
  const document = event.currentTarget;
  return Boolean(document && document.visibilityState === 'hidden');
}

const listening = new Map();

export function listen(owner, target, kind, reaction, handler) {
  const listener = (event) => handler(reaction, event);
  target.addEventListener(kind, listener);
  listening.set(owner, [...(listening.get(owner) || []), () => target.removeEventListener(kind, listener)]);
}

export function unlisten(owner) {
  for (const stop of listening.get(owner) || []) stop();
  listening.delete(owner);
}

const callbacks = new WeakMap();

export function add_callback(root, name, callback) {
  callbacks.set(root, [...(callbacks.get(root) || []), [name, callback]]);
}

export function remove_callback(root, name, callback) {
  const kept = (callbacks.get(root) || []).filter(([known, f]) => known !== name || f !== callback);
  callbacks.set(root, kept);
}

export function forget_callbacks(root) {
  callbacks.delete(root);
}

export function dispatch(root, name, detail) {
  root.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
  for (const [known, callback] of callbacks.get(root) || []) {
    if (known === name) {
      try {
        callback.call(null, detail);
      } catch (_) {}
    }
  }
}
"#)]
extern "C" {
    /// Runs `task` while holding the Web Lock `name`, so one tab at a time does it; without Web
    /// Locks it just runs it.
    pub fn with_lock(name: &str, task: &Closure<dyn FnMut() -> Promise>) -> Promise;

    /// Sends a request and resolves to `{status, retryAfter, body}`; status 0 means a network
    /// error or the timeout. Requests go through the package's worker when the page allows
    /// it, so that the main thread does not pay for them; `keepalive` requests, and every
    /// request where the worker cannot run, go from the page.
    // Size: a gloo-net request added for the preferences alone made the wasm 2.5 KB brotli
    // larger, and gloo-net cannot hand a request to the sending worker.
    pub fn send(
        method: &str,
        url: &str,
        body: JsValue,
        headers: &Object,
        timeout_ms: u32,
        keepalive: bool,
    ) -> Promise;

    /// The values of the `localStorage` keys that start with `prefix`, skipping any that cannot
    /// be read; throws when storage is disabled.
    // Size: one call for the outbox's reads, rather than one for the keys and one per key.
    #[wasm_bindgen(catch)]
    pub fn storage_values(prefix: &str) -> Result<Vec<String>, JsValue>;

    /// `localStorage.setItem`, or `removeItem` for `None`; throws when storage is disabled or
    /// full.
    #[wasm_bindgen(catch)]
    pub fn storage_write(key: &str, value: Option<String>) -> Result<(), JsValue>;

    /// Cryptographically random bytes.
    pub fn random_bytes(length: u32) -> Vec<u8>;

    /// `Date.now()`.
    pub fn now_millis() -> f64;

    /// `setTimeout`.
    pub fn set_timer(callback: &Closure<dyn FnMut()>, delay_ms: u32) -> JsValue;

    /// `clearTimeout`.
    pub fn clear_timer(handle: &JsValue);

    /// The page's URL, `location.href`.
    // Size: one call each rather than web-sys's window, location and navigator.
    pub fn page_url() -> String;

    /// The browser's `navigator.userAgent`.
    pub fn user_agent() -> String;

    /// Whether `event`, a `visibilitychange` on a document, says that document is now hidden.
    pub fn hides_page(event: &web_sys::Event) -> bool;

    /// Listens to `kind` events on `target` for the widget `owner` (its id prefix): each calls
    /// `handler(reaction, event)`.
    pub fn listen(
        owner: &str,
        target: &web_sys::EventTarget,
        kind: &str,
        reaction: u32,
        handler: &Closure<dyn FnMut(u32, web_sys::Event)>,
    );

    /// Removes every listener [`listen`] added for `owner`.
    pub fn unlisten(owner: &str);

    /// Registers `callback` for the events named `name` of the widget whose root is `root`.
    pub fn add_callback(root: &Element, name: &str, callback: &Function);

    /// Removes `callback` for `name`; each registration of it is removed.
    pub fn remove_callback(root: &Element, name: &str, callback: &Function);

    /// Forgets every callback registered on `root`.
    pub fn forget_callbacks(root: &Element);

    /// Dispatches a `CustomEvent` named `name` with `detail` on `root`, bubbling and crossing
    /// shadow roots, then calls the callbacks registered for `name` on `root` with `detail`
    /// (one that throws does not keep the others from being called).
    // Size: one call rather than web-sys's event-init object, its three setters and the
    // constructor.
    pub fn dispatch(root: &Element, name: &str, detail: &JsValue);
}

/// The property `key` of `object`; undefined when it cannot be read.
// Size: every read of a property by name goes through this one function.
pub fn property(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// The property `key` of `object` when it is a string.
pub fn string_property(object: &JsValue, key: &str) -> Option<String> {
    property(object, key).as_string()
}

/// Sets the property `key` of `object` to `value`; a plain object always takes it.
pub fn set_property(object: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(key), value);
}

/// The headers of a request to the relay: the shop's `headers`, then `name: value`.
pub fn request_headers(headers: &[(String, String)], name: &str, value: &str) -> Object {
    let object = Object::new();
    for (header, text) in headers {
        set_property(&object, header, &JsValue::from_str(text));
    }
    set_property(&object, name, &JsValue::from_str(value));
    object
}
