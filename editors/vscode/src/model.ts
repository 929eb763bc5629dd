/**
 * What the UI shows, computed from plain protocol data: status-bar text, tree rows, the
 * review's title and the `autogate-proposed:` URIs. Pure: no VS Code, no IO.
 */

import type { ChangeSummary, Explanation, Level, Summary } from './protocol';

export const PROPOSED_SCHEME = 'autogate-proposed';

const LEVEL_ICON: Record<Level, string> = {
  low: 'pass',
  medium: 'info',
  high: 'warning',
  critical: 'error',
};

/** `autogate: auto · 2 pending` */
export function statusText(mode: string | undefined, pending: number): string {
  return `autogate: ${mode ?? '…'} · ${pending} pending`;
}

export function pendingOnly(summary: Summary): ChangeSummary[] {
  return summary.changes.filter((c) => c.status === 'pending');
}

/** The pending changes that "Approve all low" approves. */
export function lowPending(summary: Summary): ChangeSummary[] {
  return pendingOnly(summary).filter((c) => c.level === 'low' && c.decision === 'ask');
}

export interface Row {
  id: string;
  label: string;
  description: string;
  tooltip: string;
  icon: string;
  contextValue: string;
}

/** One tree row per pending change: `change 3 · Cargo.toml`, `high · ask`. */
export function pendingRows(summary: Summary): Row[] {
  return pendingOnly(summary).map((c) => ({
    id: c.id,
    label: `change ${c.id} · ${c.files.join(', ') || '(no files)'}`,
    description: `${c.level} · ${c.decision}`,
    tooltip: [`change ${c.id}: ${c.level}, ${c.decision}`, ...c.reasons.map((r) => `• ${r}`)].join('\n'),
    icon: LEVEL_ICON[c.level] ?? 'question',
    contextValue: 'autogate.pendingChange',
  }));
}

/** The diff editor's title: `autogate: change 3 (high) Cargo.toml`. */
export function reviewTitle(change: Pick<ChangeSummary, 'id' | 'level'>, file: string): string {
  return `autogate: change ${change.id} (${change.level}) ${file}`;
}

/** A notification line for new pending changes. */
export function pendingMessage(changes: ChangeSummary[]): string {
  if (changes.length === 1) {
    const c = changes[0];
    const why = c.reasons.length > 0 ? `: ${c.reasons[0]}` : '';
    return `autogate: change ${c.id} (${c.level}, ${c.files.join(', ')}) waits for your approval${why}`;
  }
  return `autogate: ${changes.length} changes wait for your approval`;
}

/** The path and query of a proposed-text URI: `/src/lib.rs` and `id=3&file=src%2Flib.rs`. */
export function proposedUriParts(id: string, file: string): { path: string; query: string } {
  const path = `/${file.replace(/^\/+/, '')}`;
  return { path, query: `id=${encodeURIComponent(id)}&file=${encodeURIComponent(file)}` };
}

export function parseProposedQuery(query: string): { id: string; file: string } | undefined {
  let id: string | undefined;
  let file: string | undefined;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    const value = decodeURIComponent(part.slice(eq + 1));
    if (key === 'id') id = value;
    if (key === 'file') file = value;
  }
  return id !== undefined && file !== undefined ? { id, file } : undefined;
}

/** The message of an error from the server or the client library, verbatim. */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}

export const REPORT_SCHEME = 'autogate-report';

/** A readable page of `autogate.explain`: the decision, its reasons, the impact report, the diff. */
export function explainText(e: Explanation): string {
  const report = (typeof e.report === 'object' && e.report !== null ? e.report : {}) as Record<string, unknown>;
  const level = typeof report.level === 'string' ? report.level : '?';
  const reasons = Array.isArray(report.reasons) ? report.reasons.map(String) : [];
  const env = e.environment as { name?: unknown; reason?: unknown } | undefined;
  const lines = [
    `# autogate: change ${e.id}`,
    '',
    `level: ${level} · decision: ${e.decision} · status: ${e.status}${e.rule ? ` · rule: ${e.rule}` : ''}`,
  ];
  if (e.intent || e.source) lines.push(`intent: ${e.intent ?? '-'} · source: ${e.source ?? '-'}`);
  if (env && typeof env.name === 'string') lines.push(`environment: ${env.name}${typeof env.reason === 'string' ? ` (${env.reason})` : ''}${e.mode ? ` · mode: ${e.mode}` : ''}`);
  lines.push(`content hash: ${e.hash}`, '', '## Reasons', '');
  lines.push(...(reasons.length > 0 ? reasons.map((r) => `- ${r}`) : ['- (none given)']));
  lines.push('', '## Impact report', '', '```json', JSON.stringify(e.report ?? null, null, 2), '```', '', '## Diff', '', '```diff', e.diff.replace(/\n$/, ''), '```', '');
  return lines.join('\n');
}
