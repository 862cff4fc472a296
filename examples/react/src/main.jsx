import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { MarketingConsent } from './MarketingConsent.jsx';

function App() {
  const [receipts, setReceipts] = useState([]);
  return (
    <main>
      <h1>Hesabım</h1>
      <MarketingConsent
        endpoint="/v1/consents"
        mode="newsletter"
        brand="Örnek Mağaza"
        channels={['email', 'sms']}
        formId="react-example"
        onSent={(detail) => setReceipts((known) => [...known, ...detail.receipts])}
      />
      <p id="receipts">{receipts.length} kayıt</p>
    </main>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
