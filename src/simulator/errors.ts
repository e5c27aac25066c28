/**
 * The simulator's own error: it stands in for a remote service and imports nothing from the
 * product, so it does not share the product's error class. Each has a stable `code`
 * (`ERR_SIMULATOR_SEED`, `ERR_SIMULATOR_FAULTS`, …) and a message that says what was expected.
 */
export class SimulatorError extends Error {
  override name = 'SimulatorError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `value` as an Error (a thrown string or object becomes the message). */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
