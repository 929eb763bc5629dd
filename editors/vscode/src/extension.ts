/**
 * The extension's shell: starts the server, keeps the pending set, and wires the review,
 * the status bar, the views and the palette commands to `autogate.*` server commands.
 */

import * as fs from 'fs';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DidChangeConfigurationNotification, LogMessageNotification, MessageType } from 'vscode-languageclient/node';
import { createClient, execute } from './client';
import { findServer } from './serverPath';
import {
  PROPOSED_SCHEME,
  REPORT_SCHEME,
  approvalRows,
  auditRows,
  checkpointRows,
  editorOverrides,
  errorText,
  explainText,
  lowPending,
  parseProposedQuery,
  pendingMessage,
  pendingOnly,
  pendingRows,
  statusText,
} from './model';
import { Commands, MODES, PENDING_NOTIFICATION, asApprovals, asSummary, type Explanation, type Level, type Summary } from './protocol';
import { readAudit } from './history';
import { ProposedContentProvider } from './review';
import { RowTree } from './views';

function currentOverrides(): ReturnType<typeof editorOverrides> {
  const config = vscode.workspace.getConfiguration('autogate');
  return editorOverrides((key) => config.get(key));
}

/** The level in an explain result's report, if it has one. */
function explainedLevel(e: Explanation): Level | undefined {
  const level = (e.report as { level?: unknown } | undefined)?.level;
  return level === 'low' || level === 'medium' || level === 'high' || level === 'critical' ? level : undefined;
}

class Autogate {
  private client: LanguageClient | undefined;
  private mode: string | undefined;
  /** A command's answer named the mode: the server's startup line, which can come later, no longer counts. */
  private modeTold = false;
  /** Why there is no server, for the status bar: "open a folder", "not running". */
  private problem: string | undefined = 'starting';
  private pending: Summary = { checkpoint: null, changes: [] };
  private readonly seen = new Set<string>();
  readonly output = vscode.window.createOutputChannel('autogate');
  readonly status = vscode.window.createStatusBarItem('autogate.status', vscode.StatusBarAlignment.Left, 100);
  readonly tree = new RowTree((row) => ({ command: 'autogate.ui.review', title: 'Review', arguments: [row.id] }));
  readonly checkpoints = new RowTree((row) => ({ command: 'autogate.ui.rollback', title: 'Roll back', arguments: [row.id] }));
  readonly audit = new RowTree(() => undefined);
  readonly approvals = new RowTree(() => undefined);
  checkpointsView: vscode.TreeView<unknown> | undefined;
  auditView: vscode.TreeView<unknown> | undefined;
  approvalsView: vscode.TreeView<unknown> | undefined;
  private serverPath: string | undefined;
  private historyTimer: ReturnType<typeof setTimeout> | undefined;
  readonly reports = new Map<string, string>();
  readonly reportChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly proposed = new ProposedContentProvider(() => vscode.workspace.workspaceFolders?.[0]?.uri);

  constructor(private readonly context: vscode.ExtensionContext) {
    this.status.name = 'autogate';
    this.status.tooltip = 'autogate: click to switch the mode (or, when the server is not running, to see why)';
    this.render();
    this.status.show();
  }

  private render(): void {
    const count = pendingOnly(this.pending).length;
    if (this.problem) {
      this.status.text = `$(shield) autogate: ${this.problem}`;
      this.status.command = 'autogate.ui.showOutput';
    } else {
      this.status.text = `$(shield) ${statusText(this.mode, count)}`;
      this.status.command = 'autogate.ui.setMode';
    }
    this.tree.set(pendingRows(this.pending));
    void vscode.commands.executeCommand('setContext', 'autogate.pendingCount', count);
  }

  async start(): Promise<void> {
    const config = vscode.workspace.getConfiguration('autogate');
    if (!vscode.workspace.workspaceFolders?.length) {
      // The server gates edits inside a workspace root: without a folder there is none.
      this.problem = 'open a folder';
      this.render();
      this.output.appendLine('autogate: no folder is open; the server starts when one is.');
      return;
    }
    let serverPath: string;
    try {
      serverPath = findServer(config.get<string>('server.path') || undefined, this.context.extensionPath, process.env.PATH);
    } catch (e) {
      this.problem = 'no server';
      this.render();
      this.output.appendLine(errorText(e));
      const choice = await vscode.window.showErrorMessage(errorText(e), 'Open Settings');
      if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'autogate.server.path');
      }
      return;
    }
    this.serverPath = serverPath;
    const overrides = currentOverrides();
    const mode = overrides.mode;
    this.mode = mode;
    this.modeTold = false;
    this.output.appendLine(`autogate: starting ${serverPath} lsp with ${JSON.stringify(overrides)}`);
    // A new server numbers its changes afresh: forget the old ones.
    this.seen.clear();
    for (const id of [...this.proposed.changes.keys()]) await this.proposed.close(id);
    this.pending = { checkpoint: null, changes: [] };
    this.problem = 'starting';
    this.render();
    const client = createClient(serverPath, this.output, overrides, {
      afterCommand: () => void this.refresh(),
      showDiff: (id) => this.review(id),
    });
    this.client = client;
    // Registered before start, so they replace the defaults from the first message on.
    // The server's log lines go to the output channel; its first line names the mode.
    client.onNotification(LogMessageNotification.type, (params) => {
      const kind = params.type === MessageType.Error ? 'Error' : params.type === MessageType.Warning ? 'Warn' : 'Info';
      this.output.appendLine(`[${kind}] ${params.message}`);
      const m = /^autogate: (\w+) mode,/.exec(params.message);
      if (m && !this.modeTold) {
        this.mode = m[1];
        this.render();
      }
    });
    // Before verification, the server asks us to save the documents it changed.
    client.onRequest('autogate/saveDocuments', async (params: { uris?: string[] }) => {
      for (const uri of params?.uris ?? []) {
        const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === vscode.Uri.parse(uri).toString());
        if (doc?.isDirty) await doc.save();
      }
      return {};
    });
    client.onNotification(PENDING_NOTIFICATION, (params: unknown) => {
      const summary = asSummary(params);
      if (summary) void this.onPending(summary);
    });
    try {
      await client.start();
    } catch (e) {
      this.client = undefined;
      this.problem = 'not running';
      this.render();
      void vscode.window.showErrorMessage(`autogate: the server did not start: ${errorText(e)}`);
      return;
    }
    this.problem = undefined;
    this.render();
    await this.refresh();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.problem = 'not running';
    this.render();
    try {
      if (client?.isRunning()) await client.stop();
    } catch (e) {
      this.output.appendLine(`autogate: stopping the server: ${errorText(e)}`);
    }
  }

  private need(): LanguageClient {
    if (!this.client) throw new Error('autogate: the server is not running; see the autogate output.');
    return this.client;
  }

  /** Runs a server command; shows its error verbatim and returns undefined on failure. */
  async run<T>(command: string, args: object): Promise<T | undefined> {
    try {
      return await execute<T>(this.need(), command, args);
    } catch (e) {
      void vscode.window.showErrorMessage(errorText(e));
      return undefined;
    } finally {
      if (command !== Commands.pending) void this.refresh();
    }
  }

  /** Re-reads the audit trail soon (debounced): it feeds the Checkpoints and Audit log views. */
  refreshHistory(): void {
    if (this.historyTimer) clearTimeout(this.historyTimer);
    this.historyTimer = setTimeout(() => void this.loadHistory(), 300);
  }

  private async loadHistory(): Promise<void> {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!this.serverPath || !root || root.scheme !== 'file') return;
    const history = await readAudit(this.serverPath, root.fsPath);
    if ('error' in history) {
      this.checkpoints.set([]);
      this.audit.set([]);
      const why = `this server cannot list them yet (autogate log --json: ${history.error})`;
      if (this.checkpointsView) this.checkpointsView.message = `Checkpoints arrive with the safety net: ${why}.`;
      if (this.auditView) this.auditView.message = `The audit log arrives with the safety net: ${why}.`;
      return;
    }
    if (this.checkpointsView) this.checkpointsView.message = undefined;
    if (this.auditView) this.auditView.message = undefined;
    this.checkpoints.set(checkpointRows(history.records));
    this.audit.set(auditRows(history.records));
  }

  async refresh(): Promise<void> {
    this.refreshHistory();
    if (!this.client) return;
    await this.refreshApprovals();
    try {
      const summary = asSummary(await execute<unknown>(this.client, Commands.pending, {}));
      if (summary) await this.onPending(summary, false);
    } catch (e) {
      this.output.appendLine(`autogate.pending failed: ${errorText(e)}`);
    }
  }

  /** Re-reads the standing approvals (`autogate.approvals`) into their view. */
  async refreshApprovals(): Promise<void> {
    if (!this.client) return;
    try {
      this.showApprovals(await execute<unknown>(this.client, Commands.approvals, {}));
    } catch (e) {
      this.approvals.set([]);
      if (this.approvalsView) this.approvalsView.message = `This server cannot list them (autogate.approvals: ${errorText(e)}).`;
    }
  }

  private showApprovals(result: unknown): void {
    const list = asApprovals(result);
    if (!list) return;
    if (this.approvalsView) this.approvalsView.message = undefined;
    this.approvals.set(approvalRows(list));
  }

  /** Revokes a standing approval (a row of the view, or one picked), after asking. */
  async revokeApproval(arg: unknown): Promise<void> {
    let id = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null && typeof (arg as { id?: unknown }).id === 'string' ? (arg as { id: string }).id : undefined;
    let scope: string | undefined;
    if (!id) {
      const list = asApprovals(await this.run<unknown>(Commands.approvals, {})) ?? [];
      if (list.length === 0) {
        void vscode.window.showInformationMessage('autogate: no standing approvals.');
        return;
      }
      const items = approvalRows(list).map((r) => ({ label: r.label, description: r.description, id: r.id }));
      id = (await vscode.window.showQuickPick(items, { placeHolder: 'autogate: which standing approval to revoke?' }))?.id;
      if (!id) return;
    }
    if (typeof arg === 'object' && arg !== null && typeof (arg as { label?: unknown }).label === 'string') {
      scope = (arg as { label: string }).label;
    }
    const choice = await vscode.window.showWarningMessage(
      `autogate: revoke standing approval ${scope ?? id}?`,
      { modal: true, detail: 'Changes of its scope will ask for your approval again. The audit trail records the revocation as yours.' },
      'Revoke',
    );
    if (choice !== 'Revoke') return;
    const result = await this.run<unknown>(Commands.revokeApproval, { id });
    if (result === undefined) return;
    this.showApprovals(result);
    vscode.window.setStatusBarMessage(`autogate: standing approval ${id} revoked`, 5000);
  }

  private async onPending(summary: Summary, announce = true): Promise<void> {
    this.pending = summary;
    this.render();
    const ids = new Set(pendingOnly(summary).map((c) => c.id));
    for (const id of [...this.proposed.changes.keys()]) {
      if (!ids.has(id)) await this.proposed.close(id);
    }
    // Only the notification announces: a refresh that races it must not swallow the news.
    if (!announce) return;
    const fresh = pendingOnly(summary).filter((c) => !this.seen.has(c.id));
    fresh.forEach((c) => this.seen.add(c.id));
    if (fresh.length === 0) return;
    if (vscode.workspace.getConfiguration('autogate').get<boolean>('review.openAutomatically', true)) {
      await this.review(fresh[0].id);
    }
    void this.notify(fresh);
  }

  private async notify(fresh: Summary['changes']): Promise<void> {
    const one = fresh.length === 1 ? fresh[0] : undefined;
    const actions = one ? ['Approve', 'Reject', 'Show diff'] : ['Review'];
    const choice = await vscode.window.showWarningMessage(pendingMessage(fresh), ...actions);
    if (!one) {
      if (choice === 'Review') await vscode.commands.executeCommand('autogate.ui.pending');
      return;
    }
    if (!choice) return;
    // A notification cannot be taken back: it may outlive its change (approved in the review).
    await this.refresh();
    const now = this.pending.changes.find((c) => c.id === one.id);
    if (!now) {
      vscode.window.setStatusBarMessage(`autogate: change ${one.id} no longer waits for approval`, 5000);
      return;
    }
    if (choice === 'Approve') await this.approve(one.id);
    if (choice === 'Reject') await this.reject(one.id);
    if (choice === 'Show diff') await this.review(one.id);
  }

  async review(id: string): Promise<void> {
    const explained = await this.run<Explanation>(Commands.explain, { id });
    if (!explained) return;
    const level = explainedLevel(explained) ?? this.pending.changes.find((c) => c.id === id)?.level ?? 'high';
    await this.proposed.open({ id, level, hash: explained.hash, diff: explained.diff });
  }

  /** Opens the readable report of `autogate.explain` beside the current editor. */
  async explain(id: string): Promise<void> {
    const explained = await this.run<Explanation>(Commands.explain, { id });
    if (!explained) return;
    this.reports.set(id, explainText(explained));
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/change-${id}.md`, query: `id=${encodeURIComponent(id)}` });
    this.reportChanged.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  }

  /** The change a command is about: a tree row's id, a proposed URI, the active review, or a pick. */
  async target(arg: unknown, verb: string): Promise<string | undefined> {
    if (typeof arg === 'string') return arg;
    if (arg instanceof vscode.Uri && arg.scheme === PROPOSED_SCHEME) return parseProposedQuery(arg.query)?.id;
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.scheme === PROPOSED_SCHEME) return parseProposedQuery(active.query)?.id;
    await this.refresh();
    const items = pendingRows(this.pending).map((r) => ({ label: r.label, description: r.description, detail: r.tooltip.split('\n').slice(1).join(' '), id: r.id }));
    if (items.length === 0) {
      void vscode.window.showInformationMessage('autogate: no changes wait for approval.');
      return undefined;
    }
    return (await vscode.window.showQuickPick(items, { placeHolder: `autogate: which change to ${verb}?` }))?.id;
  }

  /** The content hash the person was shown for a change: its diff's, else the pending list's. */
  private async hashOf(id: string): Promise<string | undefined> {
    const shown = this.proposed.changes.get(id)?.hash ?? this.pending.changes.find((c) => c.id === id)?.hash;
    if (shown) return shown;
    await this.refresh();
    return this.pending.changes.find((c) => c.id === id)?.hash;
  }

  async approve(id: string): Promise<void> {
    // The server requires the hash: an approval is bound to the content it was asked for.
    // Without one (the change is not pending any more) it answers why.
    const hash = await this.hashOf(id);
    const result = await this.run<Summary>(Commands.approve, hash ? { id, hash } : { id });
    if (result) {
      await this.proposed.close(id);
      this.headline(result);
    }
  }

  /**
   * Approves a change and makes a standing approval of its scope: later changes of that scope
   * apply without asking. The server refuses (and says why) where none may be made.
   */
  async approveAlways(id: string): Promise<void> {
    const hash = await this.hashOf(id);
    const result = await this.run<Summary>(Commands.approveAlways, hash ? { id, hash } : { id });
    if (result) {
      await this.proposed.close(id);
      this.headline(result);
    }
  }

  async reject(id: string): Promise<void> {
    const result = await this.run<Summary>(Commands.reject, { id });
    if (result) {
      await this.proposed.close(id);
      this.headline(result);
    }
  }

  private headline(summary: Summary): void {
    const c = summary.changes[0];
    if (c) vscode.window.setStatusBarMessage(`autogate: change ${c.id} ${c.status.replace('_', ' ')}`, 5000);
  }

  async approveAllLow(): Promise<void> {
    await this.refresh();
    const low = lowPending(this.pending);
    if (low.length === 0) {
      void vscode.window.showInformationMessage('autogate: no low-risk changes wait for approval.');
      return;
    }
    for (const c of low) await this.approve(c.id);
  }

  async setMode(): Promise<void> {
    const pick = await vscode.window.showQuickPick(
      MODES.map((m) => ({ label: m, description: m === this.mode ? 'current' : undefined })),
      { placeHolder: 'autogate mode: auto (the policy decides), ask (every change asks), plan (nothing is applied)' },
    );
    if (pick) await this.applyMode(pick.label);
  }

  /** Sends the editor overrides as the `autogate` settings section (`workspace/didChangeConfiguration`). */
  async sendOverrides(): Promise<void> {
    if (!this.client) return;
    const overrides = currentOverrides();
    this.output.appendLine(`autogate: editor overrides ${JSON.stringify(overrides)}`);
    await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { autogate: overrides } });
  }

  async applyMode(mode: string): Promise<void> {
    const result = await this.run<{ mode: string }>(Commands.setMode, { mode });
    if (result) {
      this.mode = result.mode;
      this.modeTold = true;
      this.render();
    }
  }

  async runTask(): Promise<void> {
    const task = await vscode.window.showInputBox({ prompt: 'autogate: what should be done?', placeHolder: 'e.g. add doc comments to the public functions of this file' });
    if (!task) return;
    const editor = vscode.window.activeTextEditor;
    const args: Record<string, unknown> = { task };
    if (editor && editor.document.uri.scheme === 'file') {
      args.uri = editor.document.uri.toString();
      const s = editor.selection;
      // A selection narrows the task; `rename` works on the symbol under the cursor.
      if (!s.isEmpty || /^\/?rename\s/i.test(task.trim())) {
        args.range = { start: { line: s.start.line, character: s.start.character }, end: { line: s.end.line, character: s.end.character } };
      }
    }
    const result = await this.run<{ task_id: string }>(Commands.run, args);
    if (result) vscode.window.setStatusBarMessage(`autogate: task ${result.task_id} started`, 5000);
  }

  /** Rolls back a checkpoint (a Checkpoints row), or the latest one, after asking. */
  async rollback(checkpoint?: string): Promise<void> {
    const which = checkpoint ? `checkpoint ${checkpoint}` : 'the latest checkpoint';
    const choice = await vscode.window.showWarningMessage(
      `autogate: roll back ${which}?`,
      { modal: true, detail: 'The files autogate wrote are restored. Files you changed since are kept, and the result says so.' },
      'Roll back',
    );
    if (choice !== 'Roll back') return;
    const result = await this.run<Summary>(Commands.rollback, checkpoint ? { checkpoint } : {});
    if (!result) return;
    const notes = result.changes.flatMap((c) => c.reasons).filter((r) => /kept|changed since/i.test(r));
    void vscode.window.showInformationMessage(
      `autogate: rolled back ${result.checkpoint ?? which}: ${result.changes.length} change(s)${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
    );
  }

  /** Test-only: proposes the WorkspaceEdit (or `{edit, intent?, source?}`) in a JSON file. */
  async proposeFromFile(): Promise<void> {
    const file = vscode.workspace.getConfiguration('autogate').get<string>('test.proposalFile') || process.env.AUTOGATE_TEST_PROPOSAL;
    if (!file) {
      void vscode.window.showErrorMessage('autogate: set autogate.test.proposalFile (or AUTOGATE_TEST_PROPOSAL) to a JSON file.');
      return;
    }
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      void vscode.window.showErrorMessage(`autogate: cannot read ${file}: ${errorText(e)}`);
      return;
    }
    const args = 'edit' in value ? value : { edit: value, source: 'autogate.ui.proposeFromFile' };
    const result = await this.run<Summary>(Commands.proposeEdit, args);
    if (result) this.output.appendLine(`proposeFromFile: ${JSON.stringify(result)}`);
  }
}

let running: Autogate | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const app = new Autogate(context);
  running = app;
  const reg = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };
  context.subscriptions.push(
    app.output,
    app.status,
    vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, app.proposed),
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, {
      onDidChange: app.reportChanged.event,
      provideTextDocumentContent: (uri) =>
        app.reports.get(new URLSearchParams(uri.query).get('id') ?? '') ?? 'autogate: run "autogate: Explain change" again.',
    }),
    vscode.window.createTreeView('autogate.pending', { treeDataProvider: app.tree }),
    (app.checkpointsView = vscode.window.createTreeView('autogate.checkpoints', { treeDataProvider: app.checkpoints })),
    (app.auditView = vscode.window.createTreeView('autogate.audit', { treeDataProvider: app.audit })),
    (app.approvalsView = vscode.window.createTreeView('autogate.approvals', { treeDataProvider: app.approvals })),
  );
  reg('autogate.ui.review', async (arg) => {
    const id = await app.target(arg, 'review');
    if (id) await app.review(id);
  });
  reg('autogate.ui.explain', async (arg) => {
    const id = await app.target(arg, 'explain');
    if (id) await app.explain(id);
  });
  reg('autogate.ui.approve', async (arg) => {
    const id = await app.target(arg, 'approve');
    if (id) await app.approve(id);
  });
  reg('autogate.ui.approveAlways', async (arg) => {
    const id = await app.target(arg, 'approve always');
    if (id) await app.approveAlways(id);
  });
  reg('autogate.ui.reject', async (arg) => {
    const id = await app.target(arg, 'reject');
    if (id) await app.reject(id);
  });
  reg('autogate.ui.approveAllLow', () => app.approveAllLow());
  reg('autogate.ui.pending', async () => {
    const id = await app.target(undefined, 'review');
    if (id) await app.review(id);
  });
  reg('autogate.ui.setMode', () => app.setMode());
  reg('autogate.ui.run', () => app.runTask());
  reg('autogate.ui.rollback', (arg) => app.rollback(typeof arg === 'string' ? arg : undefined));
  reg('autogate.ui.refreshHistory', () => app.refreshHistory());
  reg('autogate.ui.revokeApproval', (arg) => app.revokeApproval(arg));
  reg('autogate.ui.refreshApprovals', () => app.refreshApprovals());
  reg('autogate.ui.showOutput', () => app.output.show(true));
  reg('autogate.ui.restart', async () => {
    await app.stop();
    await app.start();
  });
  reg('autogate.ui.proposeFromFile', () => app.proposeFromFile());
  context.subscriptions.push(
    vscode.workspace.onDidChangeWorkspaceFolders(async () => {
      await app.stop();
      await app.start();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('autogate.server.path')) {
        await app.stop();
        await app.start();
      } else if (['mode', 'autoUpTo', 'denyFrom', 'protected'].some((k) => e.affectsConfiguration(`autogate.${k}`))) {
        // Without a restart: a restart would forget the pending changes.
        await app.sendOverrides();
        const mode = vscode.workspace.getConfiguration('autogate').get<string>('mode');
        if (mode && e.affectsConfiguration('autogate.mode')) await app.applyMode(mode);
      }
    }),
  );
  await app.start();
}

/** Stops the server; VS Code waits for it, so the server gets its `shutdown` and `exit`. */
export function deactivate(): Promise<void> | undefined {
  const app = running;
  running = undefined;
  return app?.stop();
}
