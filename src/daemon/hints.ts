/**
 * Webhook hints (README, "Chains: builds after other builds"): a Codeship notification webhook
 * is unsigned, so it only says where to look. Its project is found by its legacy numeric id or
 * its name; when this daemon has a build to discover there (any webhook) or follows one (a
 * finish), reconciliation looks at it now (and its walk's first page serves the chains too);
 * otherwise, for a finished build of an upstream project, the chains read its first page. A burst of webhooks for one project costs one look,
 * plus one more when another arrived while it ran.
 */
import { coerceError } from '../core/errors.ts';
import { isFinalStatus } from '../core/model.ts';
import type { Chains } from './chains.ts';
import type { Reconciler } from './reconciler.ts';
import type { Runtime, WebhookHint } from './runtime.ts';

export function createHintHandler(
  rt: Runtime,
  reconciler: Reconciler,
  chains: Chains,
  signal: AbortSignal,
): (hint: WebhookHint) => void {
  const looking = new Map<string, { again: boolean }>();

  const projectOf = async (hint: WebhookHint): Promise<string | null> => {
    const byId = (id: number | null) =>
      id === null ? undefined : rt.projects.known().find((p) => p.id === id);
    const found = byId(hint.projectId);
    if (found) return found.uuid;
    if (!hint.projectName) return null;
    try {
      // Listed again at most once a minute (daemon/projects.ts): a forged name costs little.
      return await rt.projects.resolve(hint.projectName, { priority: 'normal', signal });
    } catch {
      return byId(hint.projectId)?.uuid ?? null;
    }
  };

  const look = (projectUuid: string): void => {
    const current = looking.get(projectUuid);
    if (current) {
      current.again = true;
      return;
    }
    const state = { again: false };
    looking.set(projectUuid, state);
    reconciler
      .look(projectUuid, signal)
      .catch((error: unknown) => {
        if (!signal.aborted) {
          rt.logger.warn({ projectUuid, err: coerceError(error) }, 'webhook look failed');
        }
      })
      .finally(() => {
        looking.delete(projectUuid);
        if (state.again && !signal.aborted) look(projectUuid);
      });
  };

  const handle = async (hint: WebhookHint): Promise<void> => {
    const projectUuid = await projectOf(hint);
    if (projectUuid === null) {
      rt.logger.debug(
        { projectId: hint.projectId, project: hint.projectName },
        'webhook for a project this organization does not have: ignored',
      );
      return;
    }
    const open = (await rt.ledger.openSlots()).filter((s) => s.projectUuid === projectUuid);
    const final = isFinalStatus(hint.status);
    // A start tells reconciliation something only while a build of ours is still to be
    // discovered; a finish, while one is followed. Otherwise only a chain may care.
    const useful = final ? open.length > 0 : open.some((s) => s.buildUuid === null);
    if (useful) look(projectUuid);
    else if (final) chains.hint(projectUuid);
  };

  return (hint) => {
    if (signal.aborted) return;
    handle(hint).catch((error: unknown) => {
      if (!signal.aborted) rt.logger.warn({ err: coerceError(error) }, 'webhook hint failed');
    });
  };
}
