/**
 * The ledger as users read it: `status --json` rows (field names are part of the contract) and
 * the human table. Shared by the CLI and the status page.
 */
import type { SlotRecord } from '../adapters/ledger.ts';

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

/** A plain-text table, newest first, for terminals. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return 'no slots recorded yet\n';
  const header = ['SCHEDULE', 'SLOT (UTC)', 'BRANCH', 'STATE', 'BUILD', 'ATTEMPTS'];
  const lines = rows.map((row) => [
    row.schedule,
    row.slot.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'),
    row.branch,
    `${describeState(row)}${row.manual ? ' (manual)' : ''}`,
    row.build_uuid ?? '-',
    String(row.attempts),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (l[i] as string).length)),
  );
  const format = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return `${[format(header), ...lines.map(format)].join('\n')}\n`;
}
