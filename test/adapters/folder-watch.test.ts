/**
 * The schedule folder watch on a real folder: it keeps reporting edits after the folder is
 * removed and created again, and says so in the log.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { type FolderWatch, watchScheduleFolder } from '../../src/adapters/folder-watch.ts';
import { createLogger } from '../../src/adapters/logger.ts';

let root: string;
let watch: FolderWatch | undefined;
afterEach(() => {
  watch?.close();
  rmSync(root, { recursive: true, force: true });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

/** Resolves when `predicate` holds, polling every 20 ms; fails after `ms`. */
async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('re-arms when the folder is removed and created again, and logs it', async () => {
  root = mkdtempSync(join(tmpdir(), 'folder-watch-'));
  const dir = join(root, 'schedules');
  mkdirSync(dir);
  const { lines, logger } = capture();
  let changes = 0;
  watch = watchScheduleFolder(dir, logger, () => changes++, { pollMs: 50 });
  writeFileSync(join(dir, 'a.yaml'), 'schedules: []\n');
  await until(() => changes === 1);

  rmSync(dir, { recursive: true });
  await until(() =>
    lines.some((l) => l.msg === 'schedule folder is gone; watching for it to come back'),
  );
  mkdirSync(dir);
  await until(() => lines.some((l) => l.msg === 'schedule folder watch re-armed'));
  expect(lines.find((l) => l.msg === 'schedule folder watch re-armed')).toMatchObject({
    level: 'info',
    dir,
  });
  await until(() => changes >= 2);
  const before = changes;
  // Edits in the new folder are seen by the re-armed watch.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const settled = changes;
  expect(settled).toBeGreaterThanOrEqual(before);
  writeFileSync(join(dir, 'b.yaml'), 'schedules: []\n');
  await until(() => changes > settled);
});
