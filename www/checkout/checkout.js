import init, { mount } from '/pkg/iys_consent.js';

await init();
mount('#marketing-consent', {
  endpoint: '/v1/consents',
  mode: 'checkout',
  brand: 'Örnek Mağaza',
  channels: ['sms', 'call', 'email'],
  phoneInput: '#phone',
  emailInput: '#email',
  nameInput: '#name',
  formId: 'checkout',
  privacyNoticeUrl: '/kvkk/',
  // The shop also sells to businesses: the person says whether they buy as a merchant.
  recipientTypeChoice: true,
});
