/**
 * `POST /hooks/codeship/<WEBHOOK_SECRET>` (README, "Chains: builds after other builds"): Codeship's
 * notification webhooks, unsigned JSON `{"build": {…}}`. The secret in the path is the only proof
 * of origin, and even a genuine webhook is only a hint: it wakes the daemon's look at that
 * project, which acts on what the API says. Wrong secret 404 (as if the route did not exist), a
 * body that is not such JSON 400, over 64 KB 413; each counted in `codeship_cron_webhooks_total`.
 */

import type { WebhookHint, WebhookResult } from '../daemon/runtime.ts';
import type { RequestContext, Route } from './context.ts';
import { HttpError, readBody, sendJson } from './respond.ts';

/** Largest webhook body accepted; Codeship's are about 1 KB. */
export const MAX_WEBHOOK_BYTES = 64 * 1024;

/** The route's path, with the secret shown as a placeholder (for logs). */
export const WEBHOOK_PATH = '/hooks/codeship/';

const asText = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);

/** The hint a webhook body carries, or what is wrong with it. */
export function parseWebhook(text: string): WebhookHint | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'body is not valid JSON (expected a Codeship notification {"build": {…}})';
  }
  const build =
    value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>).build
      : undefined;
  if (!build || typeof build !== 'object' || Array.isArray(build)) {
    return 'body has no "build" object (expected a Codeship notification {"build": {…}})';
  }
  const b = build as Record<string, unknown>;
  const rawId = b.project_id;
  const projectId =
    typeof rawId === 'number' && Number.isSafeInteger(rawId)
      ? rawId
      : typeof rawId === 'string' && /^[0-9]{1,15}$/.test(rawId)
        ? Number(rawId)
        : null;
  const projectName = asText(b.project_full_name) ?? asText(b.project_name);
  const status = asText(b.status);
  if (status === null) {
    return b.status === undefined || b.status === null
      ? 'build.status is missing (expected e.g. "success")'
      : 'build.status must be a string (expected e.g. "success")';
  }
  if (projectId === null && projectName === null) {
    return 'build names no project (expected build.project_id or build.project_full_name)';
  }
  return { projectId, projectName, status, branch: asText(b.branch) };
}

function refuse(context: RequestContext, result: WebhookResult, status: number, message: string) {
  context.deps.rt.events.emit('webhook', { result });
  throw new HttpError(status, message);
}

export function webhookRoutes(secret: string | null): Route[] {
  if (secret === null) return [];
  return [
    {
      method: 'POST',
      path: `${WEBHOOK_PATH}:secret`,
      async handle(context) {
        const { req, res, deps } = context;
        // A wrong secret never gets here: the server answers 404 for it, whatever the method
        // (server.ts `hiddenWebhookPath`), and counts it as `bad_secret`.
        let text: string;
        try {
          text = await readBody(req, MAX_WEBHOOK_BYTES);
        } catch (error) {
          if (error instanceof HttpError && error.status === 413) {
            refuse(context, 'too_large', 413, error.message);
          }
          throw error;
        }
        const hint = parseWebhook(text);
        if (typeof hint === 'string') refuse(context, 'bad_request', 400, hint);
        deps.rt.events.emit('webhook', { result: 'accepted' });
        deps.rt.hint(hint as WebhookHint);
        sendJson(res, 202, { status: 'accepted' });
      },
    },
  ];
}
