/**
 * What the UI shows, computed from plain protocol data: status-bar text, tree rows, the
 * review's title and the `autogate-proposed:` URIs. Pure: no VS Code, no IO.
 */

import type { ChangeSummary, Explanation, Level, StandingApproval, Summary } from './protocol';

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

/** One record of `autogate log --json` (the fields the views read). */
export interface AuditRecord {
  time: string;
  event: string;
  source?: string | null;
  intent?: string | null;
  change?: string | null;
  files: string[];
  level?: string | null;
  decision?: string | null;
  rule?: string | null;
  approver?: string | null;
  content_hash?: string | null;
  checkpoint?: string | null;
  reasons: string[];
  hash: string;
}

/** Narrows `autogate log --json` output to records, or throws with what is wrong. */
export function parseAudit(json: string): AuditRecord[] {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw new Error('autogate log --json did not print an array');
  return value.map((v: unknown, i) => {
    if (typeof v !== 'object' || v === null) throw new Error(`audit record ${i} is not an object`);
    const r = v as Record<string, unknown>;
    const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
    const strs = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
    return {
      time: str(r.time) ?? '',
      event: str(r.event) ?? '?',
      source: str(r.source),
      intent: str(r.intent),
      change: str(r.change),
      files: strs(r.files),
      level: str(r.level),
      decision: str(r.decision),
      rule: str(r.rule),
      approver: str(r.approver),
      content_hash: str(r.content_hash),
      checkpoint: str(r.checkpoint),
      reasons: strs(r.reasons),
      hash: str(r.hash) ?? String(i),
    };
  });
}

const EVENT_ICON: Record<string, string> = {
  decided: 'law',
  applied: 'check',
  approved: 'pass-filled',
  rejected: 'circle-slash',
  denied: 'error',
  failed: 'warning',
  rolled_back: 'history',
};

/** The Audit log view: newest first, `change 3 approved`, `high · ask · by person · Cargo.toml`. */
export function auditRows(records: AuditRecord[], limit = 200): Row[] {
  return records
    .slice(-limit)
    .reverse()
    .map((r) => {
      const who = r.approver ? `by ${r.approver}` : undefined;
      const description = [r.level, r.decision, who, r.files.join(', ')].filter(Boolean).join(' · ');
      const tooltip = [
        `${r.time}  ${r.event.replace('_', ' ')}${r.change ? ` change ${r.change}` : ''}`,
        r.intent ? `intent: ${r.intent}${r.source ? ` (source: ${r.source})` : ''}` : undefined,
        r.rule ? `rule: ${r.rule}` : undefined,
        r.checkpoint ? `checkpoint: ${r.checkpoint}` : undefined,
        r.content_hash ? `content hash: ${r.content_hash}` : undefined,
        ...r.reasons.map((x) => `• ${x}`),
      ]
        .filter((x): x is string => x !== undefined)
        .join('\n');
      return {
        id: r.hash,
        label: `${r.change ? `change ${r.change}` : 'batch'} ${r.event.replace('_', ' ')}`,
        description,
        tooltip,
        icon: EVENT_ICON[r.event] ?? 'circle-outline',
        contextValue: 'autogate.auditRecord',
      };
    });
}

/**
 * The Checkpoints view, from the audit trail: one row per checkpoint, newest first, with the
 * changes and files behind it, and whether it was rolled back.
 */
export function checkpointRows(records: AuditRecord[]): Row[] {
  const byId = new Map<string, { time: string; changes: Set<string>; files: Set<string>; rolledBack: boolean }>();
  for (const r of records) {
    if (!r.checkpoint) continue;
    let c = byId.get(r.checkpoint);
    if (!c) {
      c = { time: r.time, changes: new Set(), files: new Set(), rolledBack: false };
      byId.set(r.checkpoint, c);
    }
    if (r.change) c.changes.add(r.change);
    r.files.forEach((f) => c.files.add(f));
    if (r.event === 'rolled_back') c.rolledBack = true;
  }
  return [...byId.entries()].reverse().map(([id, c]) => {
    const changes = [...c.changes];
    return {
      id,
      label: `${id}${c.rolledBack ? ' (rolled back)' : ''}`,
      description: `${changes.length > 0 ? `change${changes.length > 1 ? 's' : ''} ${changes.join(', ')} · ` : ''}${[...c.files].join(', ')}`,
      tooltip: `checkpoint ${id}\n${c.time}\nfiles: ${[...c.files].join(', ')}\nClick to roll back to it.`,
      icon: c.rolledBack ? 'discard' : 'history',
      contextValue: 'autogate.checkpoint',
    };
  });
}

const APPROVAL_ICON: Record<StandingApproval['state'], string> = {
  active: 'verified',
  expired: 'watch',
  ignored: 'warning',
};

/**
 * The Standing approvals view: `S1  body_only changes … (development)`, `by Ann, until
 * 2027-01-02`, expired and ignored ones marked; the Revoke action is on every row.
 */
export function approvalRows(approvals: StandingApproval[]): Row[] {
  return approvals.map((a) => {
    const until = a.expires.slice(0, 10);
    const mark = a.state === 'expired' ? ' (expired)' : a.state === 'ignored' ? ' (ignored: not in the audit trail)' : '';
    return {
      id: a.id,
      label: `${a.id}  ${a.scope}`,
      description: `by ${a.by}, until ${until}${mark}`,
      tooltip: [
        `standing approval ${a.id}: ${a.scope}`,
        `by ${a.by}, ${a.made} until ${a.expires} (from change ${a.change})`,
        a.state === 'active'
          ? 'Changes of this scope apply without asking.'
          : a.state === 'expired'
            ? 'Expired: it covers nothing.'
            : 'Ignored: the audit trail does not record it as made, so the gate does not honour it.',
      ].join('\n'),
      icon: APPROVAL_ICON[a.state] ?? 'question',
      contextValue: 'autogate.standingApproval',
    };
  });
}

/** The editor overrides the server accepts (they only tighten the policy), without empty values. */
export interface EditorOverrides {
  mode?: string;
  autoUpTo?: string;
  denyFrom?: string;
  protected?: string[];
}

export function editorOverrides(get: (key: 'mode' | 'autoUpTo' | 'denyFrom' | 'protected') => unknown): EditorOverrides {
  const out: EditorOverrides = {};
  for (const key of ['mode', 'autoUpTo', 'denyFrom'] as const) {
    const value = get(key);
    if (typeof value === 'string' && value !== '') out[key] = value;
  }
  const globs = get('protected');
  if (Array.isArray(globs)) {
    const clean = globs.filter((g): g is string => typeof g === 'string' && g.trim() !== '');
    if (clean.length > 0) out.protected = clean;
  }
  return out;
}
