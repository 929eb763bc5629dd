import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PatchError, applyFilePatch, findFilePatch, parseUnifiedDiff } from '../src/diff';

function applyOne(original: string, diff: string): string {
  const [patch] = parseUnifiedDiff(diff);
  return applyFilePatch(original, patch);
}

test('a change in the middle keeps the rest of the file', () => {
  const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
  const diff = ['--- a/x.rs', '+++ b/x.rs', '@@ -3,5 +3,5 @@', ' c', ' d', '-e', '+E', ' f', ' g', ''].join('\n');
  assert.equal(applyOne(before, diff), 'a\nb\nc\nd\nE\nf\ng\nh\n');
});

test('two hunks, additions and removals', () => {
  const before = Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join('\n') + '\n';
  const diff = [
    '--- a/f', '+++ b/f',
    '@@ -1,4 +1,5 @@', '+l0', ' l1', ' l2', ' l3', ' l4',
    '@@ -15,6 +16,5 @@', ' l15', ' l16', ' l17', '-l18', ' l19', ' l20', '',
  ].join('\n');
  const after = applyOne(before, diff).split('\n');
  assert.equal(after[0], 'l0');
  assert.ok(!after.includes('l18'));
  assert.equal(after.length, 21);
});

test('no newline at end of file, on either side', () => {
  const diff = ['--- a/Cargo.toml', '+++ b/Cargo.toml', '@@ -1 +1,2 @@', '-[package]', '\\ No newline at end of file', '+[package]', '+name = "x"', '\\ No newline at end of file', ''].join('\n');
  assert.equal(applyOne('[package]', diff), '[package]\nname = "x"');
});

test('a created file starts from nothing, a deleted file ends empty', () => {
  const created = ['--- /dev/null', '+++ b/new.rs', '@@ -0,0 +1,2 @@', '+fn a() {}', '+fn b() {}', ''].join('\n');
  const [patch] = parseUnifiedDiff(created);
  assert.equal(patch.oldPath, undefined);
  assert.equal(patch.newPath, 'new.rs');
  assert.equal(applyFilePatch('', patch), 'fn a() {}\nfn b() {}\n');
  const deleted = ['--- a/old.rs', '+++ /dev/null', '@@ -1,1 +0,0 @@', '-x', ''].join('\n');
  assert.equal(applyOne('x\n', deleted), '');
});

test('CRLF text keeps its line endings', () => {
  const diff = '--- a/w.txt\n+++ b/w.txt\n@@ -1,2 +1,2 @@\n one\r\n-two\r\n+TWO\r\n';
  assert.equal(applyOne('one\r\ntwo\r\n', diff), 'one\r\nTWO\r\n');
});

test('a file that changed since the proposal is refused, not guessed', () => {
  const diff = ['--- a/x', '+++ b/x', '@@ -1,2 +1,2 @@', ' a', '-b', '+B', ''].join('\n');
  assert.throws(() => applyOne('a\nzzz\n', diff), PatchError);
  assert.throws(() => applyOne('', diff), /no longer matches/);
});

test('malformed diffs are errors', () => {
  assert.throws(() => parseUnifiedDiff('@@ -1 +1 @@\n-a\n+b\n'), /without a file header/);
  assert.throws(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n'), /middle of a hunk/);
  assert.throws(() => parseUnifiedDiff('--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n?b\n'), /malformed hunk/);
});

test('multi-file diffs are found by new or old name', () => {
  const diff = ['--- a/one', '+++ b/one', '@@ -1 +1 @@', '-1', '+uno', '--- a/old', '+++ b/new', '@@ -1 +1 @@', '-2', '+dos', ''].join('\n');
  const patches = parseUnifiedDiff(diff);
  assert.equal(patches.length, 2);
  assert.equal(findFilePatch(patches, 'new'), patches[1]);
  assert.equal(findFilePatch(patches, 'old'), patches[1]);
  assert.equal(findFilePatch(patches, 'nope'), undefined);
  assert.equal(applyFilePatch('2\n', patches[1]), 'dos\n');
});
