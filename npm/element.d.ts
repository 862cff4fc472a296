import type { ConsentWidget, Decision, MountOptions, RecordResult, WidgetState } from './iys_consent.js';

/** The `<iys-consent>` element; importing `iys-consent/element` defines it. */
export declare class IysConsentElement extends HTMLElement {
  /** The whole options object; setting it replaces the attributes. */
  config: MountOptions | null;
  /** The mounted widget's handle, once mounted. */
  readonly widget: ConsentWidget | null;
  submit(): Promise<RecordResult>;
  state(): WidgetState | null;
  record(decisions: Decision[]): Promise<RecordResult>;
}

declare global {
  interface HTMLElementTagNameMap {
    'iys-consent': IysConsentElement;
  }
}
