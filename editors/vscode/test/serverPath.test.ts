import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ServerNotFound, findServer } from '../src/serverPath';

function tree(): { root: string; exe: (p: string) => string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autogate-path-'));
  return {
    root,
    exe: (p) => {
      const file = path.join(root, p);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
      return file;
    },
  };
}

test('the setting wins, then the bundled binary, then PATH', () => {
  const { root, exe } = tree();
  const onPath = exe('bin/autogate');
  const envPath = ['/nonexistent', path.dirname(onPath)].join(path.delimiter);
  assert.equal(findServer(undefined, path.join(root, 'ext'), envPath, 'linux'), onPath);
  const bundled = exe('ext/server/autogate');
  assert.equal(findServer(undefined, path.join(root, 'ext'), envPath, 'linux'), bundled);
  const configured = exe('custom/ag');
  assert.equal(findServer(configured, path.join(root, 'ext'), envPath, 'linux'), configured);
});

test('a wrong setting or no server at all is an error that says how to fix it', () => {
  const { root } = tree();
  assert.throws(() => findServer(path.join(root, 'missing'), root, '', 'linux'), (e: Error) => e instanceof ServerNotFound && /autogate\.server\.path points to/.test(e.message));
  assert.throws(() => findServer(undefined, root, '', 'linux'), /cargo build -p autogate/);
  const dir = path.join(root, 'plain');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'autogate'), 'not executable', { mode: 0o644 });
  assert.throws(() => findServer(undefined, root, dir, 'linux'), ServerNotFound);
});
