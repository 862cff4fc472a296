// The widget's requests to the relay, sent from a worker so that the page's main thread does
// not pay for them. The widget posts { id, method, url, headers, body, timeoutMs } and gets
// back { id, status, retryAfter, body }; status 0 means a network error or the timeout.
self.onmessage = async (event) => {
  const { id, method, url, headers, body, timeoutMs } = event.data;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let answer;
  try {
    const init = { method, headers, signal: controller.signal, credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) init.body = body;
    const response = await fetch(url, init);
    const text = await response.text();
    answer = { id, status: response.status, retryAfter: response.headers.get('retry-after'), body: text };
  } catch (error) {
    answer = { id, status: 0, retryAfter: null, body: String((error && error.name) || error) };
  } finally {
    clearTimeout(timer);
  }
  self.postMessage(answer);
};
