// Drives code-server with Playwright: the extension's review flow as a person would use it.
// Started by e2e/run.sh, which passes URL, WS, PROPOSAL, ARTIFACTS and PLAYWRIGHT_CORE.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const { URL, WS, PROPOSAL, ARTIFACTS } = process.env;
const results = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fileUri = (rel) => 'file://' + path.join(WS, rel);
const read = (rel) => fs.readFileSync(path.join(WS, rel), 'utf8');

async function check(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name} (${Date.now() - t} ms)\n     ${String(e && e.message ? e.message : e).split('\n').join('\n     ')}`);
    throw e;
  }
}

async function until(what, fn, timeout = 20000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last !== undefined ? ` (last: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
}

/** Writes the WorkspaceEdit the test command proposes next. */
function propose(edit, intent) {
  fs.writeFileSync(PROPOSAL, JSON.stringify({ edit, intent, source: 'e2e' }));
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  page.setDefaultTimeout(20000);

  const statusBar = () => page.locator('.statusbar-item', { hasText: 'autogate:' }).first();
  const statusText = async () => (await statusBar().innerText()).replace(/\s+/g, ' ').trim();
  const activeEditorText = async () =>
    (await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');

  async function palette(title) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
  }

  /** Waits for the review of a change to `fileName` at `level`; returns the change id. */
  async function reviewTab(fileName, level = 'high') {
    return until(`the diff review of ${fileName}`, async () => {
      const tab = page.locator('.tab', { hasText: `(${level}) ${fileName}` });
      if ((await tab.count()) === 0 || (await page.locator('.monaco-diff-editor').count()) === 0) return false;
      const m = /change (\S+) \(/.exec(await tab.first().innerText());
      return m ? m[1] : false;
    });
  }

  async function titleButton(label) {
    const button = page.locator(`.editor-actions .action-label[aria-label^="${label}"]`).first();
    await button.waitFor({ state: 'visible' });
    return button;
  }

  try {
    await check('the workbench loads', async () => {
      await page.goto(URL);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    });

    await check('the status bar shows the mode and the pending count', async () => {
      await until('"autogate: auto · 0 pending"', async () => (await statusText()).includes('autogate: auto · 0 pending'), 30000);
    });

    await check('a file opens with Ctrl+P', async () => {
      await page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } });
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill('lib.rs');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'lib.rs' }).first().waitFor();
      await page.keyboard.press('Enter');
      await until('lib.rs in the editor', async () => (await activeEditorText()).includes('pub fn add'));
    });

    await check('a medium-risk change (development) is applied in the editor without asking', async () => {
      propose({ changes: { [fileUri('src/lib.rs')]: [
        { range: { start: { line: 2, character: 4 }, end: { line: 2, character: 9 } }, newText: 'a.wrapping_add(b)' },
      ] } }, 'use wrapping arithmetic');
      await palette('autogate: Propose edit from file (test)');
      await until('wrapping_add in the editor', async () => (await activeEditorText()).includes('a.wrapping_add(b)'));
      if ((await statusText()).includes('1 pending')) throw new Error('the auto change was held as pending');
    });

    const cargoBefore = read('Cargo.toml');
    await check('a high-risk change (Cargo.toml) opens the diff review', async () => {
      propose({ changes: { [fileUri('Cargo.toml')]: [
        { range: { start: { line: 6, character: 0 }, end: { line: 6, character: 0 } }, newText: 'serde = "1"\n' },
      ] } }, 'add serde');
      await palette('autogate: Propose edit from file (test)');
      await reviewTab('Cargo.toml');
      await until('the proposed line in the review', async () =>
        (await page.locator('.monaco-diff-editor').first().innerText()).replace(/\u00a0/g, ' ').includes('serde = "1"'));
      await until('"1 pending" in the status bar', async () => (await statusText()).includes('· 1 pending'));
      if (read('Cargo.toml') !== cargoBefore) throw new Error('Cargo.toml was written before approval');
      await sleep(500);
      await page.screenshot({ path: path.join(ARTIFACTS, 'review.png') });
    });

    await check('Approve applies the change to Cargo.toml and closes the review', async () => {
      await (await titleButton('Approve change')).click();
      await until('serde in Cargo.toml on disk', async () => read('Cargo.toml').includes('serde = "1"'));
      await until('the review to close', async () => (await page.locator('.tab', { hasText: '(high) Cargo.toml' }).count()) === 0);
      await until('"0 pending"', async () => (await statusText()).includes('· 0 pending'));
    });

    await check('Checkpoints and Audit log: rows from the audit trail and a click rolls back, or the empty state of a server without them', async () => {
      await page.locator('.activitybar .action-item .action-label[aria-label^="autogate"]').first().click();
      const pane = (title) => page.locator('.pane', { has: page.locator('.pane-header', { hasText: title }) });
      const legacy = page.getByText('Checkpoints arrive with the safety net');
      const rows = pane('Checkpoints').locator('.monaco-list-row');
      const kind = await until('checkpoint rows or the safety-net message', async () =>
        (await legacy.count()) > 0 ? 'legacy' : (await rows.count()) > 0 ? 'history' : false);
      if (kind === 'legacy') {
        await page.getByText('The audit log arrives with the safety net').waitFor();
        await page.screenshot({ path: path.join(ARTIFACTS, 'views.png') });
        await palette('autogate: Roll back a checkpoint');
        await page.locator('.monaco-dialog-box').getByRole('button', { name: 'Roll back' }).click();
        await page.locator('.notification-toast', { hasText: 'rollback is not available yet' }).waitFor();
      } else {
        await pane('Audit log').locator('.monaco-list-row', { hasText: 'approved' }).first().waitFor();
        await page.screenshot({ path: path.join(ARTIFACTS, 'views.png') });
        // The views refresh after every command: a click that lands during a re-render selects
        // nothing, so click the row until the confirmation dialog is up.
        const confirm = page.locator('.monaco-dialog-box').getByRole('button', { name: 'Roll back' });
        await until('the rollback confirmation after a click on the checkpoint row', async () => {
          if ((await confirm.count()) > 0) return true;
          await rows.first().click();
          await sleep(1000);
          return (await confirm.count()) > 0;
        }, 30000);
        await confirm.click();
        await until('serde gone from Cargo.toml on disk', async () => !read('Cargo.toml').includes('serde'));
        await pane('Checkpoints').locator('.monaco-list-row', { hasText: 'rolled back' }).first().waitFor();
      }
      // Back to the Explorer, so that the autogate icon opens the container again later.
      await page.keyboard.press('Control+Shift+E');
    });

    await check('Reject leaves Cargo.toml unchanged', async () => {
      const before = read('Cargo.toml');
      propose({ changes: { [fileUri('Cargo.toml')]: [
        { range: { start: { line: 6, character: 0 }, end: { line: 6, character: 0 } }, newText: 'rand = "0.8"\n' },
      ] } }, 'add rand');
      await palette('autogate: Propose edit from file (test)');
      await reviewTab('Cargo.toml');
      await page.screenshot({ path: path.join(ARTIFACTS, 'review-reject.png') });
      await (await titleButton('Explain change')).click();
      await until('the explain page', async () => {
        const text = (await activeEditorText()).replace(/\s+/g, ' ');
        return text.includes('## Reasons') && text.includes('is protected');
      });
      await page.screenshot({ path: path.join(ARTIFACTS, 'explain.png') });
      // The explain page opened beside: back to the review, whose title has the buttons.
      await page.locator('.tab', { hasText: '(high) Cargo.toml' }).first().click();
      await (await titleButton('Reject change')).click();
      await until('the review to close', async () => (await page.locator('.tab', { hasText: '(high) Cargo.toml' }).count()) === 0);
      await until('"0 pending"', async () => (await statusText()).includes('· 0 pending'));
      await sleep(1000);
      if (read('Cargo.toml') !== before) throw new Error(`Cargo.toml changed:\n${read('Cargo.toml')}`);
    });

    await check('the status bar switches the mode to ask', async () => {
      await statusBar().click();
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill('ask');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'ask' }).first().waitFor();
      await page.keyboard.press('Enter');
      await until('"autogate: ask · 0 pending"', async () => (await statusText()).includes('autogate: ask · 0 pending'));
    });

    await check('in ask mode a lib.rs change waits in the Pending view; "Approve all low" takes only low ones; the row\'s Approve applies it', async () => {
      propose({ changes: { [fileUri('src/lib.rs')]: [
        { range: { start: { line: 6, character: 4 }, end: { line: 6, character: 6 } }, newText: '40 + 1' },
      ] } }, 'spell out the answer');
      await palette('autogate: Propose edit from file (test)');
      const tab = await until('the review of src/lib.rs', async () => {
        const t = page.locator('.tab', { hasText: 'src/lib.rs' }).filter({ hasText: 'autogate: change' });
        return (await t.count()) > 0 ? (await t.first().innerText()) : false;
      });
      const [, id, level] = /change (\S+) \((\w+)\)/.exec(tab);
      await page.locator('.activitybar .action-item .action-label[aria-label^="autogate"]').first().click();
      const row = page.locator('.pane-body .monaco-list-row', { hasText: `change ${id} · src/lib.rs` });
      await row.waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'pending-view.png') });
      await palette('autogate: Approve all low-risk changes');
      if (level === 'low') {
        await until('"0 pending"', async () => (await statusText()).includes('· 0 pending'));
      } else {
        await sleep(1000);
        if (!(await statusText()).includes('· 1 pending')) throw new Error(`"Approve all low" approved a ${level} change`);
        await row.hover();
        await row.locator('.action-label[aria-label^="Approve change"]').click();
        await until('"0 pending"', async () => (await statusText()).includes('· 0 pending'));
      }
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget input').fill('lib.rs');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'lib.rs' }).first().waitFor();
      await page.keyboard.press('Enter');
      await until('the new body in the editor', async () => (await activeEditorText()).includes('40 + 1'));
    });

    await check("the notification's Approve button applies a change", async () => {
      propose({ changes: { [fileUri('Cargo.toml')]: [
        { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, newText: '# reviewed\n' },
      ] } }, 'add a comment to the manifest');
      await palette('autogate: Propose edit from file (test)');
      const id = await reviewTab('Cargo.toml');
      const toast = page.locator('.notification-toast', { hasText: `change ${id} (high` });
      await toast.getByRole('button', { name: 'Approve' }).click();
      await until('the comment in Cargo.toml on disk', async () => read('Cargo.toml').startsWith('# reviewed\n'));
      await until('"0 pending"', async () => (await statusText()).includes('· 0 pending'));
    });

    await check("the diagnostics' code actions: Show diff opens the native review, Approve applies", async () => {
      propose({ changes: { [fileUri('Cargo.toml')]: [
        { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, newText: '# quick fix\n' },
      ] } }, 'one more comment');
      await palette('autogate: Propose edit from file (test)');
      const id = await reviewTab('Cargo.toml');
      await page.keyboard.press('Control+W');
      await until('the review to close', async () => (await page.locator('.tab', { hasText: '(high) Cargo.toml' }).count()) === 0);
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget input').fill('Cargo.toml');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Cargo.toml' }).first().waitFor();
      await page.keyboard.press('Enter');
      await until('Cargo.toml in the editor', async () => (await activeEditorText()).includes('[package]'));
      const quickFix = async (title) => {
        await page.keyboard.press('Control+.');
        await page.locator('.action-widget .monaco-list-row', { hasText: title }).first().waitFor();
        // The widget's pointer block swallows clicks: choose with the keyboard, as people do.
        for (let i = 0; i < 12; i++) {
          const focused = page.locator('.action-widget .monaco-list-row.focused');
          if ((await focused.count()) > 0 && (await focused.first().innerText()).includes(title)) break;
          await page.keyboard.press('ArrowDown');
          await sleep(50);
        }
        await page.keyboard.press('Enter');
      };
      await quickFix(`Show diff of change ${id}`);
      await reviewTab('Cargo.toml');
      await page.keyboard.press('Control+W');
      await until('Cargo.toml in the editor', async () => (await activeEditorText()).includes('[package]'));
      await quickFix(`Approve change ${id}`);
      await until('the comment in the editor', async () => (await activeEditorText()).includes('# quick fix'));
      await until('"0 pending"', async () => (await statusText()).includes('· 0 pending'));
    });

    await check('Run task shows what the server answers, errors verbatim', async () => {
      await palette('autogate: Run task');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible' });
      await input.fill('add doc comments');
      await page.keyboard.press('Enter');
      // No [llm] provider in this workspace: a free-text task is refused, listing the built-ins.
      await until('the answer to a free-text task', async () =>
        (await page.locator('.notification-toast', { hasText: 'no LLM provider is configured' }).count()) > 0);
      // A built-in runs on the open file and reports through the status bar.
      await palette('autogate: Run task');
      await input.waitFor({ state: 'visible' });
      await input.fill('tidy');
      await page.keyboard.press('Enter');
      await until('the task to start', async () =>
        (await page.locator('.statusbar', { hasText: /autogate: task \S+ started/ }).count()) > 0);
    });

    await check('a wrong autogate.server.path says what to fix; fixing it restarts the server', async () => {
      // As a person would: the Settings editor.
      await palette('Preferences: Open User Settings');
      const search = page.locator('.settings-editor .suggest-input-container textarea, .settings-editor .search-container textarea').first();
      await search.waitFor({ state: 'visible' });
      await search.fill('autogate.server.path');
      const input = page.locator('.settings-editor .setting-item-contents', { hasText: 'Path to the' }).locator('input').first();
      await input.waitFor({ state: 'visible' });
      const good = await input.inputValue();
      await input.fill('/nonexistent/autogate');
      await page.keyboard.press('Tab');
      await page.locator('.notification-toast', { hasText: 'autogate.server.path points to /nonexistent/autogate' }).waitFor();
      await until('"autogate: no server"', async () => (await statusText()).includes('autogate: no server'));
      await page.screenshot({ path: path.join(ARTIFACTS, 'no-server.png') });
      await input.fill(good);
      await page.keyboard.press('Tab');
      await until('the server back', async () => /autogate: \w+ · 0 pending/.test(await statusText()));
    });
  } catch {
    await page.screenshot({ path: path.join(ARTIFACTS, 'failure.png') }).catch(() => {});
  } finally {
    await browser.close();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  console.log(`0 passed, 1 failed`);
  process.exit(1);
});
