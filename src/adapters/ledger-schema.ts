/**
 * Ledger schema, one migration per schema version (`PRAGMA user_version`). Migrations only ever
 * append: a released step is never edited, so every ledger upgrades the same way.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE slots (
    id              INTEGER PRIMARY KEY,
    schedule        TEXT    NOT NULL,
    slot_at         TEXT    NOT NULL,
    branch          TEXT    NOT NULL,
    manual          INTEGER NOT NULL DEFAULT 0,
    project         TEXT    NOT NULL,
    project_uuid    TEXT,
    state           TEXT    NOT NULL
      CHECK (state IN ('pending', 'triggered', 'running', 'finished', 'skipped', 'failed')),
    reason          TEXT,
    fire_at         TEXT    NOT NULL,
    next_attempt_at TEXT,
    intent_at       TEXT,
    last_attempt_at TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    outcome_unknown INTEGER NOT NULL DEFAULT 0,
    error           TEXT,
    build_uuid      TEXT    UNIQUE,
    build_status    TEXT,
    build_queued_at TEXT,
    triggered_at    TEXT,
    finished_at     TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (schedule, slot_at, branch)
  );
  -- Every index is written by each slot a burst records, so there are few: lookups by schedule
  -- (newest first) use the UNIQUE index above, whose prefix is (schedule, slot_at); the build
  -- index holds only rows that have a build, which a new slot never has.
  CREATE INDEX slots_open ON slots (state) WHERE state IN ('pending', 'triggered', 'running');
  CREATE INDEX slots_due ON slots (next_attempt_at) WHERE state = 'pending' AND outcome_unknown = 0;
  CREATE INDEX slots_by_project_build ON slots (project_uuid, build_queued_at)
    WHERE build_uuid IS NOT NULL;

  -- The last nominal slot planned per schedule: the high-water mark that makes planning
  -- idempotent across restarts, clock jumps and a second process on the same file.
  -- WITHOUT ROWID: the key is the table, so a mark moved is one b-tree written, not two.
  CREATE TABLE marks (
    schedule TEXT PRIMARY KEY,
    slot_at  TEXT NOT NULL
  ) WITHOUT ROWID;

  -- Every create request that may have reached Codeship, so a slot with two builds always
  -- shows both attempts.
  CREATE TABLE attempts (
    id       INTEGER PRIMARY KEY,
    slot_id  INTEGER NOT NULL REFERENCES slots (id),
    sent_at  TEXT    NOT NULL,
    result   TEXT    NOT NULL CHECK (result IN ('sending', 'accepted', 'unknown', 'rejected', 'not_sent')),
    error    TEXT
  );
  CREATE INDEX attempts_by_slot ON attempts (slot_id);
  `,
  `
  -- Build identity (README, "Build identity"): each create keeps when it was answered and the
  -- server clock estimate in force, so its build is looked for in that request's window only;
  -- a claim keeps how it was made and the build's commit.
  ALTER TABLE attempts ADD COLUMN answered_at TEXT;
  ALTER TABLE attempts ADD COLUMN offset_lo_ms INTEGER;
  ALTER TABLE attempts ADD COLUMN offset_hi_ms INTEGER;
  ALTER TABLE slots ADD COLUMN commit_sha TEXT;
  ALTER TABLE slots ADD COLUMN claim TEXT;
  `,
  `
  -- The daemon's heartbeat: one-shot commands (trigger) wait on the ledger for the daemon's
  -- discovery only while a daemon is alive on it.
  CREATE TABLE daemon_heartbeat (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    seen_at TEXT    NOT NULL
  );
  `,
  `
  -- Chains (README, "Chains"): a chain's slot is (schedule, upstream build, branch), unique, so a
  -- build seen twice (webhook, poll, restart) fires once; its cause is the upstream build, as JSON.
  ALTER TABLE slots ADD COLUMN upstream_build TEXT;
  ALTER TABLE slots ADD COLUMN cause TEXT;
  CREATE UNIQUE INDEX slots_chain ON slots (schedule, upstream_build, branch)
    WHERE upstream_build IS NOT NULL;
  -- When each chain was loaded with its upstreams (as written): upstream builds that finished
  -- before never fire it; a chain whose upstreams change is armed again.
  CREATE TABLE chain_marks (
    schedule  TEXT PRIMARY KEY,
    upstreams TEXT NOT NULL,
    armed_at  TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
];

/**
 * Not a migration: a one-row scratch table the readiness probe writes to, proving that a write
 * can commit (a locked or full ledger cannot). Created at open when missing, so it needs no schema
 * version and older programs simply ignore it.
 */
export const PROBE_TABLE = `
  CREATE TABLE IF NOT EXISTS readiness_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
  );
`;
