/**
 * `codeship-cron trigger NAME [--branch B] [--any-branch] [--wait 60s] [--json]`: fires a schedule
 * now through the daemon's own path, recorded as manual, then waits (up to --wait) for the build
 * to be discovered. Logs go to stderr; stdout holds one line per slot, or one JSON document.
 */
import { systemClock } from '../adapters/system-clock.ts';
import { loadConfig } from '../config.ts';
import { didYouMean, listNames } from '../core/did-you-mean.ts';
import { CodeshipCronError, coerceError } from '../core/errors.ts';
import { formatDuration, parseDuration, SECOND } from '../core/time.ts';
import { triggerManually } from '../daemon/manual.ts';
import { describeState, type StatusRow, toStatusRow } from '../daemon/status-view.ts';
import { loadConfiguredSchedules, openCommandRuntime } from '../deps.ts';
import { type Command, parseCommandArgs, UsageError } from './context.ts';

/** A daemon that said it was alive this recently runs on the ledger (its ticks beat every 10 s). */
const DAEMON_ALIVE_MS = 90 * SECOND;

/** One true line per slot: its state, and its build once known. */
export function describeTriggered(row: StatusRow, waitMs: number, daemonAlive = true): string {
  const head = `${row.schedule} on ${row.branch}: ${describeState(row)}`;
  if (row.state === 'failed' || row.state === 'skipped') return head;
  if (row.build_uuid) return `${head}; build ${row.build_uuid} (${row.build_status})`;
  if (!daemonAlive)
    return `${head}; build not discovered yet (no daemon runs on this ledger: codeship-cron reconcile finds it)`;
  return `${head}; build not discovered within ${formatDuration(waitMs)} (the running daemon finds it)`;
}

const trigger: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(context, 'trigger', 1);
  const name = positionals[0];
  if (!name) throw new UsageError('the schedule NAME is required');
  if (values['any-branch'] && values.branch === undefined)
    throw new UsageError('--any-branch needs --branch B');
  const waitMs = parseDuration(values.wait);
  if (waitMs === null)
    throw new UsageError(`--wait must be a duration such as 30s or 2m (got "${values.wait}")`);
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  const { schedules, issues } = loadConfiguredSchedules(config);
  const schedule = schedules.find((s) => s.name === name);
  if (!schedule) {
    const hint =
      issues.length > 0 ? ' (some schedule files are invalid: run codeship-cron validate)' : '';
    const names = schedules.map((s) => s.name);
    throw new CodeshipCronError(
      'ERR_SCHEDULE_UNKNOWN',
      `no schedule named "${name}" in ${config.schedulesDir}${didYouMean(name, names)}${hint}; known: ${listNames(names)}`,
    );
  }
  const logger = context.logger(config.logLevel === 'info' ? 'warn' : config.logLevel, {
    command: 'trigger',
  });
  const rt = await openCommandRuntime(config, schedules, logger);
  const { ledger } = rt;
  try {
    const slots = await triggerManually(rt, schedule, {
      branch: values.branch,
      anyBranch: values['any-branch'],
      signal: context.signal,
    }).catch((raw) => {
      const error = coerceError(raw);
      if (error instanceof CodeshipCronError && error.code === 'ERR_BRANCH_NOT_IN_SCHEDULE')
        throw new CodeshipCronError(error.code, `${error.message}; --any-branch fires it anyway`);
      throw error;
    });
    // Discovery is the daemon's: wait on the ledger while a daemon is alive on it.
    const beat = await ledger.lastHeartbeat();
    const daemonAlive = beat !== null && Math.abs(Date.now() - beat.getTime()) <= DAEMON_ALIVE_MS;
    const deadline = Date.now() + (daemonAlive ? waitMs : 0);
    const current = async () => Promise.all(slots.map(async (s) => (await ledger.get(s.id)) ?? s));
    let now = await current();
    const waiting = () =>
      now.some((s) => s.buildUuid === null && ['pending', 'triggered'].includes(s.state));
    while (waiting() && Date.now() < deadline && !context.signal.aborted) {
      await systemClock.sleep(SECOND, context.signal).catch(() => {});
      now = await current();
    }
    const rows = now.map(toStatusRow);
    if (values.json) context.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    else for (const row of rows) context.stdout(`${describeTriggered(row, waitMs, daemonAlive)}\n`);
    // A sweep's skipped branches are its reasons, not failures: exit 1 when a slot failed or
    // nothing was sent at all.
    const sent = rows.filter((row) => row.state !== 'skipped');
    return sent.length === 0 || sent.some((row) => row.state === 'failed') ? 1 : 0;
  } finally {
    await ledger.close();
  }
};

export default trigger;
