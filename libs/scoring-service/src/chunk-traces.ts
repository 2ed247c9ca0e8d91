import type { ApplyItem } from '@leadscorer/core';
import { type InboundMessage, passThrough, type Tracing } from '@leadscorer/runtime';
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * The spans of one chunk, one trace per event: a CONSUMER span `process <topic>` under the
 * `traceparent` the message carried (a new trace when it carried none and tracing is on), and
 * under it a CLIENT span `commit` for the Redis compare-and-set that applied the event. The commit
 * span's traceparent goes into the item, so a stage change the event causes carries it into the
 * outbox and on to lead.stage-changed (sinks.ts).
 *
 * With tracing off no span is made: a message's well-formed traceparent is handed on as it is
 * (one property lookup and, with a header, one regular-expression test per message).
 * `npm run bench:tracing` measures each mode.
 *
 * Attribute names follow the OpenTelemetry messaging and database conventions (written out: the
 * package marks them incubating).
 */
export class ChunkTraces {
  private readonly tracing: Tracing;
  /** Process spans by message index. */
  private readonly process = new Map<number, Span>();
  /** Tracing off: the traceparent of each message index that carried one. */
  private readonly passed = new Map<number, string>();
  /** Message index of each item index that is traced. */
  private readonly itemOf = new Map<number, number>();
  private commits: Span[] = [];

  constructor(tracing: Tracing) {
    this.tracing = tracing;
  }

  /** Starts the process span of message `index` (if it is traced). */
  begin(index: number, m: InboundMessage): void {
    if (!this.tracing.enabled) {
      const traceparent = passThrough(m.headers);
      if (traceparent !== undefined) this.passed.set(index, traceparent);
      return;
    }
    const parent = this.tracing.extract(m.headers);
    const span = this.tracing.tracer.startSpan(
      `process ${m.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.destination.name': m.topic,
          'messaging.destination.partition.id': String(m.partition),
          'messaging.kafka.offset': Number(m.offset),
          ...(m.key ? { 'messaging.kafka.message.key': m.key.toString() } : {}),
        },
      },
      parent,
    );
    this.process.set(index, span);
  }

  /** Item `item` (its position in the chunk's items) came from message `index`. */
  item(item: number, index: number): void {
    if (this.process.has(index) || this.passed.has(index)) this.itemOf.set(item, index);
  }

  /** A message that was dead-lettered: its span says why. */
  deadLettered(index: number, code: string): void {
    const span = this.process.get(index);
    if (!span) return;
    span.setAttribute('leadscorer.dead_letter.reason', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `dead-lettered: ${code}` });
  }

  /** Starts a commit span under each traced item's process span and puts its traceparent in the item. */
  startCommit(items: ApplyItem[]): void {
    for (const [i, index] of this.itemOf) {
      const passed = this.passed.get(index);
      if (passed !== undefined) {
        items[i]!.trace = passed;
        continue;
      }
      const parent = trace.setSpan(ROOT_CONTEXT, this.process.get(index)!);
      const span = this.tracing.tracer.startSpan(
        'commit',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'db.system.name': 'redis',
            'db.operation.name': 'EVALSHA',
            'leadscorer.lead.id': items[i]!.leadId,
          },
        },
        parent,
      );
      const traceparent = this.tracing.traceparentOf(span);
      if (traceparent) items[i]!.trace = traceparent;
      this.commits.push(span);
    }
  }

  endCommit(err?: unknown): void {
    for (const span of this.commits) endSpan(span, err);
    this.commits = [];
  }

  /** Ends every process span (with the error that makes the chunk retry, if any). */
  end(err?: unknown): void {
    this.endCommit(err);
    for (const span of this.process.values()) endSpan(span, err);
    this.process.clear();
    this.passed.clear();
  }
}

function endSpan(span: Span, err: unknown): void {
  if (err !== undefined) {
    const e = err as { code?: string; message?: string };
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.code ?? e.message ?? String(err) });
  }
  span.end();
}
