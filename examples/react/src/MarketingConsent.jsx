// A React wrapper around the widget: mount in an effect, destroy in its clean-up, and pass
// the widget's events up as props.
import { useEffect, useRef } from 'react';
import init, { mount } from 'iys-consent';
import 'iys-consent/style.css';

let ready;

export function MarketingConsent({ onSent, ...options }) {
  const host = useRef(null);
  const sent = useRef(onSent);
  sent.current = onSent;
  const key = JSON.stringify(options);
  useEffect(() => {
    let widget;
    let cancelled = false;
    ready ??= init();
    ready.then(() => {
      if (cancelled) return;
      widget = mount(host.current, JSON.parse(key));
      widget.on('iys:sent', (detail) => sent.current?.(detail));
    });
    return () => {
      cancelled = true;
      widget?.destroy();
    };
  }, [key]);
  return <div ref={host} />;
}
