/** The `autogate` activity-bar views: pending changes, checkpoints, audit log. */

import * as vscode from 'vscode';
import type { Row } from './model';

/** A flat list of rows; `commandOf` says what a click does. */
export class RowTree implements vscode.TreeDataProvider<Row> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private rows: Row[] = [];

  constructor(private readonly commandOf: (row: Row) => vscode.Command | undefined) {}

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
    item.command = this.commandOf(row);
    return item;
  }

  getChildren(): Row[] {
    return this.rows;
  }
}
