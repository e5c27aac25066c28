/**
 * Two built daemons on one PostgreSQL ledger, each with its HTTP server: /readyz says which is
 * leader and which standby (both ready), /metrics has `codeship_cron_leader` 1 and 0 with the
 * instance names, /healthz is fine on the standby (it runs no loop to stall), the page says who
 * leads, and the logs say when leadership changed and why. A SIGTERMed leader releases the lease
 * and the standby takes over at its next poll.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { byMsg, type DaemonRun, startDaemon, timeOf } from './helpers/daemon-process.ts';
import { startTestSimulator, type TestSimulator } from './helpers/simulator.ts';
import { usePostgres } from './helpers/stores.ts';

const server = usePostgres();
let sim: TestSimulator | null = null;
const runs: DaemonRun[] = [];

afterEach(async () => {
  for (const run of runs)
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await sim?.close();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

it('says who leads on /readyz, /metrics, /healthz and the page; a stopped leader hands over', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-probes-'));
  const schedulesDir = join(dir, 'schedules');
  mkdirSync(schedulesDir);
  writeFileSync(
    join(schedulesDir, 'ha.yaml'),
    'schedules:\n  - name: hourly\n    cron: "0 * * * *"\n    project: acme/api\n    branch: main\n',
  );
  const url = (await server().createDatabase('probes')).replace(
    'postgres@',
    'postgres:hush-secret-1@',
  );
  sim = await startTestSimulator();
  const ports = { a: await freePort(), b: await freePort() };
  const start = (instance: 'a' | 'b') => {
    const run = startDaemon({
      env: {
        PATH: process.env.PATH ?? '',
        CODESHIP_API_URL: (sim as TestSimulator).url,
        CODESHIP_USERNAME: 'demo@example.com',
        CODESHIP_PASSWORD: 'demo-password',
        CODESHIP_ORGANIZATION: 'acme',
        SCHEDULES_DIR: schedulesDir,
        DATABASE_URL: url,
        INSTANCE_NAME: instance,
        HTTP_ADDR: `127.0.0.1:${ports[instance]}`,
        LOG_LEVEL: 'info',
      },
      cwd: dir,
      logFile: join(dir, 'daemons.log'),
      label: instance,
    });
    runs.push(run);
    return run;
  };
  const get = async (instance: 'a' | 'b', path: string) => {
    const res = await fetch(`http://127.0.0.1:${ports[instance]}${path}`);
    return { status: res.status, text: await res.text() };
  };
  const a = start('a');
  await a.waitFor(byMsg('first tick planned'), 15_000);
  const b = start('b');
  await b.waitFor(byMsg('standing by'), 15_000);
  await b.waitFor(byMsg('http server listening'), 15_000).catch(() => undefined);

  const readyA = await get('a', '/readyz');
  const readyB = await get('b', '/readyz');
  expect(readyA.status).toBe(200);
  expect(readyB.status).toBe(200);
  expect(JSON.parse(readyA.text)).toMatchObject({ role: 'leader', instance: 'a', leader: 'a' });
  expect(JSON.parse(readyB.text)).toMatchObject({ role: 'standby', instance: 'b', leader: 'a' });
  expect((await get('a', '/metrics')).text).toMatch(/^codeship_cron_leader\{instance="a"\} 1$/m);
  expect((await get('b', '/metrics')).text).toMatch(/^codeship_cron_leader\{instance="b"\} 0$/m);
  expect((await get('b', '/healthz')).status).toBe(200);
  expect((await get('a', '/')).text).toContain('leader: a (this instance)');
  expect((await get('b', '/')).text).toContain('standby b, leader: a');
  // The password is in no log line, no page and no probe answer.
  for (const text of [readyA.text, readyB.text, (await get('b', '/')).text])
    expect(text).not.toContain('hush-secret-1');

  const stoppedAt = Date.now();
  a.child.kill('SIGTERM');
  expect(await a.exited).toEqual({ code: 0, signal: null });
  const took = await b.waitFor(byMsg('leadership acquired'), 10_000);
  // Released on shutdown: taken at the standby's next poll, not after the lease's expiry.
  expect(timeOf(took).getTime() - stoppedAt).toBeLessThan(5000);
  expect(a.lines.find(byMsg('leadership released'))).toMatchObject({ reason: 'shutting down' });
  expect(took).toMatchObject({ instance: 'b', reason: expect.stringContaining('lease of a') });
  expect(JSON.parse((await get('b', '/readyz')).text)).toMatchObject({ role: 'leader' });
  b.child.kill('SIGTERM');
  expect(await b.exited).toEqual({ code: 0, signal: null });
  const logs = JSON.stringify([...a.lines, ...b.lines]);
  expect(logs).not.toContain('hush-secret-1');
  expect(logs).toContain('postgres:***@');
  rmSync(dir, { recursive: true, force: true });
});
