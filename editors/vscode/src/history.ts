/** The audit trail, read with the server binary's own CLI (`autogate log --json`) in the workspace root. */

import { execFile } from 'child_process';
import { type AuditRecord, parseAudit } from './model';

export type History = { records: AuditRecord[] } | { error: string };

export function readAudit(serverPath: string, root: string): Promise<History> {
  return new Promise((resolve) => {
    execFile(serverPath, ['log', '--json'], { cwd: root, timeout: 10000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const why = (stderr || error.message).trim().split('\n')[0];
        resolve({ error: why });
        return;
      }
      try {
        resolve({ records: parseAudit(stdout) });
      } catch (e) {
        resolve({ error: e instanceof Error ? e.message : String(e) });
      }
    });
  });
}
