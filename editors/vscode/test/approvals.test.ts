import assert from 'node:assert/strict';
import { test } from 'node:test';
import { approvalRows } from '../src/model';
import { asApprovals } from '../src/protocol';

const SCOPE = 'body_only changes up to medium in src/parser/** (development)';

const wire = {
  approvals: [
    { id: 'S1', scope: SCOPE, by: 'Ann <ann@example.com>', made: '2026-12-03T14:55:06Z', expires: '2027-01-02T14:55:06Z', change: '1', active: true, state: 'active' },
    { id: 'S2', scope: SCOPE, by: 'Ann <ann@example.com>', made: '2026-10-01T09:00:00Z', expires: '2026-10-31T09:00:00Z', change: '4', active: false, state: 'expired' },
    { id: 'S7', scope: 'every change', by: 'agent', made: '2026-12-03T15:00:00Z', expires: '2099-01-01T00:00:00Z', change: '9', active: false, state: 'ignored' },
  ],
};

test('one row per standing approval: id and scope, who and until when, expired and ignored marked', () => {
  const rows = approvalRows(asApprovals(wire) ?? []);
  assert.deepEqual(rows.map((r) => r.id), ['S1', 'S2', 'S7']);
  assert.equal(rows[0].label, `S1  ${SCOPE}`);
  assert.equal(rows[0].description, 'by Ann <ann@example.com>, until 2027-01-02');
  assert.equal(`${rows[0].label}  ${rows[0].description}`, `S1  ${SCOPE}  by Ann <ann@example.com>, until 2027-01-02`);
  assert.equal(rows[0].icon, 'verified');
  assert.equal(rows[1].description, 'by Ann <ann@example.com>, until 2026-10-31 (expired)');
  assert.equal(rows[1].icon, 'watch');
  assert.equal(rows[2].description, 'by agent, until 2099-01-01 (ignored: not in the audit trail)');
  assert.equal(rows[2].icon, 'warning');
  assert.ok(rows.every((r) => r.contextValue === 'autogate.standingApproval'), 'Revoke is offered on every row');
  assert.match(rows[0].tooltip, /from change 1/);
  assert.match(rows[2].tooltip, /does not honour it/);
});

test('standing approvals from the wire are checked', () => {
  assert.deepEqual(asApprovals({ approvals: [] }), []);
  assert.equal(asApprovals(null), undefined);
  assert.equal(asApprovals({ approvals: 'no' }), undefined);
  // No id: left out. An unknown state, or `active` without the state, is not honoured.
  const odd = asApprovals({ approvals: [{ scope: 'x' }, { id: 'S3', state: 'weird', active: true }, { id: 'S4', state: 'expired', active: true }] });
  assert.deepEqual(odd?.map((a) => [a.id, a.state, a.active]), [['S3', 'ignored', false], ['S4', 'expired', false]]);
});
