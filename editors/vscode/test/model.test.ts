import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainText, lowPending, parseProposedQuery, pendingMessage, pendingRows, proposedUriParts, reviewTitle, statusText } from '../src/model';
import { asSummary, type Summary } from '../src/protocol';

const summary: Summary = {
  checkpoint: null,
  changes: [
    { id: '1', files: ['src/lib.rs'], level: 'medium', decision: 'auto', status: 'applied', reasons: ['body change of a public function'] },
    { id: '2', files: ['Cargo.toml'], level: 'high', decision: 'ask', status: 'pending', reasons: ['protected path `Cargo.toml`', 'dependency manifest'] },
    { id: '3', files: ['src/a.rs'], level: 'low', decision: 'ask', status: 'pending', reasons: [] },
  ],
};

test('status text names the mode and the pending count', () => {
  assert.equal(statusText('auto', 2), 'autogate: auto · 2 pending');
  assert.equal(statusText(undefined, 0), 'autogate: … · 0 pending');
});

test('one tree row per pending change, with level, decision and reasons', () => {
  const rows = pendingRows(summary);
  assert.deepEqual(rows.map((r) => r.id), ['2', '3']);
  assert.equal(rows[0].label, 'change 2 · Cargo.toml');
  assert.equal(rows[0].description, 'high · ask');
  assert.equal(rows[0].icon, 'warning');
  assert.equal(rows[0].tooltip, 'change 2: high, ask\n• protected path `Cargo.toml`\n• dependency manifest');
  assert.equal(rows[1].icon, 'pass');
});

test('"approve all low" takes only pending low changes', () => {
  assert.deepEqual(lowPending(summary).map((c) => c.id), ['3']);
});

test('messages and titles', () => {
  assert.equal(reviewTitle({ id: '2', level: 'high' }, 'Cargo.toml'), 'autogate: change 2 (high) Cargo.toml');
  assert.equal(pendingMessage([summary.changes[1]]), 'autogate: change 2 (high, Cargo.toml) waits for your approval: protected path `Cargo.toml`');
  assert.equal(pendingMessage(summary.changes), 'autogate: 3 changes wait for your approval');
});

test('proposed URIs round-trip ids and paths', () => {
  const parts = proposedUriParts('12', 'src/a b&c.rs');
  assert.equal(parts.path, '/src/a b&c.rs');
  assert.deepEqual(parseProposedQuery(parts.query), { id: '12', file: 'src/a b&c.rs' });
  assert.equal(parseProposedQuery('x=1'), undefined);
});

test('summaries from the wire are checked', () => {
  assert.deepEqual(asSummary(JSON.parse(JSON.stringify(summary))), summary);
  assert.equal(asSummary(null), undefined);
  assert.equal(asSummary({ changes: 'no' }), undefined);
  assert.equal(asSummary({ changes: [{ files: [] }] }), undefined);
});

test('the explain page has the decision, the reasons, the report and the diff', () => {
  const text = explainText({
    id: '2', status: 'pending', decision: 'ask', rule: 'default: high asks', hash: 'abc',
    intent: 'add serde', source: 'e2e', environment: { name: 'development', reason: 'no git' }, mode: 'auto',
    report: { level: 'high', reasons: ['`Cargo.toml` is protected (`Cargo.toml`)'] },
    diff: '--- a/Cargo.toml\n+++ b/Cargo.toml\n@@ -1 +1,2 @@\n [package]\n+x = 1\n',
  });
  assert.match(text, /^# autogate: change 2\n\nlevel: high · decision: ask · status: pending · rule: default: high asks\n/);
  assert.match(text, /intent: add serde · source: e2e\nenvironment: development \(no git\) · mode: auto\ncontent hash: abc\n/);
  assert.match(text, /## Reasons\n\n- `Cargo.toml` is protected/);
  assert.match(text, /```diff\n--- a\/Cargo.toml\n[\s\S]*\+x = 1\n```\n$/);
});
