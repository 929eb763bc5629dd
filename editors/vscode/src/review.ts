/**
 * The native diff review: an `autogate-proposed:` document holds the proposed text of one file
 * of one change, rebuilt by applying the change's unified diff (from `autogate.explain`) to the
 * file's current text, and `vscode.diff` shows it against the real file.
 */

import * as vscode from 'vscode';
import type { Level } from './protocol';
import { applyFilePatch, findFilePatch, parseUnifiedDiff } from './diff';
import { PROPOSED_SCHEME, errorText, parseProposedQuery, proposedUriParts, reviewTitle } from './model';

export interface ReviewedChange {
  id: string;
  level: Level;
  hash: string;
  diff: string;
}

export class ProposedContentProvider implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** What was explained, by change id: the approval is bound to this hash. */
  readonly changes = new Map<string, ReviewedChange>();

  constructor(private readonly root: () => vscode.Uri | undefined) {}

  remember(change: ReviewedChange): void {
    this.changes.set(change.id, change);
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme === PROPOSED_SCHEME && parseProposedQuery(doc.uri.query)?.id === change.id) {
        this.changed.fire(doc.uri);
      }
    }
  }

  uri(id: string, file: string, side: 'after' | 'before' = 'after'): vscode.Uri {
    const { path, query } = proposedUriParts(id, file);
    return vscode.Uri.from({ scheme: PROPOSED_SCHEME, path, query: side === 'before' ? `${query}&side=before` : query });
  }

  fileUri(file: string): vscode.Uri | undefined {
    const root = this.root();
    return root ? vscode.Uri.joinPath(root, file) : undefined;
  }

  async currentText(file: string): Promise<string | undefined> {
    const uri = this.fileUri(file);
    if (!uri) return undefined;
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open) return open.getText();
    try {
      return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      return undefined;
    }
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = parseProposedQuery(uri.query);
    if (!q) return `autogate: not a proposed-change URI: ${uri.toString()}`;
    const before = uri.query.includes('side=before');
    const change = this.changes.get(q.id);
    if (!change) return before ? '' : `autogate: change ${q.id} is not loaded; open it from the Pending changes view.`;
    try {
      const patch = findFilePatch(parseUnifiedDiff(change.diff), q.file);
      if (!patch) throw new Error(`the diff of change ${q.id} has no file ${q.file}`);
      const original = patch.oldPath === undefined ? '' : ((await this.currentText(patch.oldPath)) ?? '');
      if (before) return original;
      if (patch.newPath === undefined) return '';
      return applyFilePatch(original, patch);
    } catch (e) {
      return `autogate: cannot rebuild the proposed text of ${q.file} (${errorText(e)}).\nThe change's diff, as the server sent it:\n\n${change.diff}`;
    }
  }

  /** Opens one diff editor per file of the change. */
  async open(change: ReviewedChange): Promise<void> {
    this.remember(change);
    const patches = parseUnifiedDiff(change.diff);
    if (patches.length === 0) {
      void vscode.window.showInformationMessage(`autogate: change ${change.id} has no textual difference to show.`);
      return;
    }
    for (const patch of patches) {
      const file = patch.newPath ?? patch.oldPath ?? '';
      // Both sides are snapshots: opening the real file would make it an open document,
      // and the review should not change how the server applies the change.
      const right = this.uri(change.id, file);
      const left = this.uri(change.id, file, 'before');
      const title = reviewTitle(change, file);
      await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: false });
    }
  }

  /** Closes the diff editors of a change (after it was approved or rejected). */
  async close(id: string): Promise<void> {
    const tabs: vscode.Tab[] = [];
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        const input = tab.input;
        if (
          input instanceof vscode.TabInputTextDiff &&
          input.modified.scheme === PROPOSED_SCHEME &&
          parseProposedQuery(input.modified.query)?.id === id
        ) {
          tabs.push(tab);
        }
      }
    }
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
    this.changes.delete(id);
  }
}
