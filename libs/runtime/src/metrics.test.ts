import fc from 'fast-check';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterTally } from './metrics.ts';

describe('CounterTally', () => {
  it('leaves a counter where one inc() per occurrence would have', async () => {
    const label = fc.constantFrom('engagement.web-visit.v1', 'engagement.email.v1', 'a:b', 'a', 'b,c', '');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(label, label), { maxLength: 50 }),
        fc.nat(3),
        async (pairs, flushes) => {
          const registry = new Registry();
          const labelNames = ['topic', 'reason'] as const;
          const direct = new Counter({ name: 'direct', help: 'x', labelNames, registers: [registry] });
          const tallied = new Counter({ name: 'tallied', help: 'x', labelNames, registers: [registry] });
          const tally = new CounterTally(tallied, labelNames);
          pairs.forEach(([topic, reason], i) => {
            direct.inc({ topic, reason });
            tally.add(topic, reason);
            if (flushes > 0 && i % (flushes + 1) === 0) tally.flush();
          });
          tally.flush();
          tally.flush(); // a second flush adds nothing
          const byLabels = async (c: Counter<'topic' | 'reason'>) =>
            Object.fromEntries(
              (await c.get()).values.map((v) => [`${v.labels.topic}|${v.labels.reason}`, v.value]),
            );
          expect(await byLabels(tallied)).toEqual(await byLabels(direct));
        },
      ),
    );
  });

  it('takes a single label', async () => {
    const counter = new Counter({ name: 'one', help: 'x', labelNames: ['rule'], registers: [] });
    const tally = new CounterTally(counter, ['rule']);
    for (const rule of ['a', 'b', 'a']) tally.add(rule);
    tally.flush();
    expect((await counter.get()).values.map((v) => [v.labels.rule, v.value])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });
});
