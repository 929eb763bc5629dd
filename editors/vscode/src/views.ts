/** The `autogate` activity-bar views: pending changes, checkpoints, audit log. */

import * as vscode from 'vscode';
import type { Row } from './model';

export class PendingTree implements vscode.TreeDataProvider<Row> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: Row[] = [];

  set(rows: Row[]): void {
    this.rows = rows;
    this.changed.fire();
  }

  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.contextValue = row.contextValue;
    item.command = { command: 'autogate.ui.review', title: 'Review', arguments: [row.id] };
    return item;
  }

  getChildren(): Row[] {
    return this.rows;
  }
}

/** A view with nothing in it yet: its `viewsWelcome` text says why. */
export class EmptyTree implements vscode.TreeDataProvider<never> {
  getTreeItem(element: never): vscode.TreeItem {
    return element;
  }
  getChildren(): never[] {
    return [];
  }
}
