import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logger.ts';
import {
  createNotifier,
  type SpawnFunction,
  watchdogIntervalFromEnv,
} from '../../src/adapters/systemd-notify.ts';
import { startTestSimulator } from '../helpers/simulator.ts';

/**
 * A stand-in for PID 1's notify socket: a Unix datagram socket (Node has none, Python does) that
 * prints each datagram as a JSON line. It closes the descriptors systemd-notify passes with
 * BARRIER=1, as PID 1 does, unless told to hold them (then the sender's barrier never completes)
 * or to be slow (it closes them a second late, as a busy PID 1 would).
 */
const RECEIVER = `
import array, json, os, socket, sys, threading
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
hold = sys.argv[2] == "hold"
slow = sys.argv[2] == "slow"
held = []
print(json.dumps({"listening": True}), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            if hold:
                held.extend(fds)
            elif slow:
                threading.Timer(1.0, lambda fds=list(fds): [os.close(fd) for fd in fds]).start()
            else:
                for fd in fds:
                    os.close(fd)
    print(json.dumps({"message": data.decode("utf-8", "replace")}), flush=True)
`;

interface Receiver {
  path: string;
  /** Every datagram so far, each split into its KEY=VALUE lines. */
  messages: string[][];
  /** Resolves with the first datagram (past or future) that contains `line`. */
  waitFor(line: string): Promise<string[]>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  // Short path: a Unix socket path must fit in 108 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'notify-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startReceiver(mode: 'close' | 'hold' | 'slow' = 'close'): Promise<Receiver> {
  const path = join(tempDir(), 'notify.sock');
  const child = spawn('python3', ['-c', RECEIVER, path, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  const messages: string[][] = [];
  const waiters: { line: string; resolve: (message: string[]) => void }[] = [];
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`receiver exited with ${code}`)));
    lines.on('line', (text) => {
      const event = JSON.parse(text) as { listening?: true; message?: string };
      if (event.listening) return resolve();
      const message = (event.message ?? '').split('\n');
      messages.push(message);
      for (const waiter of waiters.filter((w) => message.includes(w.line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    });
  });
  return {
    path,
    messages,
    waitFor: (line) => {
      const seen = messages.find((message) => message.includes(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ line, resolve }));
    },
  };
}

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

const PID = 4242;

describe('createNotifier over a real notify socket', () => {
  it('sends READY=1, WATCHDOG=1, STATUS= and STOPPING=1 in call order, naming our PID', async () => {
    const receiver = await startReceiver();
    const { logger, lines } = captureLogger();
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: receiver.path, PATH: process.env.PATH },
      logger,
      pid: PID,
    });
    expect(notifier.enabled).toBe(true);

    await notifier.ready('3 schedules loaded');
    expect(await receiver.waitFor('READY=1')).toEqual([
      `MAINPID=${PID}`,
      'READY=1',
      'STATUS=3 schedules loaded',
    ]);
    await notifier.watchdog();
    await notifier.status('tick late\nby 2s');
    await notifier.stopping();
    await receiver.waitFor('STOPPING=1');

    // systemd-notify follows each message with BARRIER=1 and waits until the fd it carries closes.
    const payloads = receiver.messages.filter((message) => !message.includes('BARRIER=1'));
    expect(payloads).toEqual([
      [`MAINPID=${PID}`, 'READY=1', 'STATUS=3 schedules loaded'],
      [`MAINPID=${PID}`, 'WATCHDOG=1'],
      [`MAINPID=${PID}`, 'STATUS=tick late by 2s'],
      [`MAINPID=${PID}`, 'STOPPING=1'],
    ]);
    expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('gives systemd-notify only PATH and NOTIFY_SOCKET, never the API password', async () => {
    const receiver = await startReceiver();
    const seen: NodeJS.ProcessEnv[] = [];
    const recordingSpawn: SpawnFunction = (command, args, options) => {
      seen.push({ ...options.env });
      return spawn(command, args, options);
    };
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: receiver.path, PATH: process.env.PATH, CODESHIP_PASSWORD: 'hunter2' },
      logger: captureLogger().logger,
      spawn: recordingSpawn,
    });
    await notifier.watchdog();
    await receiver.waitFor('WATCHDOG=1');
    expect(seen).toEqual([{ PATH: process.env.PATH, NOTIFY_SOCKET: receiver.path }]);
  });

  it('warns once and resolves when the socket is gone', async () => {
    const { logger, lines } = captureLogger();
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: join(tempDir(), 'absent.sock'), PATH: process.env.PATH },
      logger,
    });
    await expect(notifier.ready()).resolves.toBeUndefined();
    await expect(notifier.watchdog()).resolves.toBeUndefined();
    const warnings = lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      component: 'systemd-notify',
      msg: 'systemd-notify failed; systemd may not see readiness or watchdog pings',
      message: ['READY=1'],
    });
    expect(lines.filter((line) => line.level === 'debug')).toMatchObject([
      { msg: 'systemd-notify failed', message: ['WATCHDOG=1'] },
    ]);
  });

  it('warns when systemd-notify is not installed', async () => {
    const { logger, lines } = captureLogger();
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: join(tempDir(), 'n.sock'), PATH: tempDir() },
      logger,
    });
    await notifier.ready();
    expect(lines.filter((line) => line.level === 'warn')).toMatchObject([
      {
        msg: 'systemd-notify not found on PATH (install the systemd package); systemd may not see readiness or watchdog pings',
      },
    ]);
  });

  it('kills a systemd-notify whose barrier never completes', async () => {
    const receiver = await startReceiver('hold');
    const { logger, lines } = captureLogger();
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: receiver.path, PATH: process.env.PATH },
      logger,
      timeoutMs: 300,
    });
    await notifier.ready();
    expect(await receiver.waitFor('READY=1')).toContain('READY=1');
    expect(lines.filter((line) => line.level === 'warn')).toMatchObject([
      { msg: 'systemd-notify timed out; systemd may not see readiness or watchdog pings' },
    ]);
  });
});

describe('createNotifier without NOTIFY_SOCKET', () => {
  it('is disabled and spawns nothing', async () => {
    const spawned: string[] = [];
    const notifier = createNotifier({
      env: { WATCHDOG_USEC: '60000000', PATH: process.env.PATH },
      logger: captureLogger().logger,
      spawn: (command, args, options) => {
        spawned.push(command);
        return spawn(command, args, options);
      },
    });
    expect(notifier.enabled).toBe(false);
    expect(notifier.watchdogIntervalMs).toBeNull();
    await notifier.ready('up');
    await notifier.watchdog();
    await notifier.stopping();
    expect(spawned).toEqual([]);
  });
});

describe('watchdogIntervalFromEnv', () => {
  it.each([
    [{ WATCHDOG_USEC: '60000000' }, 30_000],
    [{ WATCHDOG_USEC: '60000000', WATCHDOG_PID: String(PID) }, 30_000],
    [{ WATCHDOG_USEC: '60000000', WATCHDOG_PID: '1' }, null],
    [{ WATCHDOG_USEC: '1500' }, 1],
    [{ WATCHDOG_USEC: '0' }, null],
    [{ WATCHDOG_USEC: '60s' }, null],
    [{}, null],
  ])('%j -> %s', (env, expected) => {
    expect(watchdogIntervalFromEnv(env, PID)).toBe(expected);
  });

  it('is what the notifier exposes when enabled', () => {
    const notifier = createNotifier({
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '60000000' },
      logger: captureLogger().logger,
      pid: PID,
    });
    expect(notifier.watchdogIntervalMs).toBe(30_000);
  });
});

describe('the daemon under a service manager', () => {
  async function startDaemon(receiver: Receiver) {
    const sim = await startTestSimulator();
    cleanups.push(() => void sim.close());
    const dir = tempDir();
    writeFileSync(
      join(dir, 'nightly.yaml'),
      'schedules:\n  - { name: nightly, cron: "0 2 * * *", project: acme/api, branch: main }\n',
    );
    const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
    const child = spawn(process.execPath, [cli, 'run'], {
      env: {
        PATH: process.env.PATH,
        NOTIFY_SOCKET: receiver.path,
        WATCHDOG_USEC: '2000000', // ping every second
        CODESHIP_API_URL: sim.url,
        CODESHIP_USERNAME: 'demo@example.com',
        CODESHIP_PASSWORD: 'demo-password',
        SCHEDULES_DIR: dir,
        DATABASE_PATH: join(dir, 'ledger.sqlite'),
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    cleanups.push(() => child.kill('SIGKILL'));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    return { child, exited };
  }

  it('sends READY=1 once started, WATCHDOG=1 pings while its loop runs, STOPPING=1 on SIGTERM', {
    timeout: 30_000,
  }, async () => {
    const receiver = await startReceiver();
    const { child, exited } = await startDaemon(receiver);
    const ready = await receiver.waitFor('READY=1');
    expect(ready).toContain(`MAINPID=${child.pid}`);
    await receiver.waitFor('WATCHDOG=1');
    const pings = () => receiver.messages.filter((m) => m.includes('WATCHDOG=1')).length;
    const first = pings();
    while (pings() < first + 1) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGTERM');
    await receiver.waitFor('STOPPING=1');
    expect(await exited).toBe(0);
  });

  it('sends STOPPING=1 before it exits while a watchdog ping still waits on its barrier', {
    timeout: 30_000,
  }, async () => {
    const receiver = await startReceiver('slow');
    const { child, exited } = await startDaemon(receiver);
    await receiver.waitFor('WATCHDOG=1');
    // Its systemd-notify waits a second for the barrier: STOPPING=1 queues behind it.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The datagram went out before the exit; its line may still be on its way to us.
    const heard = await Promise.race([
      receiver.waitFor('STOPPING=1').then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 2000)),
    ]);
    expect(heard).toBe(true);
  });
});
