// Every option, event and method of the package as a TypeScript page uses them, type-checked
// against the built package's declarations by `cargo xtask test` (tsc --noEmit, strict).
// The lines under `@ts-expect-error` are mistakes the declarations must refuse: tsc fails when
// one of them compiles.
import init, {
  eventNames,
  mount,
  type Channel,
  type ConsentWidget,
  type Decision,
  type EventDetails,
  type EventName,
  type MountOptions,
  type RecordResult,
  type WidgetError,
  type WidgetState,
} from 'iys-consent';
import { IysConsentElement } from 'iys-consent/element';

export async function everything(): Promise<void> {
  await init();
  await init({ module_or_path: '/iys_consent_bg.wasm' });

  const options: MountOptions = {
    endpoint: '/v1/consents',
    brand: 'Örnek Mağaza',
    mode: 'checkout',
    channels: ['sms', 'call', 'email'],
    locale: 'tr',
    texts: { sms: 'SMS metni', call: 'Arama metni', email: 'E-posta metni', textVersion: '2026-12' },
    privacyNoticeUrl: '/kvkk/',
    recipientType: 'merchant',
    source: 'mobile',
    formId: 'checkout',
    headers: { 'x-csrf-token': 'token' },
    form: '#order',
    phoneInput: '#phone',
    emailInput: '#email',
    nameInput: '#name',
    nameField: false,
    recipientTypeChoice: true,
    stateToken: 'v1.claims.signature',
    phone: '0532 123 45 67',
    email: 'ayse@example.com',
    timeoutMs: 10_000,
  };
  const host = document.createElement('div');
  const widget: ConsentWidget = mount(host, options);
  const bySelector: ConsentWidget = mount('#signup', { endpoint: '/v1/consents', brand: 'B', mode: 'newsletter', nameField: true });

  const onChange = (detail: EventDetails['iys:change']): void => {
    const channel: Channel = detail.channel;
    const checked: boolean = detail.checked;
    console.log(channel, checked);
  };
  widget.on('iys:change', onChange);
  widget.off('iys:change', onChange);
  widget.on('iys:submit', (detail) => detail.records.forEach((record) => console.log(record.id, record.channel, record.status)));
  widget.on('iys:queued', (detail) => console.log(detail.ids, detail.persisted, detail.retryInMs, detail.status));
  widget.on('iys:sent', (detail) => detail.receipts.forEach((receipt) => console.log(receipt.id, receipt.outcome, receipt.consentDate, receipt.receipt, receipt.late)));
  widget.on('iys:error', (detail) => {
    const code: 'invalid_recipient' | 'not_persisted' | 'delivery_failed' | 'delivery_held' | 'state_unavailable' = detail.code;
    console.log(code, detail.message, detail.reason, detail.channel, detail.relayCode, detail.field, detail.ids, detail.status, detail.retryInMs);
  });
  const names: EventName[] = eventNames();
  console.log(names);

  const state: WidgetState = widget.state();
  console.log(state.mode, state.locale, state.status, state.channels.sms, state.pending, state.failed.map((failed) => failed.error.code));
  const submitted: RecordResult = await widget.submit();
  console.log(submitted.status, submitted.records, submitted.receipts, submitted.queued, submitted.failed, submitted.invalid);
  const decisions: Decision[] = [
    { channel: 'email', status: 'granted', recipient: 'ayse@example.com', text: 'Kabul ediyorum.', name: 'Ayşe Yılmaz' },
    { channel: 'sms', status: 'rejected', recipient: '0532 123 45 67' },
  ];
  const recorded = await widget.record(decisions);
  console.log(recorded.status);
  widget.setLocale('en');
  const root: Element = widget.root();
  console.log(root);
  widget.destroy();
  bySelector.destroy();

  try {
    mount(host, options);
  } catch (error) {
    const code: WidgetError['code'] = (error as WidgetError).code;
    console.log(code);
  }

  const element = document.createElement('iys-consent');
  const typed: IysConsentElement = element;
  typed.config = { endpoint: '/v1/consents', brand: 'B', mode: 'headless' };
  console.log(typed.widget?.state(), typed.state(), await typed.submit(), await typed.record(decisions));

  // @ts-expect-error an option the widget does not have
  mount(host, { endpoint: '/v1/consents', brand: 'B', colour: 'red' });
  // @ts-expect-error a channel İYS does not have
  mount(host, { endpoint: '/v1/consents', brand: 'B', channels: ['fax'] });
  // @ts-expect-error a mode the widget does not have
  mount(host, { endpoint: '/v1/consents', brand: 'B', mode: 'popup' });
  // @ts-expect-error the brand is required
  mount(host, { endpoint: '/v1/consents' });
  // @ts-expect-error nameField is a boolean
  mount(host, { endpoint: '/v1/consents', brand: 'B', nameField: 'yes' });
  // @ts-expect-error recipientTypeChoice is a boolean
  mount(host, { endpoint: '/v1/consents', brand: 'B', recipientTypeChoice: 'merchant' });
  // @ts-expect-error an event the widget does not send
  widget.on('iys:done', () => {});
  // @ts-expect-error each event has its own detail
  widget.on('iys:sent', (detail: EventDetails['iys:change']) => console.log(detail.checked));
  // @ts-expect-error a decision names its status
  await widget.record([{ channel: 'sms', recipient: '0532 123 45 67' }]);
  // @ts-expect-error only Turkish and English
  widget.setLocale('de');
}
