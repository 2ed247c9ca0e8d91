import type { InputTopicName } from '@leadscorer/contracts';
import type { ScoringEvent } from '@leadscorer/engine';

/**
 * The inverse of the contracts' mapToScoringEvent, for tests: the Avro record a producer would
 * publish for a generated ScoringEvent, and the topic it goes to.
 */
const up = (v: unknown): string => String(v).toUpperCase();
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export function toRecord(e: ScoringEvent): { topic: InputTopicName; record: Record<string, unknown> } {
  const base = { eventId: e.eventId, leadId: e.leadId, eventTime: e.eventTime };
  const p = e.props;
  switch (e.type) {
    case 'web':
      return {
        topic: 'engagement.web-visit.v1',
        record: {
          ...base,
          url: p.url,
          path: p.path,
          referrer: null,
          userAgent: p.userAgent,
          sessionId: null,
          durationSeconds: null,
        },
      };
    case 'email':
      return {
        topic: 'engagement.email.v1',
        record: {
          ...base,
          action: up(p.action),
          campaignId: p.campaignId,
          messageId: p.messageId,
          deliveredAt: numOrNull(p.deliveredAt),
          userAgent: str(p.userAgent),
          linkUrl: null,
        },
      };
    case 'trial':
      return {
        topic: 'product.trial-activity.v1',
        record: {
          ...base,
          accountId: p.accountId,
          action: p.action,
          feature: str(p.feature),
          quantity: numOrNull(p.quantity),
        },
      };
    case 'profile':
      return {
        topic: 'lead.profile.v1',
        record: {
          ...base,
          jobTitle: str(p.jobTitle),
          seniority: p.seniority === null || p.seniority === undefined ? null : up(p.seniority),
          companySize: numOrNull(p.companySize),
          industry: str(p.industry),
          country: str(p.country),
        },
      };
    case 'sales':
      return {
        topic: 'sales.qualification.v1',
        record: {
          ...base,
          verdict: up(p.verdict),
          bant: {
            budget: p['bant.budget'] === true,
            authority: p['bant.authority'] === true,
            need: p['bant.need'] === true,
            timeline: p['bant.timeline'] === true,
          },
          reason: str(p.reason),
        },
      };
  }
}
