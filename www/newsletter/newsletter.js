import init, { mount } from '/pkg/iys_consent.js';

await init();
const widget = mount('#signup', {
  endpoint: '/v1/consents',
  mode: 'newsletter',
  brand: 'Örnek Mağaza',
  channels: ['email', 'sms'],
  nameField: true,
  formId: 'newsletter',
  privacyNoticeUrl: '/kvkk/',
});
let locale = 'tr';
document.querySelector('#language').addEventListener('click', (event) => {
  locale = locale === 'tr' ? 'en' : 'tr';
  widget.setLocale(locale);
  document.documentElement.lang = locale;
  event.target.textContent = locale === 'tr' ? 'English' : 'Türkçe';
});
