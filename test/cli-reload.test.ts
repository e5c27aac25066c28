/**
 * Reloading schedules in the running daemon, as an operator does it: editing files in the
 * watched folder, and SIGHUP. A file that stops validating keeps its previous version running
 * and its errors are logged; a removed file's schedules stop; SIGTERM then stops cleanly.
 */
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LogLine, startDaemon } from './helpers/daemon-process.ts';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';

let sim: TestSimulator | undefined;
let stopDaemon: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'codeship-cron-reload-'));
afterAll(async () => {
  stopDaemon?.(); // a failed run must not leave its daemon behind
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const entry = (name: string, cron = '0 2 * * *') =>
  `schedules:\n  - { name: ${name}, cron: "${cron}", project: acme/api, branch: main }\n`;

const reloads = (lines: LogLine[]) => lines.filter((l) => l.msg === 'schedules reloaded');

describe('reloading schedules in the running daemon', { timeout: 30_000 }, () => {
  it('follows edits in the folder and SIGHUP, keeping the last good version of a broken file', async () => {
    sim = await startTestSimulator();
    const schedules = join(dir, 'schedules');
    mkdirSync(schedules);
    writeFileSync(join(schedules, 'a.yaml'), entry('alpha'));
    const daemon = startDaemon({
      env: {
        PATH: process.env.PATH,
        CODESHIP_API_URL: sim.url,
        CODESHIP_USERNAME: 'demo@example.com',
        CODESHIP_PASSWORD: 'demo-password',
        SCHEDULES_DIR: schedules,
        DATABASE_PATH: join(dir, 'ledger.sqlite'),
      },
      cwd: dir,
      logFile: join(dir, 'daemon.log'),
      label: 'reload',
    });
    stopDaemon = () => daemon.child.kill('SIGKILL');
    await daemon.waitFor((l) => l.msg === 'first tick planned', 10_000);

    // A new file in the watched folder is picked up without a signal.
    writeFileSync(join(schedules, 'b.yaml'), entry('beta'));
    const added = await daemon.waitFor(
      (l) => l.msg === 'schedules reloaded' && String(l.added) === 'beta',
      10_000,
    );
    expect(added).toMatchObject({ schedules: 2, removed: [], kept: [] });

    // A broken edit: the previous version of b.yaml keeps running, the problem is logged.
    writeFileSync(join(schedules, 'b.yaml'), entry('beta', '61 2 * * *'));
    const kept = await daemon.waitFor(
      (l) =>
        l.msg === 'schedules reloaded' &&
        Array.isArray(l.kept) &&
        (l.kept as string[]).length === 1,
      10_000,
    );
    expect(kept).toMatchObject({ schedules: 2, added: [], removed: [] });
    const problem = daemon.lines.find((l) => l.msg === 'schedule file invalid');
    expect(String(problem?.problem)).toMatch(/b\.yaml:2: schedule beta: cron: /);

    // Removing a file stops its schedules; SIGHUP reloads on demand.
    unlinkSync(join(schedules, 'a.yaml'));
    await daemon.waitFor(
      (l) => l.msg === 'schedules reloaded' && String(l.removed) === 'alpha',
      10_000,
    );
    const before = reloads(daemon.lines).length;
    daemon.child.kill('SIGHUP');
    await daemon.waitFor(() => reloads(daemon.lines).length > before, 10_000);

    daemon.child.kill('SIGTERM');
    const end = await daemon.exited;
    expect(end.code).toBe(0);
    expect(daemon.lines.at(-1)?.msg).toBe('daemon stopped');
  });

  it('re-arms the watch when the folder is removed and created again, and logs a duplicate an invalid file hides', async () => {
    sim ??= await startTestSimulator();
    const schedules = join(dir, 'rearm');
    mkdirSync(schedules);
    writeFileSync(join(schedules, 'm.yaml'), entry('dupx'));
    const daemon = startDaemon({
      env: {
        PATH: process.env.PATH,
        CODESHIP_API_URL: sim.url,
        CODESHIP_USERNAME: 'demo@example.com',
        CODESHIP_PASSWORD: 'demo-password',
        SCHEDULES_DIR: schedules,
        DATABASE_PATH: join(dir, 'rearm.sqlite'),
      },
      cwd: dir,
      logFile: join(dir, 'rearm.log'),
      label: 'rearm',
    });
    stopDaemon = () => daemon.child.kill('SIGKILL');
    await daemon.waitFor((l) => l.msg === 'first tick planned', 10_000);

    // A deploy swaps the folder: the old watch dies with it; the new folder is watched again.
    rmSync(schedules, { recursive: true });
    await daemon.waitFor(
      (l) => l.msg === 'schedule folder is gone; watching for it to come back',
      10_000,
    );
    mkdirSync(schedules);
    writeFileSync(join(schedules, 'm.yaml'), entry('dupx'));
    const rearmed = await daemon.waitFor((l) => l.msg === 'schedule folder watch re-armed', 10_000);
    expect(rearmed).toMatchObject({ level: 'info', dir: schedules });
    writeFileSync(join(schedules, 'z.yaml'), entry('zeta'));
    await daemon.waitFor(
      (l) => l.msg === 'schedules reloaded' && String(l.added) === 'zeta',
      10_000,
    );

    // m.yaml breaks (its old version keeps running) and n.yaml defines dupx too: said in the log.
    writeFileSync(join(schedules, 'm.yaml'), 'schedules: [\n');
    await daemon.waitFor(
      (l) => l.msg === 'schedules reloaded' && String(l.kept).endsWith('m.yaml'),
      10_000,
    );
    writeFileSync(join(schedules, 'n.yaml'), entry('dupx', '@hourly'));
    const duplicate = await daemon.waitFor(
      (l) => l.msg === 'schedule file invalid' && String(l.problem).includes('n.yaml'),
      10_000,
    );
    expect(duplicate.problem).toBe(
      `${join(schedules, 'n.yaml')}:2: schedule dupx: name: duplicate name "dupx" (expected names unique across all files; first defined at ${join(schedules, 'm.yaml')}:2, whose previous version still runs because the file is now invalid)`,
    );
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });
});
