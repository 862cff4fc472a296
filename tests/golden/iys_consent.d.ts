/* tslint:disable */
/* eslint-disable */

/** A channel of commercial messages; each has its own box and its own consent. */
export type Channel = 'sms' | 'call' | 'email';
/** How the widget is embedded. */
export type Mode = 'checkout' | 'newsletter' | 'preferences' | 'headless';
/** The language of every text. */
export type Locale = 'tr' | 'en';
/** A person's decision for one channel. */
export type Status = 'granted' | 'rejected';

/** The shop's own consent texts, replacing the defaults; `textVersion` is required with them. */
export interface ConsentTexts {
    sms?: string;
    call?: string;
    email?: string;
    textVersion?: string;
}

/** Everything `mount` accepts. Unknown keys are refused. */
export interface MountOptions {
    /** The relay's `/v1/consents` URL (http, https or relative). */
    endpoint: string;
    /** The brand named in every consent text. */
    brand: string;
    /** `checkout` (default), `newsletter`, `preferences` or `headless`. */
    mode?: Mode;
    /** The boxes shown, in this order; all three by default. */
    channels?: Channel[];
    /** `tr` (default) or `en`. */
    locale?: Locale;
    texts?: ConsentTexts;
    /** The KVKK privacy notice, shown as a separate link. */
    privacyNoticeUrl?: string;
    /** `individual` (default) or `merchant`. */
    recipientType?: 'individual' | 'merchant';
    /** `web` (default), or `mobile` inside an app's web view. */
    source?: 'web' | 'mobile';
    /** The shop's name for the form, kept as evidence; the mode by default. */
    formId?: string;
    /** Extra request headers, such as a CSRF token. */
    headers?: Record<string, string>;
    /** Checkout: a selector of the shop's form, when the widget is not inside it. */
    form?: string;
    /** Checkout: a selector of the shop's phone input (needed for sms and call). */
    phoneInput?: string;
    /** Checkout: a selector of the shop's e-mail input (needed for email). */
    emailInput?: string;
    /** Checkout: a selector of the shop's input of the person's name and surname, recorded with each decision. */
    nameInput?: string;
    /** Newsletter: show a field for the person's name and surname, recorded with each decision. */
    nameField?: boolean;
    /** Checkout and newsletter: let the person say whether they receive the messages as an individual or as a merchant; `recipientType` is chosen at first. */
    recipientTypeChoice?: boolean;
    /** Preferences: the token the shop's backend signed for this customer. */
    stateToken?: string;
    /** Preferences: the customer's phone number. */
    phone?: string;
    /** Preferences: the customer's e-mail address. */
    email?: string;
    /** How long a request may take before it is retried, 1000 to 60000 ms; 10000 by default. */
    timeoutMs?: number;
}

/** The relay's receipt for one record. */
export interface Receipt {
    id: string;
    outcome: 'stored' | 'duplicate';
    /** The date İYS is given, `YYYY-MM-DD HH:mm:ss` in Turkish time. */
    consentDate: string;
    /** The record's ledger hash. */
    receipt: string;
    /** Whether the record reached the relay after İYS's three-business-day window. */
    late: boolean;
}

export interface RecordedDecision {
    id: string;
    channel: Channel;
    status: Status;
    /** As chosen with `recipientTypeChoice`, or the `recipientType` option. */
    recipientType: 'individual' | 'merchant';
}

/** What `submit()` and `record()` resolve to. */
export interface RecordResult {
    /** `sent`: stored by the relay; `queued`: kept on the device for a later try; `failed`: refused for good; `nothing`: nothing to record. */
    status: 'sent' | 'queued' | 'failed' | 'nothing';
    records: RecordedDecision[];
    receipts: Receipt[];
    queued: string[];
    failed: string[];
    /** Ticked boxes whose address did not fit, with the reason code. */
    invalid: { channel: Channel; reason: string }[];
}

/** One decision for `record()`: `text` is the exact text the page showed, `name` the person's name and surname. */
export interface Decision {
    channel: Channel;
    status: Status;
    recipient: string;
    text?: string;
    name?: string;
}

export interface WidgetState {
    mode: Mode;
    locale: Locale;
    status: 'idle' | 'loading' | 'state_unavailable' | 'recording' | 'recorded' | 'queued' | 'failed' | 'nothing_ticked';
    channels: Partial<Record<Channel, boolean>>;
    /** Records still waiting to be delivered. */
    pending: number;
    /** Records the relay refused for good. */
    failed: { id: string; error: { code: string; message: string; status: number } }[];
}

export interface ChangeDetail { channel: Channel; checked: boolean }
export interface SubmitDetail { records: RecordedDecision[] }
export interface QueuedDetail { ids: string[]; persisted: boolean; retryInMs: number; status: number }
export interface SentDetail { receipts: Receipt[] }
export interface ErrorDetail {
    code: 'invalid_recipient' | 'not_persisted' | 'delivery_failed' | 'delivery_held' | 'state_unavailable';
    message: string;
    reason?: string;
    channel?: Channel;
    relayCode?: string;
    field?: string;
    ids?: string[];
    status?: number;
    /** For `delivery_held`: when the records are tried again, unless a page load comes first. */
    retryInMs?: number;
}

/** The detail of each event, dispatched on the widget's root (bubbling) and to `on(...)`. */
export interface EventDetails {
    'iys:change': ChangeDetail;
    'iys:submit': SubmitDetail;
    'iys:queued': QueuedDetail;
    'iys:sent': SentDetail;
    'iys:error': ErrorDetail;
}
export type EventName = keyof EventDetails;

/** What `mount` and the handle's methods throw. */
export interface WidgetError extends Error {
    code: 'invalid_target' | 'invalid_option' | 'unknown_option' | 'unknown_channel' | 'invalid_selector' | 'invalid_argument' | 'destroyed';
}

export interface ConsentWidget {
    /** Calls `callback` with each `name` event's detail. */
    on<K extends EventName>(name: K, callback: (detail: EventDetails[K]) => void): void;
    /** Stops calling `callback` for `name`. */
    off<K extends EventName>(name: K, callback: (detail: EventDetails[K]) => void): void;
}



/**
 * A mounted widget.
 */
export class ConsentWidget {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Removes every listener and DOM node the widget added. Records not yet delivered stay
     * in the browser for the next page load. Calling it again does nothing.
     */
    destroy(): void;
    /**
     * Records decisions the page took itself (headless mode, or any mode):
     * `[{ channel, status, recipient, text?, name? }]`, `text` being the exact text the page
     * showed and `name` the person's name and surname.
     */
    record(decisions: Decision[]): Promise<RecordResult>;
    /**
     * The element the widget rendered into, for styling or tests.
     */
    root(): Element;
    /**
     * Switches every text to `tr` or `en`.
     */
    setLocale(locale: Locale): void;
    /**
     * The boxes and where recording is: `{ mode, locale, status, channels: { sms: false, ... },
     * pending, failed }`.
     */
    state(): WidgetState;
    /**
     * Records every ticked box; resolves to `{ status, records, receipts, queued, failed,
     * invalid }` where `status` is `sent`, `queued`, `failed` or `nothing`.
     */
    submit(): Promise<RecordResult>;
}

/**
 * The names of the events, for pages that subscribe to all of them.
 */
export function eventNames(): EventName[];

/**
 * Renders the widget into `target` (an element or a CSS selector) with `options`.
 *
 * Throws an `Error` with a stable `code` (`invalid_target`, `invalid_option`, `unknown_option`,
 * `unknown_channel`, `invalid_selector`) when the arguments are wrong.
 */
export function mount(target: Element | string, options: MountOptions): ConsentWidget;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_consentwidget_free: (a: number, b: number) => void;
    readonly consentwidget_destroy: (a: number) => void;
    readonly consentwidget_off: (a: number, b: number, c: number, d: number) => [number, number];
    readonly consentwidget_on: (a: number, b: number, c: number, d: number) => [number, number];
    readonly consentwidget_record: (a: number, b: number) => [number, number, number];
    readonly consentwidget_root: (a: number) => number;
    readonly consentwidget_setLocale: (a: number, b: number, c: number) => [number, number];
    readonly consentwidget_state: (a: number) => [number, number, number];
    readonly consentwidget_submit: (a: number) => [number, number, number];
    readonly eventNames: () => number;
    readonly mount: (a: number, b: number) => [number, number, number];
    readonly $a: (a: number, b: number, c: number) => [number, number];
    readonly $b: (a: number, b: number, c: number, d: number) => void;
    readonly $c: (a: number, b: number, c: number, d: number) => void;
    readonly $d: (a: number, b: number, c: number) => void;
    readonly $e: (a: number, b: number) => number;
    readonly $f: (a: number, b: number) => void;
    readonly __wbindgen_malloc: (a: number, b: number) => number;
    readonly __wbindgen_realloc: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free: (a: number, b: number, c: number) => void;
    readonly __wbindgen_exn_store: (a: number) => void;
    readonly __wbindgen_destroy_closure: (a: number, b: number) => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
