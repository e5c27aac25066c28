/**
 * `codeship-cron trigger NAME [--branch B]`: fires a schedule now through the daemon's own path,
 * recorded as manual, then waits (up to --wait, default 60s) for the build to be discovered.
 */
import { systemClock } from '../adapters/system-clock.ts';
import { loadConfig } from '../config.ts';
import { CodeshipCronError } from '../core/errors.ts';
import { parseDuration, SECOND } from '../core/time.ts';
import { triggerManually } from '../daemon/manual.ts';
import { reconcileOnce } from '../daemon/reconcile.ts';
import { describeState, toStatusRow } from '../daemon/status-view.ts';
import { createRootLogger, loadConfiguredSchedules, openCommandRuntime } from '../deps.ts';
import { type Command, parseCommandArgs, UsageError } from './context.ts';

const trigger: Command = async (context) => {
  const { values, positionals } = parseCommandArgs(
    context,
    {
      branch: { type: 'string' },
      wait: { type: 'string', default: '60s' },
      json: { type: 'boolean', default: false },
    },
    1,
  );
  const name = positionals[0];
  if (!name) throw new UsageError('the schedule NAME is required');
  const waitMs = parseDuration(values.wait);
  if (waitMs === null)
    throw new UsageError(`--wait must be a duration such as 30s or 2m (got "${values.wait}")`);
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  const { schedules, issues } = loadConfiguredSchedules(config);
  const schedule = schedules.find((s) => s.name === name);
  if (!schedule) {
    const hint =
      issues.length > 0 ? ' (some schedule files are invalid: run codeship-cron validate)' : '';
    throw new CodeshipCronError(
      'ERR_SCHEDULE_UNKNOWN',
      `no schedule named "${name}" in ${config.schedulesDir}${hint}; known: ${schedules.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  const logger = createRootLogger(
    { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
    { command: 'trigger' },
  );
  const rt = openCommandRuntime(config, schedules, logger);
  const { ledger } = rt;
  try {
    const slots = await triggerManually(rt, schedule, {
      branch: values.branch,
      signal: context.signal,
    });
    const deadline = Date.now() + waitMs;
    const waiting = () =>
      slots
        .map((s) => ledger.get(s.id))
        .filter((s) => s && s.buildUuid === null && ['pending', 'triggered'].includes(s.state));
    while (waiting().length > 0 && Date.now() < deadline && !context.signal.aborted) {
      await systemClock.sleep(2 * SECOND, context.signal).catch(() => {});
      await reconcileOnce(rt, context.signal);
    }
    const rows = slots.map((s) => toStatusRow(ledger.get(s.id) ?? s));
    if (values.json) context.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      for (const row of rows) {
        const build = row.build_uuid
          ? `build ${row.build_uuid} (${row.build_status})`
          : 'build not discovered yet (the daemon keeps looking)';
        context.stdout(`${row.schedule} on ${row.branch}: ${describeState(row)}; ${build}\n`);
      }
    }
    return rows.some((row) => row.state === 'failed' || row.state === 'skipped') ? 1 : 0;
  } finally {
    ledger.close();
  }
};

export default trigger;
