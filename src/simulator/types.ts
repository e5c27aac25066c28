/**
 * The simulator's public types: the seed it starts from, its options, the faults it can inject
 * and what it lets tests inspect. `index.ts` re-exports them; the other files import them here so
 * no module depends on the entry point.
 */

/** One build in a seed: a finished (or pinned in-progress) run at a fixed instant. */
export interface SeedBuild {
  branch: string;
  status: string;
  queuedAt: string;
  finishedAt?: string | null;
  commitSha?: string;
  username?: string;
  uuid?: string;
}

/** A project in a seed; `branches` are known branch names besides those of `builds`. */
export interface SeedProject {
  uuid?: string;
  name: string;
  type: 'basic' | 'pro';
  branches?: string[];
  builds?: SeedBuild[];
  /**
   * Where this project's notification webhooks go, besides the global `webhooks.urls`:
   * `http://` URLs on 127.0.0.1, localhost or [::1] only.
   */
  webhooks?: string[];
}

/** An organization; `name` is the lowercase slug the API reports, `scopes` default to all four. */
export interface SeedOrganization {
  uuid?: string;
  name: string;
  scopes?: string[];
  projects: SeedProject[];
}

/** An API user; `organizations` are organization names. */
export interface SeedUser {
  username: string;
  password: string;
  /**
   * The `username` of builds this user starts through the API, as Codeship shows a login or a
   * display name ("Dennis Newel"); default the login (the part of `username` before an `@`).
   */
  displayName?: string;
  twoFactor?: boolean;
  organizations: string[];
}

/** Everything the simulator knows at start. */
export interface SimulatorSeed {
  users: SeedUser[];
  organizations: SeedOrganization[];
}

/** Failures to inject, drawn from a seeded PRNG so a sequence is reproducible. */
export interface Faults {
  /** 0..1: answer 500/502/503 instead of handling (the request has no effect). */
  errorRate?: number;
  /** Added before each answer (real milliseconds). */
  latencyMs?: number;
  /** 0..1: never answer (hold the socket until the client gives up or the simulator closes). */
  timeoutRate?: number;
  /** 0..1: destroy the connection without answering (no effect). */
  resetRate?: number;
  /** 0..1: POST .../builds creates the build, then answers 500, resets or hangs. */
  ghostCreateRate?: number;
  /** Apply faults only to these "METHOD path-pattern" routes, e.g. "POST /builds". */
  only?: string[];
  /** PRNG seed so fault sequences are reproducible (default 1). */
  seed?: number;
}

/**
 * Pushes by others: on a create that builds something, with probability `rate` someone else
 * pushes to the same branch at `create + offset`, the offset uniform in [-spreadMs, +spreadMs].
 * A push sets a new head commit from that instant on and queues a build of it, then.
 */
export interface Pushes {
  /** 0..1: the share of creates that get a push by someone else around them. */
  rate: number;
  /** Milliseconds (0..86 400 000): how far before or after the create the push happens. */
  spreadMs: number;
  /** PRNG seed so push sequences are reproducible (default 1). */
  seed?: number;
  /** Who pushes: the `username` of their builds (default `someone-else`). */
  username?: string;
}

/**
 * Codeship notification webhooks: where they go besides each project's `webhooks`, and the
 * delivery faults, drawn from a seeded PRNG so a sequence of deliveries is reproducible.
 */
export interface Webhooks {
  /** `http://` URLs on 127.0.0.1, localhost or [::1] that get every project's webhooks. */
  urls?: string[];
  /** 0..1: the share of deliveries never sent. */
  drop?: number;
  /** 0..1: the share of deliveries sent twice (each copy with its own delay). */
  duplicate?: number;
  /** `[min, max]` real milliseconds (0..60 000) each POST waits before it is sent; default none. */
  delayMs?: [number, number];
  /** PRNG seed so drops, duplicates and delays are reproducible (default 1). */
  seed?: number;
}

/** The webhook events: a build started testing, or finished (any final status). */
export type WebhookEvent = 'start' | 'finish';

/** What a Codeship notification webhook carries (`{"build": …}`). */
export interface WebhookPayload {
  build: {
    build_url: string;
    commit_url: string;
    project_id: number;
    build_id: number;
    status: string;
    project_name: string;
    project_full_name: string;
    commit_id: string;
    short_commit_id: string;
    message: string;
    committer: string;
    branch: string;
  };
}

/**
 * One copy of one event for one URL: `dropped` (never sent), `pending` (waiting for its delay or
 * its answer), `delivered` (2xx), `failed` (another status, refused, reset or timed out; see
 * `error`) or `cancelled` (the simulator closed first).
 */
export interface WebhookDelivery {
  event: WebhookEvent;
  url: string;
  buildUuid: string;
  /** When the event happened, in the server's clock. */
  at: string;
  /** 1, or 2 for the extra copy of a duplicated delivery. */
  copy: 1 | 2;
  delayMs: number;
  outcome: 'dropped' | 'pending' | 'delivered' | 'failed' | 'cancelled';
  /** The receiver's HTTP status, or null when none came. */
  statusCode: number | null;
  error: string | null;
  payload: WebhookPayload;
}

/** What the webhooks did since the start (or the last reset). */
export interface WebhookReport {
  /** The global settings in force (`null` when none were set). */
  settings: Webhooks | null;
  counts: {
    /** Build starts and finishes that had at least one URL to go to. */
    events: number;
    /** Event × URL pairs (each one dropped, or sent once or twice). */
    deliveries: number;
    dropped: number;
    duplicated: number;
    /** POSTs begun or waiting for their delay (duplicates count twice). */
    sent: number;
    delivered: number;
    failed: number;
    pending: number;
    cancelled: number;
  };
  /** The latest 500 records, oldest first: one per dropped delivery and one per POST. */
  deliveries: WebhookDelivery[];
}

/** How a simulator behaves; every field has a default. */
export interface SimulatorOptions {
  /** Default: `defaultSeed(now())`. */
  seed?: SimulatorSeed;
  /** Injected clock (epoch ms) for all simulator time; default `Date.now`. */
  now?: () => number;
  /** Token lifetime; default 3600. */
  tokenTtlSeconds?: number;
  /** Fixed window per user; default 60 per 60 000 ms; `null` turns rate limiting off. */
  rateLimit?: { requests: number; windowMs: number } | null;
  /** Default 60 000: waiting for the first 10 %, testing until the end. */
  buildDurationMs?: number;
  /** Final status of a new run; default 'error' when the branch name contains "fail". */
  outcome?: (build: { branch: string; projectName: string; uuid: string }) => 'success' | 'error';
  faults?: Faults;
  /**
   * The server's clock is `now() + clockOffsetMs` (default 0): every instant the simulator
   * reports (build and project times, token expiry, request records, the `Date` header) is in it.
   */
  clockOffsetMs?: number;
  /** Pushes by others around creates; default none. */
  pushes?: Pushes | null;
  /**
   * Mixed into the UUIDs of new builds (created and pushed) so two simulators never
   * hand out the same ones; default a random UUID. Seeded history keeps its fixed UUIDs.
   */
  idSalt?: string;
  /** Notification webhooks: global URLs and delivery faults; default none (projects' own URLs still get theirs). */
  webhooks?: Webhooks | null;
}

/** The kind of credential a request carried (never the credential itself). */
export type AuthorizationKind = 'basic' | 'bearer' | 'raw' | 'none';

/** One API request as received and answered; `status` is 0 when no answer was sent. */
export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  body: unknown;
  fault: string | null;
  authorization: AuthorizationKind;
}

/** A build as the simulator sees it at `now()`. Instants are ISO-8601 UTC. */
export interface SimBuild {
  uuid: string;
  /** The legacy numeric build id (the `build_id` of notification webhooks); unique in this run. */
  id: number;
  /** The project's numeric id (the API's `project_id`). */
  projectId: number;
  projectUuid: string;
  organizationUuid: string;
  ref: string;
  branch: string;
  status: string;
  queuedAt: string;
  finishedAt: string | null;
  commitSha: string;
  /** The login shown as the build's `username`. */
  username: string;
  /** Queued by a push by someone else (`pushes` or `push()`), not by an API create. */
  pusher: boolean;
  /** Created by a ghostCreate fault: the client was never told it succeeded. */
  ghost: boolean;
}

/** A running simulator. */
export interface Simulator {
  /** Base URL including /v2, e.g. http://127.0.0.1:41234/v2 */
  readonly url: string;
  readonly port: number;
  /** Every API request received, in order (never the credentials). */
  requests(): RequestRecord[];
  /** Forgets the recorded requests. */
  resetRequests(): void;
  /**
   * Every build of every project in creation order (a back-dated push comes after the create
   * that caused it), with its status at the server's now; builds queued in the future are hidden.
   */
  builds(): SimBuild[];
  /** Replaces the faults (and restarts the fault PRNG from `faults.seed`). */
  setFaults(faults: Faults): void;
  /** Replaces the pushes by others (null: none) and restarts their PRNG from `pushes.seed`. */
  setPushes(pushes: Pushes | null): void;
  /**
   * Replaces the global webhook settings (null: no global URLs, no faults) and restarts their
   * PRNG from `webhooks.seed`. Throws a SimulatorError `ERR_SIMULATOR_WEBHOOKS`.
   */
  setWebhooks(webhooks: Webhooks | null): void;
  /** The webhook settings, counts and recent deliveries. */
  webhooks(): WebhookReport;
  /**
   * Looks for build starts and finishes at the server's now (it also does so every 100 ms and on
   * each request) and resolves once every delivery begun, delays included, has settled.
   */
  flushWebhooks(): Promise<WebhookReport>;
  /** Forgets the webhook counts and records (settings stay). */
  resetWebhooks(): void;
  /** Moves the server's clock to `now() + clockOffsetMs`. */
  setClockOffset(clockOffsetMs: number): void;
  /**
   * Someone else pushes to `branch` of `project` (its name or UUID) now: a new head commit and a
   * build of it queued now, by `username` (default the pushes' username, else `someone-else`).
   * Throws a SimulatorError `ERR_SIMULATOR_PUSH` for an unknown project or an empty branch.
   */
  push(project: string, branch: string, username?: string): SimBuild;
  /** Closes all connections (including held ones) and the server. */
  close(): Promise<void>;
}
