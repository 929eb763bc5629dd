/**
 * Unified diffs as the server writes them (`similar`, 3 lines of context, `a/` `b/` headers,
 * `\ No newline at end of file` hints): parsing, and applying them to a file's current text to
 * reconstruct the proposed text. Pure: no VS Code, no IO.
 */

export interface HunkLine {
  /** ' ' context, '-' removed, '+' added. */
  op: ' ' | '-' | '+';
  /** The line's text without its final '\n' (a '\r' of CRLF text stays). */
  text: string;
  /** False when the diff says `\ No newline at end of file` after this line. */
  eol: boolean;
}

export interface Hunk {
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: HunkLine[];
}

export interface FilePatch {
  /** Workspace-relative path before the change, or undefined for a created file. */
  oldPath: string | undefined;
  /** Workspace-relative path after the change, or undefined for a deleted file. */
  newPath: string | undefined;
  hunks: Hunk[];
}

export class PatchError extends Error {}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

function headerPath(raw: string): string | undefined {
  // "a/src/lib.rs", possibly followed by a tab and a timestamp.
  const name = raw.split('\t')[0].trim();
  if (name === '/dev/null') {
    return undefined;
  }
  return name.startsWith('a/') || name.startsWith('b/') ? name.slice(2) : name;
}

/** Parses a unified diff of one or more files. Throws PatchError on malformed input. */
export function parseUnifiedDiff(diff: string): FilePatch[] {
  const lines = diff.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  const files: FilePatch[] = [];
  let file: FilePatch | undefined;
  let hunk: Hunk | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (hunk && (oldLeft > 0 || newLeft > 0)) {
      const op = line[0];
      if (op === ' ' || op === '-' || op === '+') {
        hunk.lines.push({ op, text: line.slice(1), eol: true });
        if (op !== '+') oldLeft--;
        if (op !== '-') newLeft--;
        continue;
      }
      if (line === '') {
        // Some tools drop the space of an empty context line.
        hunk.lines.push({ op: ' ', text: '', eol: true });
        oldLeft--;
        newLeft--;
        continue;
      }
      if (!line.startsWith('\\')) {
        throw new PatchError(`malformed hunk at diff line ${i + 1}: ${JSON.stringify(line)}`);
      }
    }
    if (line.startsWith('\\')) {
      const last = hunk?.lines[hunk.lines.length - 1];
      if (!last) {
        throw new PatchError(`stray "${line}" at diff line ${i + 1}`);
      }
      last.eol = false;
      continue;
    }
    if (line.startsWith('--- ') && i + 1 < lines.length && lines[i + 1].startsWith('+++ ')) {
      file = { oldPath: headerPath(line.slice(4)), newPath: headerPath(lines[i + 1].slice(4)), hunks: [] };
      files.push(file);
      hunk = undefined;
      i++;
      continue;
    }
    const m = HUNK_HEADER.exec(line);
    if (m) {
      if (!file) {
        throw new PatchError(`hunk without a file header at diff line ${i + 1}`);
      }
      hunk = {
        oldStart: Number(m[1]),
        oldCount: m[2] === undefined ? 1 : Number(m[2]),
        newStart: Number(m[3]),
        newCount: m[4] === undefined ? 1 : Number(m[4]),
        lines: [],
      };
      oldLeft = hunk.oldCount;
      newLeft = hunk.newCount;
      file.hunks.push(hunk);
      continue;
    }
    // Anything else between files ("diff --git", "index ...") is a header line: ignored.
  }
  if (hunk && (oldLeft > 0 || newLeft > 0)) {
    throw new PatchError('the diff ends in the middle of a hunk');
  }
  return files;
}

interface SourceLine {
  text: string;
  eol: boolean;
}

function splitLines(text: string): SourceLine[] {
  if (text === '') {
    return [];
  }
  const parts = text.split('\n');
  const last = parts.pop() as string;
  const out = parts.map((t) => ({ text: t, eol: true }));
  if (last !== '') {
    out.push({ text: last, eol: false });
  }
  return out;
}

/**
 * Applies one file's hunks to `original`. Every context and removed line must match exactly:
 * if the file changed since the proposal, this throws PatchError rather than guess.
 */
export function applyFilePatch(original: string, patch: FilePatch): string {
  const src = splitLines(original);
  const out: SourceLine[] = [];
  let pos = 0;
  for (const hunk of patch.hunks) {
    const start = hunk.oldCount === 0 ? hunk.oldStart : hunk.oldStart - 1;
    if (start < pos || start > src.length) {
      throw new PatchError(`hunk @@ -${hunk.oldStart},${hunk.oldCount} @@ is out of order or past the end of the file`);
    }
    while (pos < start) {
      out.push(src[pos++]);
    }
    for (const line of hunk.lines) {
      if (line.op === '+') {
        out.push({ text: line.text, eol: line.eol });
        continue;
      }
      const have = src[pos];
      if (!have || have.text !== line.text) {
        throw new PatchError(
          `the file no longer matches the proposal at line ${pos + 1}: expected ${JSON.stringify(line.text)}, found ${have ? JSON.stringify(have.text) : 'the end of the file'}`,
        );
      }
      pos++;
      if (line.op === ' ') {
        out.push({ text: line.text, eol: line.eol });
      }
    }
  }
  while (pos < src.length) {
    out.push(src[pos++]);
  }
  return out.map((l) => (l.eol ? `${l.text}\n` : l.text)).join('');
}

/** The patch of `path` (workspace-relative) in a multi-file diff, by its new or old name. */
export function findFilePatch(patches: FilePatch[], path: string): FilePatch | undefined {
  return patches.find((p) => p.newPath === path) ?? patches.find((p) => p.oldPath === path);
}
