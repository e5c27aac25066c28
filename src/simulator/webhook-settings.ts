/**
 * Webhook settings and where webhooks may go: only plain http to this machine's loopback, so the
 * simulator can never send anything outside the machine, whatever a seed or a test asks.
 */
import { SimulatorError } from './errors.ts';
import type { Webhooks } from './types.ts';

const KEYS = ['urls', 'drop', 'duplicate', 'delayMs', 'seed'];
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];
const MAX_DELAY_MS = 60_000;

/** What a webhook URL must be, for error messages. */
export const WEBHOOK_URL_RULE =
  'must be an http:// URL on 127.0.0.1, localhost or [::1] (the simulator never sends outside this machine)';

/** True for an `http://` URL whose host is 127.0.0.1, localhost or [::1] (no credentials). */
export function isLoopbackWebhookUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'http:' &&
    LOOPBACK_HOSTS.includes(url.hostname) &&
    url.username === '' &&
    url.password === ''
  );
}

/** Problems of a list of webhook URLs at `at` (`urls`, `organizations[0].projects[1].webhooks`). */
export function webhookUrlIssues(value: unknown, at: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    return [`${at}: must be an array of URLs (got ${JSON.stringify(value)})`];
  return value.flatMap((url, i) =>
    isLoopbackWebhookUrl(url)
      ? []
      : [`${at}[${i}]: ${WEBHOOK_URL_RULE} (got ${JSON.stringify(url)})`],
  );
}

/**
 * Checks a Webhooks object (from code or POST /_simulator/webhooks), listing every problem;
 * `null` means no global URLs and no faults. Throws a SimulatorError `ERR_SIMULATOR_WEBHOOKS`.
 */
export function validateWebhooks(value: unknown): Webhooks | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new SimulatorError(
      'ERR_SIMULATOR_WEBHOOKS',
      'invalid webhooks: must be a JSON object like {"urls": ["http://127.0.0.1:8080/hook"]} or null',
    );
  }
  const webhooks = value as Record<string, unknown>;
  const issues: string[] = [];
  for (const key of Object.keys(webhooks)) {
    if (!KEYS.includes(key))
      issues.push(`${key}: unknown key (expected one of ${KEYS.join(', ')})`);
  }
  issues.push(...webhookUrlIssues(webhooks.urls, 'urls'));
  for (const key of ['drop', 'duplicate'] as const) {
    const rate = webhooks[key];
    if (rate !== undefined && (typeof rate !== 'number' || !(rate >= 0 && rate <= 1))) {
      issues.push(`${key}: must be a number from 0 to 1 (got ${JSON.stringify(rate)})`);
    }
  }
  const delay = webhooks.delayMs;
  const inRange = (ms: unknown) => typeof ms === 'number' && ms >= 0 && ms <= MAX_DELAY_MS;
  if (
    delay !== undefined &&
    !(Array.isArray(delay) && delay.length === 2 && delay.every(inRange) && delay[0] <= delay[1])
  ) {
    issues.push(
      `delayMs: must be [min, max] milliseconds with 0 <= min <= max <= ${MAX_DELAY_MS} (got ${JSON.stringify(delay)})`,
    );
  }
  if (webhooks.seed !== undefined && !Number.isInteger(webhooks.seed)) {
    issues.push(`seed: must be an integer (got ${JSON.stringify(webhooks.seed)})`);
  }
  if (issues.length > 0) {
    throw new SimulatorError(
      'ERR_SIMULATOR_WEBHOOKS',
      `invalid webhooks:\n  ${issues.join('\n  ')}`,
    );
  }
  return webhooks as Webhooks;
}
