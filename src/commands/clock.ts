/**
 * `codeship-cron clock [--samples N] [--json]`: how far Codeship's clock is from this host's, as
 * the daemon learns it for build identity (README, "Build identity"): a few cheap API answers,
 * each bounding the offset by its `Date` header, intersected. Needs only the API settings.
 */
import { createCodeshipClient } from '../adapters/codeship-client.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { loadConfig, requireApi } from '../config.ts';
import { offsetOf, widthOf } from '../core/server-clock.ts';
import { type Command, parseCommandArgs, UsageError } from './context.ts';

const clock: Command = async (context) => {
  const { values } = parseCommandArgs(context, 'clock');
  const samples = Number(values.samples);
  if (!/^\d+$/.test(values.samples ?? '') || samples < 1 || samples > 20) {
    throw new UsageError(`--samples must be an integer from 1 to 20 (got "${values.samples}")`);
  }
  const config = loadConfig(context.env, context.readSecret, { requireApi: true });
  const logger = context.logger(config.logLevel, { command: 'clock' });
  const client = createCodeshipClient({ api: requireApi(config), clock: systemClock, logger });
  // Authentication is the first answer; each project list after it is one more bound.
  for (let i = 0; i < samples; i += 1) await client.listProjects({ signal: context.signal });
  const estimate = client.clockEstimate();
  if (estimate === null) throw new Error('no API answer carried a usable Date header');
  const offsetMs = Math.round(offsetOf(estimate));
  const uncertaintyMs = Math.round(widthOf(estimate));
  if (values.json) {
    const doc = {
      offset_ms: offsetMs,
      uncertainty_ms: uncertaintyMs,
      low_ms: estimate.loMs,
      high_ms: estimate.hiMs,
      answers: samples + 1,
    };
    context.stdout(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  }
  const ahead = offsetMs >= 0 ? 'ahead of' : 'behind';
  context.stdout(
    `Codeship's clock is ${Math.abs(offsetMs)} ms ${ahead} this host's, known to within ${uncertaintyMs} ms ` +
      `(offset between ${estimate.loMs} and ${estimate.hiMs} ms, from ${samples + 1} answers)\n`,
  );
  return 0;
};

export default clock;
