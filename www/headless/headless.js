import init, { mount } from '/pkg/iys_consent.js';

await init();
const host = document.createElement('div');
document.body.append(host);
const widget = mount(host, { endpoint: '/v1/consents', mode: 'headless', brand: 'Örnek Mağaza', channels: ['email'], locale: 'en', formId: 'headless-demo' });
const result = document.querySelector('#headless-result');

async function answer(status) {
  const outcome = await widget.record([{
    channel: 'email',
    status,
    recipient: document.querySelector('#headless-email').value,
    text: document.querySelector('#headless-text').textContent,
  }]);
  result.textContent = outcome.status === 'sent'
    ? `Recorded: ${outcome.receipts.map((receipt) => `${receipt.id} (İYS date ${receipt.consentDate})`).join(', ')}`
    : outcome.status === 'nothing'
      ? 'That e-mail address is not valid for İYS.'
      : `Kept on this device (${outcome.status}); it will be sent when the relay answers.`;
}

document.querySelector('#accept').addEventListener('click', () => answer('granted'));
document.querySelector('#decline').addEventListener('click', () => answer('rejected'));
