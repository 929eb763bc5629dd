/**
 * The custom protocol, mirrored from `server/autogate/src/protocol.rs`, which writes it as
 * `docs/protocol.schema.json`; `test/protocol.test.ts` checks this module against that file.
 */

export const Commands = {
  proposeEdit: 'autogate.proposeEdit',
  applyPatch: 'autogate.applyPatch',
  run: 'autogate.run',
  pending: 'autogate.pending',
  approve: 'autogate.approve',
  approveAlways: 'autogate.approveAlways',
  reject: 'autogate.reject',
  explain: 'autogate.explain',
  diff: 'autogate.diff',
  rollback: 'autogate.rollback',
  setMode: 'autogate.setMode',
  approvals: 'autogate.approvals',
  revokeApproval: 'autogate.revokeApproval',
} as const;

/** `autogate/pendingChanged`: sent to clients advertising `experimental.autogate.review`. */
export const PENDING_NOTIFICATION = 'autogate/pendingChanged';

export const LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type Level = (typeof LEVELS)[number];
export const DECISIONS = ['auto', 'ask', 'deny'] as const;
export type Decision = (typeof DECISIONS)[number];
export const STATUSES = ['applied', 'pending', 'approved', 'rejected', 'denied', 'failed', 'rolled_back', 'planned'] as const;
export type Status = (typeof STATUSES)[number];
export type Mode = 'auto' | 'ask' | 'plan';
export const MODES: readonly Mode[] = ['auto', 'ask', 'plan'];

export interface ChangeSummary {
  id: string;
  files: string[];
  level: Level;
  decision: Decision;
  status: Status;
  reasons: string[];
  /** The content hash an approval of this change must carry (`autogate.approve` requires it). */
  hash?: string;
}

export interface Summary {
  checkpoint: string | null;
  changes: ChangeSummary[];
}

/** The result of `autogate.explain` (the fields the extension reads). */
export interface Explanation {
  id: string;
  status: Status;
  decision: Decision;
  rule?: string;
  hash: string;
  intent?: string | null;
  source?: string | null;
  environment?: unknown;
  mode?: string;
  report?: unknown;
  diff: string;
}

/** Narrows an untrusted value (a notification's params) to a Summary, or undefined. */
export function asSummary(value: unknown): Summary | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const v = value as { checkpoint?: unknown; changes?: unknown };
  if (!Array.isArray(v.changes)) {
    return undefined;
  }
  const changes: ChangeSummary[] = [];
  for (const c of v.changes as unknown[]) {
    if (typeof c !== 'object' || c === null) {
      return undefined;
    }
    const o = c as Record<string, unknown>;
    if (typeof o.id !== 'string') {
      return undefined;
    }
    changes.push({
      id: o.id,
      files: Array.isArray(o.files) ? o.files.filter((f): f is string => typeof f === 'string') : [],
      level: (typeof o.level === 'string' ? o.level : 'high') as Level,
      decision: (typeof o.decision === 'string' ? o.decision : 'ask') as Decision,
      status: (typeof o.status === 'string' ? o.status : 'pending') as Status,
      reasons: Array.isArray(o.reasons) ? o.reasons.filter((r): r is string => typeof r === 'string') : [],
      ...(typeof o.hash === 'string' ? { hash: o.hash } : {}),
    });
  }
  return { checkpoint: typeof v.checkpoint === 'string' ? v.checkpoint : null, changes };
}

/** One standing approval ("Approve always"), as `autogate.approvals` lists it. */
export interface StandingApproval {
  id: string;
  /** What it covers, in words. */
  scope: string;
  by: string;
  /** RFC 3339 (UTC). */
  made: string;
  /** RFC 3339 (UTC). */
  expires: string;
  /** The change it was made from. */
  change: string;
  active: boolean;
  /** `ignored`: the audit trail does not record it as made, so the gate does not honour it. */
  state: 'active' | 'expired' | 'ignored';
}

/**
 * Narrows an untrusted value (the result of `autogate.approvals` or `autogate.revokeApproval`)
 * to its standing approvals, or undefined. Entries without an id are left out.
 */
export function asApprovals(value: unknown): StandingApproval[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const list = (value as { approvals?: unknown }).approvals;
  if (!Array.isArray(list)) return undefined;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const out: StandingApproval[] = [];
  for (const a of list as unknown[]) {
    if (typeof a !== 'object' || a === null) continue;
    const o = a as Record<string, unknown>;
    if (typeof o.id !== 'string') continue;
    const state = o.state === 'active' || o.state === 'expired' || o.state === 'ignored' ? o.state : 'ignored';
    out.push({
      id: o.id,
      scope: text(o.scope),
      by: text(o.by),
      made: text(o.made),
      expires: text(o.expires),
      change: text(o.change),
      active: o.active === true && state === 'active',
      state,
    });
  }
  return out;
}
