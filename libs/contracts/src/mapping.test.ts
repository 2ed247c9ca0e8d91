import type { CauseKind } from '@leadscorer/engine';
import { describe, expect, it } from 'vitest';
import { EXAMPLES } from './examples.ts';
import { AVRO_SCHEMAS } from './generated/index.ts';
import { causeKindSymbol, fieldsFor, mapToScoringEvent, toStageChangedRecord } from './mapping.ts';
import { createCatalogue, INPUT_TOPICS } from './topics.ts';

describe('mapToScoringEvent', () => {
  it('maps a web visit to the shape of docs/design-notes.md', () => {
    expect(mapToScoringEvent('engagement.web-visit.v1', EXAMPLES['engagement.web-visit.v1'])).toEqual({
      eventId: '0b9f6a8e-4a51-4a0e-9a43-3d6f1f1c2a10',
      leadId: 'lead-000123',
      eventTime: 1767262500000,
      type: 'web',
      props: {
        url: 'https://www.example.com/pricing?plan=team',
        path: '/pricing',
        referrer: 'https://www.google.com/',
        userAgent: EXAMPLES['engagement.web-visit.v1'].userAgent,
        sessionId: 's-7f3c2a',
        durationSeconds: 48,
      },
    });
  });

  it('lower-cases enums and derives seconds since delivery for email', () => {
    const event = mapToScoringEvent('engagement.email.v1', EXAMPLES['engagement.email.v1'])!;
    expect(event.type).toBe('email');
    expect(event.props.action).toBe('click');
    expect(event.props.secondsSinceDelivery).toBe(1800);
    const undelivered = { ...EXAMPLES['engagement.email.v1'], deliveredAt: null };
    expect(mapToScoringEvent('engagement.email.v1', undelivered)!.props.secondsSinceDelivery).toBeNull();
  });

  it('flattens BANT with dots and lower-cases the verdict', () => {
    const event = mapToScoringEvent('sales.qualification.v1', EXAMPLES['sales.qualification.v1'])!;
    expect(event.type).toBe('sales');
    expect(event.props).toEqual({
      verdict: 'accepted',
      'bant.budget': true,
      'bant.authority': true,
      'bant.need': true,
      'bant.timeline': false,
      reason: null,
    });
  });

  it('lower-cases seniority and keeps an unknown one null', () => {
    expect(mapToScoringEvent('lead.profile.v1', EXAMPLES['lead.profile.v1'])!.props.seniority).toBe(
      'director',
    );
    const noSeniority = { ...EXAMPLES['lead.profile.v1'], seniority: null };
    expect(mapToScoringEvent('lead.profile.v1', noSeniority)!.props.seniority).toBeNull();
  });

  it('gives the engine nothing for topics it does not score', () => {
    expect(mapToScoringEvent('lead.outcome.v1', EXAMPLES['lead.outcome.v1'])).toBeNull();
    expect(mapToScoringEvent('lead.stage-changed.v1', EXAMPLES['lead.stage-changed.v1'])).toBeNull();
  });

  // Guards the mapping against schema evolution: a field added to an .avsc file must reach the
  // engine's props (or this test is updated on purpose).
  it.each(INPUT_TOPICS.filter((t) => createCatalogue().get(t).eventType !== null))(
    'passes every schema field of %s to props',
    (topic) => {
      const event = mapToScoringEvent(topic, EXAMPLES[topic])!;
      expect(event.type).toBe(createCatalogue().get(topic).eventType);
      const expected = flatFieldNames(AVRO_SCHEMAS[topic]).filter(
        (f) => !['eventId', 'leadId', 'eventTime'].includes(f),
      );
      const derived = topic === 'engagement.email.v1' ? ['secondsSinceDelivery'] : [];
      expect(Object.keys(event.props).sort()).toEqual([...expected, ...derived].sort());
    },
  );
});

function flatFieldNames(schema: Record<string, unknown>, prefix = ''): string[] {
  const fields = schema.fields as Array<{ name: string; type: unknown }>;
  return fields.flatMap((f) => {
    const type = f.type as { type?: string };
    if (typeof type === 'object' && type !== null && type.type === 'record') {
      return flatFieldNames(type as Record<string, unknown>, `${prefix}${f.name}.`);
    }
    return [`${prefix}${f.name}`];
  });
}

describe('toStageChangedRecord', () => {
  it('builds the output record from an engine transition', () => {
    const record = toStageChangedRecord(
      {
        from: 'mql',
        to: 'pql',
        scores: { engagement: 46.2, product: 31.5, fit: 18 },
        cause: { kind: 'rule', ruleId: 'trial-invite-sent', detail: 'product 31.5 >= 30' },
        eventId: 'prd-3e0c1b52',
        eventTime: 1767349800000,
        seq: 4,
        topRules: EXAMPLES['lead.stage-changed.v1'].topRules,
      },
      {
        leadId: 'lead-000123',
        eventId: '8c3f0a52-9d1e-5b47-a6f2-0e4d9b7c1a33',
        emittedAt: 1767349800412,
        modelVersion: '2026-01-15.1',
      },
    );
    expect(record).toEqual(EXAMPLES['lead.stage-changed.v1']);
  });

  it('marks a time-driven change with a null triggering event', () => {
    const record = toStageChangedRecord(
      {
        from: 'mql',
        to: 'unqualified',
        scores: {},
        cause: { kind: 'decay', detail: 'engagement 19.9 < 20' },
        eventTime: 1,
        seq: 5,
      },
      { leadId: 'l', eventId: 'e', emittedAt: 2, modelVersion: 'm' },
    );
    expect(record.triggeringEventId).toBeNull();
    expect(record.cause).toEqual({ kind: 'DECAY', ruleId: null, detail: 'engagement 19.9 < 20' });
    // An outbox entry written before stage changes named their top rules: none.
    expect(record.topRules).toEqual([]);
  });

  it('knows every cause kind of the engine (libs/engine/src/types.ts CauseKind)', () => {
    const engineKinds = [
      'rule',
      'threshold',
      'sales-verdict',
      'disqualified',
      'reopened',
      'decay',
      'signal-expired',
      'model-change',
    ] satisfies CauseKind[];
    for (const kind of engineKinds) expect(causeKindSymbol(kind)).not.toBe('UNKNOWN');
    expect(causeKindSymbol('model-change')).toBe('MODEL_CHANGE');
    expect(causeKindSymbol('something-new')).toBe('UNKNOWN');
  });
});

describe('fieldsFor', () => {
  it('gives a record with only those fields the same values of the asked properties, for any subset', () => {
    for (const topic of INPUT_TOPICS) {
      const full = mapToScoringEvent(topic, EXAMPLES[topic]);
      if (!full) continue;
      const names = Object.keys(full.props);
      // Every subset of one or two properties, and none.
      const subsets = [
        [],
        ...names.map((n) => [n]),
        ...names.flatMap((a, i) => names.slice(i + 1).map((b) => [a, b])),
      ];
      for (const props of subsets) {
        const keep = fieldsFor(topic, props);
        const record = Object.fromEntries(Object.entries(EXAMPLES[topic]).filter(([k]) => keep.has(k)));
        const got = mapToScoringEvent(topic, record as never)!;
        expect([got.eventId, got.leadId, got.eventTime], `${topic} ${props}`).toEqual([
          full.eventId,
          full.leadId,
          full.eventTime,
        ]);
        for (const p of props) expect(got.props[p], `${topic} ${p}`).toEqual(full.props[p]);
      }
      // It does leave fields out: each topic has some the engine's events can do without.
      expect(fieldsFor(topic, []).size, topic).toBeLessThan(Object.keys(EXAMPLES[topic]).length);
    }
  });
});
