import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { Commands, DECISIONS, LEVELS, PENDING_NOTIFICATION, STATUSES } from '../src/protocol';

// The schema the server writes (`server/autogate/src/protocol.rs`), checked in at the top of
// the repository; this test runs from `out/test/`.
const schema = JSON.parse(readFileSync(resolve(__dirname, '../../../../docs/protocol.schema.json'), 'utf8'));

test('the commands the extension sends are the commands the server declares', () => {
  assert.deepEqual(Object.values(Commands).sort(), Object.keys(schema.commands).sort());
});

test('statuses, levels and decisions are the server\'s', () => {
  assert.deepEqual([...STATUSES].sort(), [...schema.$defs.Status.enum].sort());
  assert.deepEqual([...LEVELS], schema.$defs.ChangeSummary.properties.level.enum);
  assert.deepEqual([...DECISIONS], schema.$defs.ChangeSummary.properties.decision.enum);
});

test('the summary fields the extension reads are in the server\'s summary', () => {
  const fields = Object.keys(schema.$defs.ChangeSummary.properties).sort();
  assert.deepEqual(fields, ['decision', 'files', 'hash', 'id', 'level', 'reasons', 'status']);
  assert.deepEqual(Object.keys(schema.$defs.Summary.properties).sort(), ['changes', 'checkpoint']);
  assert.ok(schema.notifications[PENDING_NOTIFICATION], PENDING_NOTIFICATION);
});
