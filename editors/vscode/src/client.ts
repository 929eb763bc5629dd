/**
 * Starting the language server: finding the binary, advertising `experimental.autogate.review`,
 * and sending `workspace/executeCommand` with the server's errors kept verbatim.
 */

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type ClientCapabilities,
  type FeatureState,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from 'vscode-languageclient/node';

/** Advertises that this client has its own review UI: the server then sends `autogate/pendingChanged`. */
export class ReviewFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    experimental.autogate = { ...((experimental.autogate as object | undefined) ?? {}), review: true };
    capabilities.experimental = experimental;
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

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
export function findServer(configured: string | undefined, extensionPath: string, envPath: string | undefined): string {
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new ServerNotFound(
      `autogate: the setting autogate.server.path points to ${configured}, which is not an executable file. Fix the path, or clear it to use the bundled server or \`autogate\` on PATH.`,
    );
  }
  const bundled = path.join(extensionPath, 'server', process.platform === 'win32' ? 'autogate.exe' : 'autogate');
  if (isExecutable(bundled)) return bundled;
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, process.platform === 'win32' ? 'autogate.exe' : 'autogate');
    if (isExecutable(candidate)) return candidate;
  }
  throw new ServerNotFound(
    'autogate: no server found. Set autogate.server.path to the autogate binary (build it with `cargo build -p autogate`, then target/debug/autogate), or put `autogate` on PATH.',
  );
}

export function createClient(serverPath: string, output: vscode.OutputChannel, mode: string | undefined): LanguageClient {
  const serverOptions: ServerOptions = {
    command: serverPath,
    args: ['lsp'],
    options: { env: { ...process.env } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }],
    outputChannel: output,
    initializationOptions: mode ? { mode } : {},
  };
  const client = new LanguageClient('autogate', 'autogate', serverOptions, clientOptions);
  client.registerFeature(new ReviewFeature());
  return client;
}

/** Runs one `autogate.*` command on the server. Rejects with the server's message, verbatim. */
export async function execute<T>(client: LanguageClient, command: string, args: object): Promise<T> {
  return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] })) as T;
}
