/**
 * Slot rows as both ledger stores keep them (snake_case columns, ISO-8601 text instants, 0/1
 * flags, the cause as JSON) and the records the port hands out: one mapping for SQLite and
 * PostgreSQL, so the two stores read every row alike.
 */
import type { ChainCause, NewSlot, SlotRecord, SlotState } from '../core/model.ts';

export type Row = Record<string, unknown>;

export const iso = (at: Date) => at.toISOString();
export const dateOrNull = (text: unknown) => (typeof text === 'string' ? new Date(text) : null);

/** A slot row as read from either store. */
export function toSlot(row: Row): SlotRecord {
  return {
    id: row.id as number,
    schedule: row.schedule as string,
    slotAt: new Date(row.slot_at as string),
    branch: row.branch as string,
    manual: row.manual === 1,
    project: row.project as string,
    projectUuid: (row.project_uuid as string | null) ?? null,
    state: row.state as SlotState,
    reason: (row.reason as string | null) ?? null,
    fireAt: new Date(row.fire_at as string),
    nextAttemptAt: dateOrNull(row.next_attempt_at),
    intentAt: dateOrNull(row.intent_at),
    lastAttemptAt: dateOrNull(row.last_attempt_at),
    attempts: row.attempts as number,
    outcomeUnknown: row.outcome_unknown === 1,
    error: (row.error as string | null) ?? null,
    buildUuid: (row.build_uuid as string | null) ?? null,
    buildStatus: (row.build_status as string | null) ?? null,
    buildQueuedAt: dateOrNull(row.build_queued_at),
    commitSha: (row.commit_sha as string | null) ?? null,
    claim: (row.claim as string | null) ?? null,
    cause: typeof row.cause === 'string' ? (JSON.parse(row.cause) as ChainCause) : null,
    triggeredAt: dateOrNull(row.triggered_at),
    finishedAt: dateOrNull(row.finished_at),
    createdAt: new Date(row.created_at as string),
    updatedAt: new Date(row.updated_at as string),
  };
}

/** The record of a row just inserted, as `toSlot` would read it back. */
export function newRecord(id: number, slot: NewSlot, now: Date): SlotRecord {
  return {
    id,
    schedule: slot.schedule,
    slotAt: slot.slotAt,
    branch: slot.branch,
    manual: slot.manual ?? false,
    project: slot.project,
    projectUuid: null,
    state: slot.state,
    reason: slot.reason ?? null,
    fireAt: slot.fireAt,
    nextAttemptAt: slot.state === 'pending' ? slot.fireAt : null,
    intentAt: null,
    lastAttemptAt: null,
    attempts: 0,
    outcomeUnknown: false,
    error: null,
    buildUuid: null,
    buildStatus: null,
    buildQueuedAt: null,
    commitSha: null,
    claim: null,
    cause: slot.cause ?? null,
    triggeredAt: null,
    finishedAt: null,
    createdAt: now,
    updatedAt: now,
  };
}
