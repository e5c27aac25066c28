/**
 * Watches SCHEDULES_DIR for edits. `fs.watch` follows the folder's inode, so it goes silent for
 * good when the folder is removed and created again (a deploy that swaps it, `rm -r` and a fresh
 * checkout). A light poll (one `stat` every `pollMs`) notices that the folder went away, came back
 * or was replaced, re-arms the watch, logs it and reloads; where no watch can be armed at all
 * (inotify limits, odd filesystems), the poll compares the files' sizes and times instead.
 */
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger.ts';

/** How often the folder's identity is checked. */
export const FOLDER_POLL_MS = 2000;
/** Editors write in several steps: reload once the folder has been quiet this long. */
const QUIET_MS = 300;

export interface FolderWatch {
  close(): void;
}

/** `dev:ino` of the folder, or null when it is not there. */
function identityOf(dir: string): string | null {
  try {
    const stat = statSync(dir);
    return stat.isDirectory() ? `${stat.dev}:${stat.ino}` : null;
  } catch {
    return null;
  }
}

/** Names, sizes and times of the folder's entries: changes when any file does (poll fallback). */
function contentOf(dir: string): string {
  try {
    return readdirSync(dir)
      .sort()
      .map((name) => {
        try {
          const stat = statSync(join(dir, name));
          return `${name}\u0000${stat.size}\u0000${stat.mtimeMs}`;
        } catch {
          return name;
        }
      })
      .join('\u0001');
  } catch {
    return '';
  }
}

/** Calls `onChange` (debounced) whenever the folder's content may have changed; never throws. */
export function watchScheduleFolder(
  dir: string,
  logger: Logger,
  onChange: () => void,
  options: { pollMs?: number } = {},
): FolderWatch {
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  let identity = identityOf(dir);
  let content = '';
  let warnedUnwatchable = false;
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, QUIET_MS);
  };
  const disarm = () => {
    watcher?.close();
    watcher = null;
  };
  const arm = (): boolean => {
    try {
      const next = watch(dir, { persistent: false }, changed);
      next.on('error', (error) => {
        logger.warn({ dir, err: error }, 'schedule folder watch failed; polling the folder');
        if (watcher === next) disarm();
      });
      watcher = next;
      warnedUnwatchable = false;
      return true;
    } catch (error) {
      if (!warnedUnwatchable) {
        warnedUnwatchable = true;
        logger.warn(
          { dir, err: error, pollMs: options.pollMs ?? FOLDER_POLL_MS },
          'cannot watch the schedule folder; polling it instead (SIGHUP also reloads)',
        );
      }
      return false;
    }
  };
  if (identity !== null && !arm()) content = contentOf(dir);
  const poll = setInterval(() => {
    const now = identityOf(dir);
    if (now === null) {
      if (identity !== null) {
        identity = null;
        disarm();
        logger.warn({ dir }, 'schedule folder is gone; watching for it to come back');
        changed();
      }
      return;
    }
    if (now !== identity || watcher === null) {
      const replaced = now !== identity;
      identity = now;
      disarm();
      if (arm()) {
        logger.info({ dir }, 'schedule folder watch re-armed');
        changed();
        return;
      }
      const next = contentOf(dir);
      if (replaced || next !== content) changed();
      content = next;
    }
  }, options.pollMs ?? FOLDER_POLL_MS);
  poll.unref();
  return {
    close() {
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      disarm();
    },
  };
}
