// iys-consent: sends the widget's requests off the page's main thread.
// In: { id, method, url, headers, body, timeoutMs }. Out: { id, status, retryAfter, body }.
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
