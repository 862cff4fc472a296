const body = document.querySelector('#records tbody');
const ledger = document.querySelector('#ledger');
const reconciliation = document.querySelector('#reconciliation');

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

async function refresh() {
  const [records, verify, reconciled] = await Promise.all([
    fetch('/operator/records.json', { cache: 'no-store' }).then((response) => response.json()),
    fetch('/operator/verify.json', { cache: 'no-store' }).then((response) => response.json()),
    fetch('/operator/reconciliation.json', { cache: 'no-store' }).then((response) => response.json()),
  ]);
  ledger.textContent = verify.message;
  ledger.className = verify.intact ? 'shop-ok' : 'shop-problem';
  reconciliation.textContent = `Yesterday against İYS's daily change file: ${reconciled.message || 'no answer'}`;
  reconciliation.className = reconciled.agreed ? 'shop-ok' : 'shop-problem';
  body.replaceChildren(...records.reverse().map((record) => {
    const row = document.createElement('tr');
    const link = record.details.refusalLink;
    const proof = link
      ? { mode: `refusal link (${link.action === 'one_click' ? 'one click' : 'button'})`, text: link.text }
      : record.details.import
        ? { mode: `import (${record.details.import.file}, row ${record.details.import.row})`, text: '' }
        : { mode: record.details.evidence.mode, text: record.details.evidence.text };
    row.append(
      cell(record.consentDate),
      cell(record.channel),
      cell(record.recipient),
      cell(record.details.name ?? ''),
      cell(record.status),
      cell(proof.mode),
      cell(record.iys.transactionId ? `accepted ${record.iys.transactionId.slice(0, 12)}…` : record.iys.error ?? record.iys.state),
      cell(record.notice ? `${record.notice.kind} ${record.notice.state}` : ''),
      cell(proof.text),
      cell(`${record.ledgerSeq}: ${record.ledgerHash.slice(0, 16)}…`),
    );
    return row;
  }));
}

document.querySelector('#refresh').addEventListener('click', refresh);
refresh();
