/**
 * The closed set of coded errors the whole system raises on purpose.
 *
 * Every consumer loop decides what to do by the error's class, never by its message:
 * - `retryable: true`   a transient fault (broker, registry or Redis unavailable): pause,
 *                       back off and retry the same message; never skip it, never dead-letter it.
 * - `poison: true`      the message itself is bad (cannot be decoded, fails validation, too
 *                       large): send it to the dead-letter topic with the code and go on.
 * - neither             a bug or a broken deployment (bad config, invariant violated): crash
 *                       loudly so the orchestrator restarts us and the alert fires.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MODEL_INVALID'
  | 'MESSAGE_NO_KEY'
  | 'MESSAGE_TOO_LARGE'
  | 'MESSAGE_BAD_MAGIC_BYTE'
  | 'MESSAGE_TRUNCATED'
  | 'MESSAGE_UNKNOWN_SCHEMA'
  | 'MESSAGE_DECODE_FAILED'
  | 'MESSAGE_VALIDATION_FAILED'
  | 'MESSAGE_KEY_MISMATCH'
  | 'SCHEMA_INCOMPATIBLE'
  | 'DELIVERY_FAILED'
  | 'BROKER_UNAVAILABLE'
  | 'REGISTRY_UNAVAILABLE'
  | 'REDIS_UNAVAILABLE'
  | 'SCRIPT_FAILED'
  | 'STATE_CONFLICT'
  | 'STATE_LOST'
  | 'PARTITION_FENCED'
  | 'GENERATION_RETIRED'
  | 'INVARIANT_VIOLATED'
  | 'ARCHIVE_INVALID';

interface ErrorClass {
  retryable: boolean;
  poison: boolean;
}

const CLASSES: Record<ErrorCode, ErrorClass> = {
  CONFIG_INVALID: { retryable: false, poison: false },
  MODEL_INVALID: { retryable: false, poison: false },
  MESSAGE_NO_KEY: { retryable: false, poison: true },
  MESSAGE_TOO_LARGE: { retryable: false, poison: true },
  MESSAGE_BAD_MAGIC_BYTE: { retryable: false, poison: true },
  MESSAGE_TRUNCATED: { retryable: false, poison: true },
  MESSAGE_UNKNOWN_SCHEMA: { retryable: false, poison: true },
  MESSAGE_DECODE_FAILED: { retryable: false, poison: true },
  MESSAGE_VALIDATION_FAILED: { retryable: false, poison: true },
  MESSAGE_KEY_MISMATCH: { retryable: false, poison: true },
  SCHEMA_INCOMPATIBLE: { retryable: false, poison: false },
  // A downstream (webhook) refused the message or kept failing past the bounded attempts.
  DELIVERY_FAILED: { retryable: false, poison: true },
  BROKER_UNAVAILABLE: { retryable: true, poison: false },
  REGISTRY_UNAVAILABLE: { retryable: true, poison: false },
  REDIS_UNAVAILABLE: { retryable: true, poison: false },
  SCRIPT_FAILED: { retryable: false, poison: false },
  // Other writers kept changing the same leads between read and commit: retry the batch.
  STATE_CONFLICT: { retryable: true, poison: false },
  // Redis does not hold the state epoch the service works with (wiped, replaced): nothing is
  // applied until the state is rebuilt or an operator accepts starting empty; retried meanwhile.
  STATE_LOST: { retryable: true, poison: false },
  // A partition's applied position in Redis is not where this consumer left it (Redis went back
  // in time, or another consumer moved it): re-read the positions and seek, never skip.
  PARTITION_FENCED: { retryable: true, poison: false },
  // The generation of keys a service writes was retired by a rescore switching to a new one:
  // follow the active generation and retry (the new one's positions say where to read from).
  GENERATION_RETIRED: { retryable: true, poison: false },
  INVARIANT_VIOLATED: { retryable: false, poison: false },
  // An archive file that is not a well-formed archive container (libs/archive): refused, named.
  ARCHIVE_INVALID: { retryable: false, poison: false },
};

export class LeadScorerError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly poison: boolean;
  /** Structured, non-personal context for logs and dead-letter headers. */
  readonly details: Readonly<Record<string, string | number | boolean>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, string | number | boolean> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LeadScorerError';
    this.code = code;
    this.retryable = CLASSES[code].retryable;
    this.poison = CLASSES[code].poison;
    this.details = options.details ?? {};
  }
}

export function isLeadScorerError(err: unknown): err is LeadScorerError {
  return err instanceof LeadScorerError;
}

/** True when the error is a known transient fault that must be retried, never skipped. */
export function isRetryable(err: unknown): boolean {
  return isLeadScorerError(err) && err.retryable;
}

/** True when the error says the message itself is bad and belongs in the dead-letter topic. */
export function isPoison(err: unknown): boolean {
  return isLeadScorerError(err) && err.poison;
}
