/**
 * The ledger as users read it: `status --json` rows (field names are part of the contract) and
 * the human table. Shared by the CLI and the status page.
 */
import type { SlotRecord } from '../core/model.ts';

export interface StatusRow {
  schedule: string;
  slot: string;
  branch: string;
  state: string;
  reason: string | null;
  build_uuid: string | null;
  build_status: string | null;
  /** The claimed build's commit. */
  commit_sha: string | null;
  /** How the build was identified: `exact` (one candidate) or `nearest of N` (README, "Build identity"). */
  claim: string | null;
  triggered_at: string | null;
  finished_at: string | null;
  attempts: number;
  manual: boolean;
  error: string | null;
  /** A chain's slot: the upstream build that fired it (README, "Chains"); null otherwise. */
  cause: {
    project: string;
    branch: string;
    build_uuid: string;
    status: string;
    finished_at: string;
    schedule: string | null;
  } | null;
}

const isoOrNull = (at: Date | null) => (at ? at.toISOString() : null);

/** The contract's JSON row for a slot (plus `manual` and `error`). */
export function toStatusRow(slot: SlotRecord): StatusRow {
  return {
    schedule: slot.schedule,
    slot: slot.slotAt.toISOString(),
    branch: slot.branch,
    state: slot.state,
    reason: slot.reason ?? (slot.manual ? 'manual' : null),
    build_uuid: slot.buildUuid,
    build_status: slot.buildStatus,
    commit_sha: slot.commitSha,
    claim: slot.claim,
    triggered_at: isoOrNull(slot.triggeredAt),
    finished_at: isoOrNull(slot.finishedAt),
    attempts: slot.attempts,
    manual: slot.manual,
    error: slot.state === 'failed' ? null : slot.error,
    cause: slot.cause
      ? {
          project: slot.cause.project,
          branch: slot.cause.branch,
          build_uuid: slot.cause.build,
          status: slot.cause.status,
          finished_at: slot.cause.finishedAt,
          schedule: slot.cause.schedule ?? null,
        }
      : null,
  };
}

/** `state: reason` as one phrase, e.g. `skipped: fresh (last built 2d ago)`, `finished: success`. */
export function describeState(row: StatusRow): string {
  if (row.state === 'finished') {
    const why = row.reason && row.reason !== 'manual' ? ` (${row.reason})` : '';
    return `finished: ${row.build_status ?? '?'}${why}`;
  }
  if (row.state === 'pending' && row.error) return `pending: ${row.error}`;
  return row.reason ? `${row.state}: ${row.reason}` : row.state;
}

/** The status table fits terminals this wide; `--json` keeps every field whole. */
export const TABLE_WIDTH = 110;
/** Longest schedule and branch cells; the state column takes the rest of the width. */
const NAME_CELL_MAX = 24;
/** Build UUIDs are shown by their first characters, as short commit hashes are. */
export const SHORT_UUID = 8;
const GAP = '  ';

const MANUAL = ' (manual)';

/** `text` cut to `width` characters, the last one an ellipsis when cut; `keep` stays whole. */
function fitCell(text: string, width: number, keep = ''): string {
  if (text.length <= width) return text;
  const head = text.slice(0, text.length - keep.length);
  return `${head.slice(0, Math.max(0, width - keep.length - 1))}…${keep}`;
}

/**
 * A plain-text table, newest first, at most TABLE_WIDTH columns wide: schedule and branch cells
 * are cut at 24 characters, the state (with its reason) at what is left, build UUIDs show their
 * first 8 characters; a closing line says when anything was cut.
 */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return 'no slots recorded yet\n';
  const header = ['SCHEDULE', 'SLOT (UTC)', 'BRANCH', 'STATE', 'BUILD', 'ATTEMPTS'];
  const cells = rows.map((row) => [
    row.schedule,
    row.slot.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'),
    row.branch,
    `${describeState(row)}${row.cause ? ` after ${row.cause.project} ${row.cause.branch} ${row.cause.build_uuid.slice(0, SHORT_UUID)}` : ''}${row.manual ? MANUAL : ''}`,
    row.build_uuid ? row.build_uuid.slice(0, SHORT_UUID) : '-',
    String(row.attempts),
  ]);
  const natural = header.map((h, i) =>
    Math.max(h.length, ...cells.map((l) => (l[i] as string).length)),
  );
  const widths = natural.map((w, i) => (i === 0 || i === 2 ? Math.min(w, NAME_CELL_MAX) : w));
  const others = widths.reduce((sum, w, i) => (i === 3 ? sum : sum + w), 0);
  widths[3] = Math.min(natural[3] as number, TABLE_WIDTH - others - GAP.length * 5);
  let cut = false;
  const format = (line: string[]) =>
    line
      .map((cell, i) => {
        const width = widths[i] as number;
        if (cell.length > width) cut = true;
        // A cut reason keeps its "(manual)" mark.
        const keep = i === 3 && cell.endsWith(MANUAL) ? MANUAL : '';
        return fitCell(cell, width, keep).padEnd(width);
      })
      .join(GAP)
      .trimEnd();
  const lines = [format(header), ...cells.map(format)];
  if (cut)
    lines.push('(… = cut to fit the terminal; codeship-cron status --json shows every field)');
  return `${lines.join('\n')}\n`;
}
