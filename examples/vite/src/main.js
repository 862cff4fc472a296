import init, { mount } from 'iys-consent';
import 'iys-consent/style.css';

await init();
window.widget = mount('#signup', {
  endpoint: '/v1/consents',
  mode: 'newsletter',
  brand: 'Örnek Mağaza',
  channels: ['email'],
  formId: 'vite-example',
});
