/** Where the server binary is: the setting, the bundled binary, or PATH. Pure but for `fs`. */

import * as fs from 'fs';
import * as path from 'path';

export class ServerNotFound extends Error {}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The setting `autogate.server.path`, else the bundled `server/autogate`, else `autogate` on PATH. */
export function findServer(configured: string | undefined, extensionPath: string, envPath: string | undefined, platform = process.platform): string {
  const exe = platform === 'win32' ? 'autogate.exe' : 'autogate';
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new ServerNotFound(
      `autogate: the setting autogate.server.path points to ${configured}, which is not an executable file. Fix the path, or clear it to use the bundled server or \`autogate\` on PATH.`,
    );
  }
  const bundled = path.join(extensionPath, 'server', exe);
  if (isExecutable(bundled)) return bundled;
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, exe);
    if (isExecutable(candidate)) return candidate;
  }
  throw new ServerNotFound(
    'autogate: no server found. Set autogate.server.path to the autogate binary (build it with `cargo build -p autogate`, then target/debug/autogate), or put `autogate` on PATH.',
  );
}
