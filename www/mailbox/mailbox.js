const list = document.querySelector('#messages');
const empty = document.querySelector('#empty');

function element(name, className, text) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function message(notice) {
  const item = element('li', 'shop-message');
  item.dataset.kind = notice.kind;
  item.dataset.to = notice.to;
  const when = new Date(notice.at * 1000).toLocaleString('tr-TR', { timeZone: 'Europe/Istanbul' });
  const title = notice.kind === 'email' ? notice.subject : `SMS: ${notice.to}`;
  item.append(element('h2', '', title));
  const meta = notice.kind === 'email' ? `${notice.from} → ${notice.to} · ${when}` : `${when}`;
  item.append(element('p', 'shop-meta', meta));
  item.append(element('pre', 'shop-text', notice.text));
  const link = element('a', 'shop-refusal', notice.kind === 'email' ? 'Bu e-postadaki ret bağlantısı' : 'Bu SMS\'teki ret bağlantısı');
  link.href = notice.link;
  item.append(link);
  return item;
}

async function refresh() {
  const notices = await fetch('/mailbox/messages.json', { cache: 'no-store' }).then((response) => response.json());
  list.replaceChildren(...notices.map(message));
  empty.textContent = notices.length === 0 ? 'Henüz bildirim yok: ödeme sayfasında bir kutuyu işaretleyip siparişi verin.' : `${notices.length} bildirim`;
}

document.querySelector('#refresh').addEventListener('click', refresh);
refresh();
