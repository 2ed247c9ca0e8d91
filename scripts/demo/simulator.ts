import { randomUUID } from 'node:crypto';
import type { InputTopicName, RecordByTopic, Serde } from '@leadscorer/contracts';
import type { Producer } from 'kafkajs';
import type { Persona } from './personas.ts';

/**
 * Plays the personas' timelines and, in the background, `rate` events per second of ordinary
 * traffic from a crowd of anonymous leads, through the real contracts (Avro, registry ids).
 */
export interface SimulatorOptions {
  serde: Serde;
  producer: Producer;
  personas: Persona[];
  /** Background events per second (0 for none). */
  rate: number;
  runId: string;
  onPersonaLead?: (persona: string, leadId: string) => void;
}

const NOISE_PATHS = ['/', '/blog/lead-scoring-101', '/docs/api', '/pricing', '/customers/acme', '/careers'];

export class Simulator {
  private readonly opts: SimulatorOptions;
  private readonly timers: NodeJS.Timeout[] = [];
  private sent = 0;

  constructor(opts: SimulatorOptions) {
    this.opts = opts;
  }

  get eventsSent(): number {
    return this.sent;
  }

  start(): void {
    const { personas, runId } = this.opts;
    for (const p of personas) {
      const leadId = `${p.name}-${runId}`;
      this.opts.onPersonaLead?.(p.name, leadId);
      for (const step of p.steps) {
        this.timers.push(
          setTimeout(() => {
            const now = Date.now();
            void this.send(step.topic, step.record(leadId, randomUUID(), now), now);
          }, step.at * 1000),
        );
      }
    }
    if (this.opts.rate > 0) {
      const every = Math.max(10, Math.floor(1000 / this.opts.rate));
      this.timers.push(setInterval(() => void this.noise(), every));
    }
  }

  private async noise(): Promise<void> {
    const now = Date.now();
    const leadId = `visitor-${this.opts.runId}-${Math.floor(Math.random() * 500)}`;
    const path = NOISE_PATHS[Math.floor(Math.random() * NOISE_PATHS.length)]!;
    await this.send(
      'engagement.web-visit.v1',
      {
        eventId: randomUUID(),
        leadId,
        eventTime: now,
        url: `https://www.example.com${path}`,
        path,
        referrer: null,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
        sessionId: null,
        durationSeconds: null,
      },
      now,
    );
  }

  private async send<T extends InputTopicName>(
    topic: T,
    record: RecordByTopic[T],
    now: number,
  ): Promise<void> {
    try {
      const m = await this.opts.serde.encode(topic, record, now);
      await this.opts.producer.send({ topic: m.topic, messages: [{ key: m.key, value: m.value }] });
      this.sent++;
    } catch (err) {
      console.error(`[simulator] could not send to ${topic}: ${(err as Error).message}`);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}
