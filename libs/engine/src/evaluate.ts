import { eventHash } from './ids.ts';
import type { Model } from './model.ts';
import type { EventEffect, FilterReason, SalesKind, ScoringEvent } from './types.ts';

const BANT = ['bant.budget', 'bant.authority', 'bant.need', 'bant.timeline'] as const;
const VERDICTS: ReadonlySet<string> = new Set<SalesKind>(['accepted', 'rejected', 'reopened']);

/**
 * Everything about an event that needs only the event and the model: machine-activity filter,
 * matching rules, the profile's fit rules, the sales verdict and the dedupe hash. Stateless, so
 * services may run it before touching Redis and hand the result to the Lua script.
 */
export function evaluateEvent(model: Model, event: ScoringEvent): EventEffect {
  const base = { eventId: event.eventId, hash: eventHash(event.eventId), eventTime: event.eventTime };
  const filtered = machineActivity(model, event);
  if (filtered) return { ...base, filtered, hits: [], signals: [] };

  const hits: string[] = [];
  const fit: string[] = [];
  const signals: string[] = [];
  let disqualify: string | undefined;
  for (const rule of model.rulesByType[event.type]) {
    if (!rule.matches(event.props)) continue;
    (rule.fit ? fit : hits).push(rule.id);
    if (rule.signal && !signals.includes(rule.signal)) signals.push(rule.signal);
    if (rule.disqualify) disqualify ??= rule.id;
  }
  const effect: EventEffect = { ...base, hits, signals };
  // A profile event replaces the whole fit, so "no fit rule matched" is information too.
  if (event.type === 'profile') effect.fit = fit;
  if (disqualify) effect.disqualify = disqualify;
  if (event.type === 'sales') {
    const verdict = event.props['verdict'];
    if (typeof verdict === 'string' && VERDICTS.has(verdict)) {
      const passed = BANT.filter((k) => event.props[k] === true).length;
      effect.sales = { kind: verdict as SalesKind, bantPassed: passed >= model.bantMinPassed };
    }
  }
  return effect;
}

/**
 * Opens fetched by privacy proxies and clicks by link scanners happen seconds after delivery or
 * carry a known agent; bots crawl the site. They must not score, but services count them, so the
 * reason is returned. Unsubscribes are never filtered: they are explicit and rare.
 */
function machineActivity(model: Model, event: ScoringEvent): FilterReason | undefined {
  const { props } = event;
  const ua = props['userAgent'];
  if (event.type === 'web') {
    return typeof ua === 'string' && model.machine.webBotAgents?.test(ua) ? 'web-bot' : undefined;
  }
  if (event.type !== 'email' || (props['action'] !== 'open' && props['action'] !== 'click')) return undefined;
  const since = secondsSinceDelivery(event);
  if (since !== undefined && since * 1000 < model.machine.emailMinMsAfterDelivery) return 'email-too-soon';
  if (typeof ua === 'string' && model.machine.emailProxyAgents?.test(ua)) return 'email-proxy-agent';
  return undefined;
}

function secondsSinceDelivery(event: ScoringEvent): number | undefined {
  const given = event.props['secondsSinceDelivery'];
  if (typeof given === 'number') return given;
  const deliveredAt = event.props['deliveredAt'];
  return typeof deliveredAt === 'number' ? (event.eventTime - deliveredAt) / 1000 : undefined;
}
