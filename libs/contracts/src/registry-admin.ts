import { LeadScorerError } from '@leadscorer/errors';

/**
 * The deploy-time side of the schema registry: register, check compatibility, read versions,
 * set a subject's compatibility level. Plain fetch against the Confluent-compatible REST API,
 * because @kafkajs/confluent-schema-registry exposes none of the compatibility calls and its
 * register() trips over Apicurio (see registerSchema). The runtime path (schema lookup by id,
 * with caching) goes through that library in serde.ts.
 *
 * Verified against Apicurio 3.0.9's ccompat API, which differs from Confluent in ways that
 * matter here:
 * - GET /config/{subject} answers 200 with the global level for an existing subject that has no
 *   level of its own, and 404 for an unknown subject;
 * - POST /compatibility/subjects/{s}/versions/{v} answers {"is_compatible": true} for an unknown
 *   subject (Confluent: 404), never explains a false (even with ?verbose=true), and checks only
 *   the version named, even on a BACKWARD_TRANSITIVE subject, whose registration checks them all;
 * - a refused registration is a 409 whose message lists the diff ("b at /fields/1");
 * - a lookup, and the lookup every registration starts with, compares the exact text unless
 *   `apicurio.ccompat.use-canonical-hash` is on or the call passes `normalize=true` (then it
 *   compares canonical forms: keys sorted, formatting ignored).
 */

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export type CompatibilityLevel =
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE'
  | 'NONE';

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  /** The schema text as the registry stores it. */
  schema: string;
}

export interface RegistryAdmin {
  /** Every version number of a subject, oldest first; [] for an unknown subject. */
  versions(subject: string): Promise<number[]>;
  version(subject: string, version: number | 'latest'): Promise<SubjectVersion>;
  /** Asks the registry whether `schema` may follow `version` under the subject's rules. */
  isCompatible(subject: string, schema: string, version: number | 'latest'): Promise<boolean>;
  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void>;
  /**
   * Registers (or finds, when canonically equal) the schema; throws SCHEMA_INCOMPATIBLE when
   * refused. Passes normalize=true, so a registry that compares exact text still finds the version
   * a differently formatted text of the same schema registered, instead of adding a duplicate.
   */
  register(subject: string, schema: string): Promise<{ id: number }>;
  /**
   * The version of `subject` holding `schema`, looked up as Confluent clients do before producing
   * (POST /subjects/{subject}, no normalize); undefined when the registry finds none (40403) or
   * knows no such subject (40401).
   */
  lookup(subject: string, schema: string): Promise<{ id: number; version: number } | undefined>;
  /** Soft then permanent delete; tests clean up with it. */
  deleteSubject(subject: string): Promise<void>;
}

export interface RegistryAdminOptions {
  /** Base URL of the Confluent-compatible API, e.g. http://127.0.0.1:18081/apis/ccompat/v7 */
  url: string;
  timeoutMs?: number;
  /** HTTP basic auth, when the registry asks for it. */
  auth?: { username: string; password: string };
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function createRegistryAdmin(options: RegistryAdminOptions): RegistryAdmin {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const authorization: Record<string, string> = options.auth
    ? {
        authorization: `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`,
      }
    : {};

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE, ...authorization },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new LeadScorerError(
        'REGISTRY_UNAVAILABLE',
        `schema registry at ${base} unreachable: ${errText(err)}`,
        {
          cause: err,
        },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      const message = parseMessage(text) ?? `HTTP ${res.status}`;
      if (res.status >= 500) {
        throw new LeadScorerError('REGISTRY_UNAVAILABLE', `${method} ${path}: ${message}`, {
          details: { status: res.status },
        });
      }
      throw new HttpError(res.status, `${method} ${path}: ${message}`);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  const subjectPath = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;

  return {
    async versions(subject) {
      try {
        return await call<number[]>('GET', `${subjectPath(subject)}/versions`);
      } catch (err) {
        if (err instanceof HttpError && err.status === 404) return [];
        throw err;
      }
    },
    version: (subject, version) => call<SubjectVersion>('GET', `${subjectPath(subject)}/versions/${version}`),
    async isCompatible(subject, schema, version) {
      const path = `/compatibility${subjectPath(subject)}/versions/${version}`;
      const res = await call<{ is_compatible: boolean }>('POST', path, { schema });
      return res.is_compatible;
    },
    async setCompatibility(subject, level) {
      await call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    },
    async register(subject, schema) {
      try {
        return await call<{ id: number }>('POST', `${subjectPath(subject)}/versions?normalize=true`, {
          schema,
        });
      } catch (err) {
        if (err instanceof HttpError && (err.status === 409 || err.status === 422)) {
          throw new LeadScorerError(
            'SCHEMA_INCOMPATIBLE',
            `registry refused a new version of ${subject}: ${err.message}`,
            {
              cause: err,
              details: { subject },
            },
          );
        }
        throw err;
      }
    },
    async lookup(subject, schema) {
      try {
        return await call<{ id: number; version: number }>('POST', subjectPath(subject), { schema });
      } catch (err) {
        if (err instanceof HttpError && err.status === 404) return undefined;
        throw err;
      }
    },
    async deleteSubject(subject) {
      for (const query of ['', '?permanent=true']) {
        try {
          await call('DELETE', subjectPath(subject) + query);
        } catch (err) {
          if (!(err instanceof HttpError && err.status === 404)) throw err;
        }
      }
    },
  };
}

function parseMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return text.slice(0, 200) || undefined;
  }
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return err.message + cause;
  }
  return String(err);
}
