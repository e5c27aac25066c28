/**
 * The Codeship API v2 simulator: a faithful stand-in for the retired service (see
 * docs/codeship-api.md), used by the tests, the demo and the benchmarks on loopback.
 * Start one with `startSimulator()`; inspect it with `requests()` and `builds()`; steer it with
 * `setFaults()`, `setPushes()`, `push()`, `setWebhooks()` and `setClockOffset()`; follow its
 * notification webhooks with `webhooks()` and `flushWebhooks()`.
 */
export { RATE_LIMIT_TEXT, TWO_FACTOR_ERROR } from './api.ts';
export { DEMO_PASSWORD, DEMO_USERNAME, defaultSeed } from './default-seed.ts';
export { SimulatorError } from './errors.ts';
export { FaultInjector, matchesRoute, validateFaults } from './faults.ts';
export { DEFAULT_PUSHER, validatePushes } from './pushes.ts';
export { loadSeedFile, SeedError, validateSeed } from './seed.ts';
export { startSimulator } from './server.ts';
export type {
  AuthorizationKind,
  Faults,
  Pushes,
  RequestRecord,
  SeedBuild,
  SeedOrganization,
  SeedProject,
  SeedUser,
  SimBuild,
  Simulator,
  SimulatorOptions,
  SimulatorSeed,
  WebhookDelivery,
  WebhookEvent,
  WebhookPayload,
  WebhookReport,
  Webhooks,
} from './types.ts';
export {
  isLoopbackWebhookUrl,
  validateWebhooks,
  WEBHOOK_URL_RULE,
} from './webhook-settings.ts';
export { WEBHOOK_TIMEOUT_MS } from './webhooks.ts';
