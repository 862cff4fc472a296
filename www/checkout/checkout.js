import init, { mount } from '/pkg/iys_consent.js';

await init();
mount('#marketing-consent', {
  brand: 'Örnek Mağaza',
  channels: ['sms', 'call', 'email'],
  locale: 'tr',
  privacyNoticeUrl: '/kvkk/',
});
