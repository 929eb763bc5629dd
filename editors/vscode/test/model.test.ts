import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditRows, checkpointRows, editorOverrides, explainText, lowPending, parseAudit, parseProposedQuery, pendingMessage, pendingRows, proposedUriParts, reviewTitle, statusText } from '../src/model';
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

const audit = JSON.stringify([
  { time: '2026-11-24T05:00:00Z', event: 'decided', change: '1', files: ['src/lib.rs'], level: 'medium', decision: 'auto', rule: 'r', reasons: ['body change'], checkpoint: null, hash: 'h1', prev: null },
  { time: '2026-11-24T05:00:01Z', event: 'applied', change: '1', files: ['src/lib.rs'], level: 'medium', decision: 'auto', approver: 'policy', checkpoint: 'cp1abcdef0123456', reasons: [], hash: 'h2', prev: 'h1' },
  { time: '2026-11-24T05:01:00Z', event: 'approved', change: '2', files: ['Cargo.toml'], level: 'high', decision: 'ask', approver: 'person', checkpoint: 'cp2', reasons: ['protected'], hash: 'h3', prev: 'h2' },
  { time: '2026-11-24T05:02:00Z', event: 'rolled_back', change: '2', files: ['Cargo.toml'], checkpoint: 'cp2', reasons: [], hash: 'h4', prev: 'h3' },
]);

test('audit rows: newest first, with who approved and why', () => {
  const rows = auditRows(parseAudit(audit));
  assert.deepEqual(rows.map((r) => r.label), ['change 2 rolled back', 'change 2 approved', 'change 1 applied', 'change 1 decided']);
  assert.equal(rows[1].description, 'high · ask · by person · Cargo.toml');
  assert.equal(rows[1].tooltip, '2026-11-24T05:01:00Z  approved change 2\ncheckpoint: cp2\n• protected');
  assert.equal(rows[0].icon, 'history');
  assert.equal(auditRows(parseAudit(audit), 1).length, 1);
});

test('checkpoint rows come from the audit trail, newest first, marked when rolled back', () => {
  const rows = checkpointRows(parseAudit(audit));
  assert.deepEqual(rows.map((r) => r.id), ['cp2', 'cp1abcdef0123456']);
  assert.equal(rows[0].label, 'cp2 (rolled back)');
  assert.equal(rows[1].label, 'cp1abcdef0123456');
  assert.equal(rows[1].description, 'change 1 · src/lib.rs');
});

test('a bad audit listing is an error, not an empty view', () => {
  assert.throws(() => parseAudit('{}'), /did not print an array/);
  assert.throws(() => parseAudit('[1]'), /not an object/);
  assert.throws(() => parseAudit('no json'));
});

test('editor overrides leave out what is not set', () => {
  const settings: Record<string, unknown> = { mode: '', autoUpTo: 'low', denyFrom: undefined, protected: ['infra/**', ' ', 3] };
  assert.deepEqual(editorOverrides((k) => settings[k]), { autoUpTo: 'low', protected: ['infra/**'] });
  assert.deepEqual(editorOverrides(() => undefined), {});
  assert.deepEqual(editorOverrides((k) => (k === 'mode' ? 'plan' : undefined)), { mode: 'plan' });
});
