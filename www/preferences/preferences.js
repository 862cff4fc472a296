import init, { mount } from '/pkg/iys_consent.js';
import { customer, stateToken, refusalLinks } from '/demo-config.js';

await init();
document.querySelector('#customer').textContent = `Giriş yapan müşteri: ${customer.phone}, ${customer.email}`;
document.querySelector('#phone-refusal-link').href = refusalLinks.phone;
document.querySelector('#email-refusal-link').href = refusalLinks.email;
mount('#preferences', {
  endpoint: '/v1/consents',
  mode: 'preferences',
  brand: 'Örnek Mağaza',
  stateToken,
  phone: customer.phone,
  email: customer.email,
  formId: 'account-preferences',
});
