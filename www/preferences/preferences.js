import init, { mount } from '/pkg/iys_consent.js';
import { customer, stateToken } from '/demo-config.js';

await init();
document.querySelector('#customer').textContent = `Giriş yapan müşteri: ${customer.phone}, ${customer.email}`;
mount('#preferences', {
  endpoint: '/v1/consents',
  mode: 'preferences',
  brand: 'Örnek Mağaza',
  stateToken,
  phone: customer.phone,
  email: customer.email,
  formId: 'account-preferences',
});
