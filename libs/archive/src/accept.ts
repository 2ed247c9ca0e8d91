import type { RawMessage, Serde } from '@leadscorer/contracts';
import { type ErrorCode, isPoison, LeadScorerError } from '@leadscorer/errors';

/**
 * Which messages the archive keeps: exactly those the scoring services would apply. A message is
 * checked with the same serde the services use (Confluent frame, registry schema, Avro body,
 * validation, key = leadId); what fails is not archived as a record (the services dead-letter it,
 * and the dead-letter topic keeps it with the reason) but counted by reason, and its offset
 * still counts as done. The one difference from a live service is the clock the validation's
 * "not too far in the future" rule reads: the message's own Kafka timestamp instead of the wall
 * clock, so the verdict does not depend on how far behind the archiver runs.
 */
export type Verdict = { ok: true; schemaId: number; body: Buffer } | { ok: false; code: ErrorCode };

export interface AcceptableMessage extends RawMessage {
  /** Kafka timestamp, epoch ms. */
  timestamp: number;
}

export class MessageAcceptor {
  private readonly serde: Serde;

  constructor(serde: Serde) {
    this.serde = serde;
  }

  /** Resolves with the verdict; rejects with a retryable error (registry down) or a bug. */
  async accept(topic: string, message: AcceptableMessage): Promise<Verdict> {
    try {
      const d =
        this.serde.decodeSync(topic, message, message.timestamp) ??
        (await this.serde.decode(topic, message, message.timestamp));
      // A copy: a slice would keep the whole fetched batch in memory until its file is written.
      return { ok: true, schemaId: d.schemaId, body: Buffer.from(message.value!.subarray(5)) };
    } catch (err) {
      if (isPoison(err)) return { ok: false, code: (err as LeadScorerError).code };
      throw err;
    }
  }
}

/**
 * Writer schemas by registry id, as registered (the exact JSON, logical types and docs included:
 * it goes into the archive file's header for other tools). One request per id, then cached: a
 * registry id's schema never changes.
 */
export class WriterSchemas {
  private readonly url: string;
  private readonly cache = new Map<number, Promise<Record<string, unknown>>>();

  private readonly timeoutMs: number;

  /** `url`: the Confluent-compatible base URL (SCHEMA_REGISTRY_URL). */
  constructor(url: string, timeoutMs = 10_000) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
  }

  get(id: number): Promise<Record<string, unknown>> {
    let schema = this.cache.get(id);
    if (!schema) {
      schema = this.fetch(id);
      schema.catch(() => this.cache.delete(id));
      this.cache.set(id, schema);
    }
    return schema;
  }

  private async fetch(id: number): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      // Bounded: a registry that accepts the connection and never answers must not stall the
      // partition for good; the caller retries with backoff.
      res = await fetch(`${this.url}/schemas/ids/${id}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new LeadScorerError('REGISTRY_UNAVAILABLE', `schema registry request failed: ${String(err)}`, {
        cause: err,
      });
    }
    if (!res.ok) {
      // The serde found this id moments ago: anything but success is the registry's trouble.
      throw new LeadScorerError(
        'REGISTRY_UNAVAILABLE',
        `schema registry answered ${res.status} for id ${id}`,
      );
    }
    const body = (await res.json()) as { schema?: string };
    return JSON.parse(body.schema ?? 'null') as Record<string, unknown>;
  }
}
