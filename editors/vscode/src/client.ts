/**
 * Starting the language server: advertising `experimental.autogate.review`,
 * and sending `workspace/executeCommand` with the server's errors kept verbatim.
 */

import * as vscode from 'vscode';
import { Commands } from './protocol';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type ClientCapabilities,
  type FeatureState,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from 'vscode-languageclient/node';

/**
 * Advertises that this client has its own review UI (the server then sends `autogate/pendingChanged`)
 * and saves documents on `autogate/saveDocuments` (before the policy's verification commands run).
 */
export class ReviewFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    experimental.autogate = { ...((experimental.autogate as object | undefined) ?? {}), review: true, saveDocuments: true };
    capabilities.experimental = experimental;
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

/** What the extension does around the server commands that VS Code runs by itself. */
export interface CommandHooks {
  /** After every such command (the diagnostics' code actions Approve / Reject): refresh the UI. */
  afterCommand(): void;
  /** Instead of `autogate.diff` (the code action Show diff): open the native review. */
  showDiff(id: string): Promise<void>;
}

export function createClient(
  serverPath: string,
  output: vscode.OutputChannel,
  overrides: object,
  hooks: CommandHooks,
): LanguageClient {
  const serverOptions: ServerOptions = {
    command: serverPath,
    args: ['lsp'],
    options: { env: { ...process.env } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file' }],
    outputChannel: output,
    // `mode`, and on servers that take them `autoUpTo`, `denyFrom`, `protected`: only stricter.
    initializationOptions: overrides,
    middleware: {
      executeCommand: async (command, args, next) => {
        const id = (args[0] as { id?: unknown } | undefined)?.id;
        if (command === Commands.diff && typeof id === 'string') {
          return hooks.showDiff(id);
        }
        try {
          return await next(command, args);
        } finally {
          hooks.afterCommand();
        }
      },
    },
  };
  const client = new LanguageClient('autogate', 'autogate', serverOptions, clientOptions);
  client.registerFeature(new ReviewFeature());
  return client;
}

/** Runs one `autogate.*` command on the server. Rejects with the server's message, verbatim. */
export async function execute<T>(client: LanguageClient, command: string, args: object): Promise<T> {
  return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] })) as T;
}
