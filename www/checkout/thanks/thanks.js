// The thanks page loads the widget headless too, so anything the checkout page could not
// deliver before it navigated away is sent from here.
import init, { mount } from '/pkg/iys_consent.js';

await init();
const host = document.createElement('div');
document.body.append(host);
mount(host, { endpoint: '/v1/consents', mode: 'headless', brand: 'Örnek Mağaza' });
