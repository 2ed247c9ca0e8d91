import {
  type LeadStage,
  type LeadStageChanged,
  type RecordByTopic,
  STAGE_CHANGE_CAUSE_KIND_SYMBOLS,
  type StageChangeCauseKind,
} from './generated/index.ts';
import type { ScoringEventType, TopicName } from './topics.ts';

/**
 * An input event as the scoring engine sees it (docs/design-notes.md). The engine declares an
 * identical interface in libs/engine; structural typing makes the two interchangeable, so the
 * engine needs no import from the contracts library and vice versa.
 */
export interface ScoringEvent {
  /** Producer-assigned, unique per event; duplicates carry the same id. */
  eventId: string;
  leadId: string;
  /** Epoch milliseconds (Avro timestamp-millis). */
  eventTime: number;
  type: ScoringEventType;
  /** The Avro record's own fields, flat: nested records joined with a dot (`bant.budget`). */
  props: Record<string, string | number | boolean | null>;
}

type Props = ScoringEvent['props'];

/**
 * Maps a decoded record to the engine's event. Pure. Returns null for topics the engine does not
 * score (lead.outcome.v1, lead.stage-changed.v1).
 *
 * Beyond flattening, the mapping makes two choices the model's rules rely on:
 * - enum symbols reach the engine in lower case (`OPEN` -> `open`);
 * - email events get `secondsSinceDelivery` (null when deliveredAt is unknown), the signal that
 *   tells a privacy proxy's open seconds after delivery from a person's. It is negative when the
 *   producers' clocks disagree; the engine decides what that means.
 * Optional fields are present with null rather than absent, so every event of a type has the
 * same keys.
 */
export function mapToScoringEvent<T extends TopicName>(
  topic: T,
  record: RecordByTopic[T],
): ScoringEvent | null {
  const r = record as RecordByTopic[TopicName];
  switch (topic) {
    case 'engagement.web-visit.v1': {
      const v = r as RecordByTopic['engagement.web-visit.v1'];
      return event(v, 'web', {
        url: v.url,
        path: v.path,
        referrer: v.referrer,
        userAgent: v.userAgent,
        sessionId: v.sessionId,
        durationSeconds: v.durationSeconds,
      });
    }
    case 'engagement.email.v1': {
      const e = r as RecordByTopic['engagement.email.v1'];
      return event(e, 'email', {
        action: e.action.toLowerCase(),
        campaignId: e.campaignId,
        messageId: e.messageId,
        deliveredAt: e.deliveredAt,
        secondsSinceDelivery: e.deliveredAt === null ? null : (e.eventTime - e.deliveredAt) / 1000,
        userAgent: e.userAgent,
        linkUrl: e.linkUrl,
      });
    }
    case 'product.trial-activity.v1': {
      const t = r as RecordByTopic['product.trial-activity.v1'];
      return event(t, 'trial', {
        accountId: t.accountId,
        action: t.action,
        feature: t.feature,
        quantity: t.quantity,
      });
    }
    case 'lead.profile.v1': {
      const p = r as RecordByTopic['lead.profile.v1'];
      return event(p, 'profile', {
        jobTitle: p.jobTitle,
        seniority: p.seniority === null ? null : p.seniority.toLowerCase(),
        companySize: p.companySize,
        industry: p.industry,
        country: p.country,
      });
    }
    case 'sales.qualification.v1': {
      const s = r as RecordByTopic['sales.qualification.v1'];
      return event(s, 'sales', {
        verdict: s.verdict.toLowerCase(),
        'bant.budget': s.bant.budget,
        'bant.authority': s.bant.authority,
        'bant.need': s.bant.need,
        'bant.timeline': s.bant.timeline,
        reason: s.reason,
      });
    }
    case 'lead.outcome.v1':
    case 'lead.stage-changed.v1':
    case 'lead.erasure-requests.v1':
    case 'lead.stage.v1':
      return null;
    default:
      return unreachable(topic);
  }
}

/**
 * The fields of a topic's record that mapToScoringEvent needs to give the properties `props`
 * their values: what a reader may decode when nothing else is read (a replay skips the rest;
 * Avro schema resolution skips a field the reader schema leaves out without decoding it). The
 * envelope (eventId, leadId, eventTime) is always needed, and so is every field the mapping
 * transforms rather than copies, whether asked for or not. Kept next to the mapping it mirrors.
 */
export function fieldsFor(topic: TopicName, props: readonly string[]): Set<string> {
  const fields = new Set(['eventId', 'leadId', 'eventTime', ...(ALWAYS[topic] ?? [])]);
  for (const p of props) {
    if (p === 'secondsSinceDelivery' && topic === 'engagement.email.v1') fields.add('deliveredAt');
    else fields.add(p.split('.')[0]!);
  }
  return fields;
}

/** Fields the mapping transforms (lower-cases, or flattens) on every event of the topic. */
const ALWAYS: Partial<Record<TopicName, readonly string[]>> = {
  'engagement.email.v1': ['action'],
  'lead.profile.v1': ['seniority'],
  'sales.qualification.v1': ['verdict', 'bant'],
};

function event(
  envelope: { eventId: string; leadId: string; eventTime: number },
  type: ScoringEventType,
  props: Props,
): ScoringEvent {
  return { eventId: envelope.eventId, leadId: envelope.leadId, eventTime: envelope.eventTime, type, props };
}

function unreachable(topic: never): never {
  throw new Error(`no mapping for topic ${String(topic)}`);
}

/**
 * A stage transition as the engine describes it (libs/engine StageTransition, structurally), and
 * what only the publisher knows. Kept structural so the contracts library does not import the
 * engine.
 */
export interface TransitionLike {
  from: string;
  to: string;
  scores: Record<string, number>;
  cause: { kind: string; ruleId?: string; detail: string };
  /** The triggering event; absent for time-driven changes. */
  eventId?: string;
  eventTime: number;
  seq: number;
  /** Absent in outbox entries written before stage changes carried them. */
  topRules?: { ruleId: string; dimension: string; points: number }[];
}

export interface TransitionMeta {
  leadId: string;
  /** The transition's own id, the same on every publication (engine: transitionId()). */
  eventId: string;
  emittedAt: number;
  modelVersion: string;
}

/**
 * Builds the lead.stage-changed.v1 record. Engine cause kinds are kebab case (`sales-verdict`),
 * the Avro enum upper snake case (`SALES_VERDICT`); a kind the schema does not know yet becomes
 * UNKNOWN rather than a stage change stuck unpublished, and `detail` still explains it. Pure.
 */
export function toStageChangedRecord(transition: TransitionLike, meta: TransitionMeta): LeadStageChanged {
  return {
    eventId: meta.eventId,
    leadId: meta.leadId,
    fromStage: transition.from,
    toStage: transition.to,
    scores: { ...transition.scores },
    cause: {
      kind: causeKindSymbol(transition.cause.kind),
      ruleId: transition.cause.ruleId ?? null,
      detail: transition.cause.detail,
    },
    triggeringEventId: transition.eventId ?? null,
    eventTime: transition.eventTime,
    emittedAt: meta.emittedAt,
    modelVersion: meta.modelVersion,
    sequence: transition.seq,
    topRules: (transition.topRules ?? []).map((r) => ({
      ruleId: r.ruleId,
      dimension: r.dimension,
      points: r.points,
    })),
  };
}

/**
 * Builds the lead.stage.v1 record of a stage change: the lead's stage since then, with the
 * change's scores, sequence and model version. Pure.
 */
export function toStageSnapshotRecord(
  transition: TransitionLike,
  meta: { leadId: string; eventId: string; recordedAt: number; modelVersion: string },
): LeadStage {
  return {
    leadId: meta.leadId,
    stage: transition.to,
    previousStage: transition.from,
    sequence: transition.seq,
    scores: { ...transition.scores },
    stageChangeEventId: meta.eventId,
    changedAt: transition.eventTime,
    recordedAt: meta.recordedAt,
    modelVersion: meta.modelVersion,
  };
}

export function causeKindSymbol(kind: string): StageChangeCauseKind {
  const symbol = kind.toUpperCase().replaceAll('-', '_');
  return (STAGE_CHANGE_CAUSE_KIND_SYMBOLS as readonly string[]).includes(symbol)
    ? (symbol as StageChangeCauseKind)
    : 'UNKNOWN';
}
