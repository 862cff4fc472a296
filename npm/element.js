// The <iys-consent> custom element: the widget for pages without a bundler.
//
//   <script type="module" src="/node_modules/iys-consent/element.js"></script>
//   <iys-consent endpoint="/v1/consents" brand="Örnek Mağaza" mode="newsletter" channels="sms,email"></iys-consent>
//
// Every option of mount() is an attribute in kebab-case (channels as a comma-separated list),
// or set the `config` property to the whole options object. The widget's events bubble out of
// the element. A wrong option is reported as an `iys:error` event with the error's `code`.
import init, { mount } from './iys_consent.js';

const ATTRIBUTES = {
  endpoint: 'endpoint',
  mode: 'mode',
  channels: 'channels',
  brand: 'brand',
  locale: 'locale',
  'privacy-notice-url': 'privacyNoticeUrl',
  'recipient-type': 'recipientType',
  source: 'source',
  'form-id': 'formId',
  form: 'form',
  'phone-input': 'phoneInput',
  'email-input': 'emailInput',
  'name-input': 'nameInput',
  'name-field': 'nameField',
  'recipient-type-choice': 'recipientTypeChoice',
  'state-token': 'stateToken',
  phone: 'phone',
  email: 'email',
  'timeout-ms': 'timeoutMs',
};

let ready;

export class IysConsentElement extends HTMLElement {
  static get observedAttributes() {
    return Object.keys(ATTRIBUTES);
  }

  #widget = null;
  #config = null;
  #generation = 0;

  /** The whole options object; it replaces the attributes. */
  get config() {
    return this.#config;
  }

  set config(value) {
    this.#config = value;
    this.#render();
  }

  /** The mounted widget's handle, once mounted. */
  get widget() {
    return this.#widget;
  }

  connectedCallback() {
    this.#render();
  }

  disconnectedCallback() {
    this.#generation += 1;
    this.#destroy();
  }

  attributeChangedCallback(name, before, after) {
    if (before === after || !this.isConnected) return;
    if (name === 'locale' && this.#widget && !this.#config) {
      this.#widget.setLocale(after);
      return;
    }
    this.#render();
  }

  submit() {
    return this.#widget ? this.#widget.submit() : Promise.reject(new Error('iys-consent is not mounted yet'));
  }

  state() {
    return this.#widget ? this.#widget.state() : null;
  }

  record(decisions) {
    return this.#widget ? this.#widget.record(decisions) : Promise.reject(new Error('iys-consent is not mounted yet'));
  }

  #options() {
    if (this.#config) return this.#config;
    const options = {};
    for (const [attribute, option] of Object.entries(ATTRIBUTES)) {
      const value = this.getAttribute(attribute);
      if (value === null) continue;
      if (option === 'channels') {
        options.channels = value.split(',').map((channel) => channel.trim()).filter(Boolean);
      } else if (option === 'timeoutMs') {
        options.timeoutMs = Number(value);
      } else if (option === 'nameField' || option === 'recipientTypeChoice') {
        // A boolean attribute: present (and not "false") means true.
        options[option] = value !== 'false';
      } else {
        options[option] = value;
      }
    }
    return options;
  }

  #destroy() {
    if (this.#widget) {
      this.#widget.destroy();
      this.#widget = null;
    }
  }

  async #render() {
    const generation = ++this.#generation;
    ready ??= init();
    await ready;
    if (generation !== this.#generation || !this.isConnected) return;
    this.#destroy();
    try {
      this.#widget = mount(this, this.#options());
    } catch (error) {
      this.dispatchEvent(new CustomEvent('iys:error', {
        bubbles: true,
        composed: true,
        detail: { code: error.code ?? 'invalid_option', message: error.message },
      }));
    }
  }
}

if (!customElements.get('iys-consent')) {
  customElements.define('iys-consent', IysConsentElement);
}
