/**
 * sd_notify for the daemon: READY=1, WATCHDOG=1, STOPPING=1 and STATUS= to systemd when it runs us
 * as `Type=notify`. Node has no Unix datagram sockets, so each message is sent by spawning the stock
 * `systemd-notify` (Debian's systemd package) and awaiting it: in systemd 252 it waits on a barrier
 * until PID 1 has processed the message, which lets systemd attribute a message from a short-lived
 * child to our unit (`NotifyAccess=all`). Notification is best effort: it never throws.
 */
import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import type { Env } from '../config.ts';
import type { Logger } from './logger.ts';

/** The subset of `child_process.spawn` the notifier uses; injectable for tests of failure paths. */
export type SpawnFunction = (
  command: string,
  args: readonly string[],
  options: SpawnOptions,
) => ChildProcess;

interface NotifierOptions {
  /** The process environment: `NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`, `PATH`. */
  env: Env;
  logger: Logger;
  spawn?: SpawnFunction;
  /** Our main PID, sent as MAINPID= and compared with WATCHDOG_PID; default `process.pid`. */
  pid?: number;
  /** Kill a `systemd-notify` that has not returned after this long (its own barrier waits 5 s). */
  timeoutMs?: number;
}

interface Notifier {
  /** True when `NOTIFY_SOCKET` is set, i.e. a service manager listens. */
  readonly enabled: boolean;
  /**
   * How often to send WATCHDOG=1: half of `WATCHDOG_USEC` when the watchdog is on and meant for
   * this process (`WATCHDOG_PID` unset or our PID); null when there is nothing to ping.
   */
  readonly watchdogIntervalMs: number | null;
  /** Start-up is complete (schedules loaded, ledger open); optionally with a status line. */
  ready(status?: string): Promise<void>;
  /** The loop is healthy; call every `watchdogIntervalMs`. */
  watchdog(): Promise<void>;
  /** Shutdown has begun (first SIGTERM). */
  stopping(): Promise<void>;
  /** A one-line human status shown by `systemctl status`. */
  status(text: string): Promise<void>;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_TIMEOUT_MS = 10_000;

/** Half of WATCHDOG_USEC in ms, or null when the watchdog is off or addressed to another PID. */
export function watchdogIntervalFromEnv(env: Env, pid: number): number | null {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText)) return null;
  const usec = Number(usecText);
  if (usec <= 0) return null;
  // systemd sets WATCHDOG_PID to the main PID; a child that inherited the variables must not ping.
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return null;
  return Math.max(1, Math.floor(usec / 1000 / 2));
}

/** STATUS= is one line of the datagram's KEY=VALUE list: no line breaks inside it. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

/**
 * Builds the notifier. Disabled (every call resolves at once) without `NOTIFY_SOCKET`. Messages
 * go out one at a time in call order. A failure (no `systemd-notify`, unreachable socket, timeout)
 * is logged once as a warning, later ones at debug, and the returned promise still resolves.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const { env, logger } = options;
  const spawn = options.spawn ?? nodeSpawn;
  const pid = options.pid ?? process.pid;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socket = env.NOTIFY_SOCKET;
  const enabled = socket !== undefined && socket !== '';
  const log = logger.child({ component: 'systemd-notify' });
  let warned = false;
  let queue: Promise<void> = Promise.resolve();

  function reportFailure(message: string, fields: Record<string, unknown>): void {
    if (!warned) {
      warned = true;
      log.warn(fields, `${message}; systemd may not see readiness or watchdog pings`);
    } else {
      log.debug(fields, message);
    }
  }

  function sendNow(assignments: readonly string[]): Promise<void> {
    // --pid names the main process: MAINPID= in the message, and with privileges the sender
    // credentials too; unprivileged, systemd-notify falls back to its own PID (NotifyAccess=all).
    const args = [`--pid=${pid}`, ...assignments];
    return new Promise<void>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn('systemd-notify', args, {
          // Only what systemd-notify needs: the API password must not reach another process.
          env: { PATH: env.PATH || DEFAULT_PATH, NOTIFY_SOCKET: socket },
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: timeoutMs,
        });
      } catch (error) {
        reportFailure('cannot run systemd-notify', { err: error, message: assignments });
        resolve();
        return;
      }
      let stderr = '';
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        if (stderr.length < 2000) stderr += chunk;
      });
      let settled = false;
      const settle = () => {
        settled = true;
        resolve();
      };
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        const reason =
          error.code === 'ENOENT'
            ? 'systemd-notify not found on PATH (install the systemd package)'
            : 'cannot run systemd-notify';
        reportFailure(reason, { err: error, message: assignments });
        settle();
      });
      child.on('close', (code, signal) => {
        if (settled) return;
        if (code !== 0) {
          const reason = code === null ? 'systemd-notify timed out' : 'systemd-notify failed';
          reportFailure(reason, {
            exitCode: code,
            signal,
            stderr: stderr.trim(),
            message: assignments,
          });
        }
        settle();
      });
    });
  }

  function send(assignments: readonly string[]): Promise<void> {
    if (!enabled) return Promise.resolve();
    queue = queue.then(() => sendNow(assignments));
    return queue;
  }

  return Object.freeze({
    enabled,
    watchdogIntervalMs: enabled ? watchdogIntervalFromEnv(env, pid) : null,
    ready: (status?: string) =>
      send(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${oneLine(status)}`]),
    watchdog: () => send(['WATCHDOG=1']),
    stopping: () => send(['STOPPING=1']),
    status: (text: string) => send([`STATUS=${oneLine(text)}`]),
  });
}
