import { eventHash } from './ids.ts';
import type { Model, Rule } from './model-types.ts';
import type { EventEffect, EventType, FilterReason, PropValue, SalesKind, ScoringEvent } from './types.ts';

const BANT = ['bant.budget', 'bant.authority', 'bant.need', 'bant.timeline'] as const;
const VERDICTS: ReadonlySet<string> = new Set<SalesKind>(['accepted', 'rejected', 'reopened']);

/**
 * Everything about an event that needs only the event and the model: machine-activity filter,
 * matching rules, the profile's fit rules, the sales verdict and the dedupe hash. Stateless, so
 * services run it once per event before reading the lead, and apply the result again unchanged
 * when a compare-and-set commit has to be redone.
 */
export function evaluateEvent(model: Model, event: ScoringEvent): EventEffect {
  const hash = eventHash(event.eventId);
  const filtered = machineActivity(model, event);
  if (filtered) return effect(event, hash, filtered, [], undefined, [], undefined, undefined);

  const hits: string[] = [];
  const fit: string[] | undefined = event.type === 'profile' ? [] : undefined;
  const signals: string[] = [];
  let disqualify: string | undefined;
  // Each property the type's rules test is read once (a property read by a name that varies is
  // one of the slower operations in V8); the rules then test values by position.
  const names = model.propsByType[event.type];
  const values = scratch;
  for (let k = 0; k < names.length; k++) values[k] = event.props[names[k]!];
  const rules = model.rulesByType[event.type];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    if (!holds(rule, values)) continue;
    // A profile event replaces the whole fit, so "no fit rule matched" is information too.
    if (rule.fit) fit!.push(rule.id);
    else hits.push(rule.id);
    if (rule.signal && !signals.includes(rule.signal)) signals.push(rule.signal);
    if (rule.disqualify) disqualify ??= rule.id;
  }
  let sales: EventEffect['sales'];
  if (event.type === 'sales') {
    const verdict = event.props['verdict'];
    if (typeof verdict === 'string' && VERDICTS.has(verdict)) {
      const passed = BANT.filter((k) => event.props[k] === true).length;
      sales = { kind: verdict as SalesKind, bantPassed: passed >= model.bantMinPassed };
    }
  }
  return effect(event, hash, undefined, hits, fit, signals, disqualify, sales);
}

/**
 * Every event property evaluateEvent reads for an event of `type` under `model`: those the rules
 * test, and those the machine-activity filter and the sales verdict read (below). An event
 * without the other properties evaluates the same; replays use this to skip decoding fields no
 * rule looks at. Kept next to the code that reads them, so the two cannot drift apart unseen
 * (evaluate.test.ts checks it on the default model).
 */
export function propsRead(model: Model, type: EventType): string[] {
  return [...new Set([...model.propsByType[type], ...BUILT_IN_READS[type]])];
}

const BUILT_IN_READS: Record<EventType, readonly string[]> = {
  web: ['userAgent'],
  email: ['action', 'userAgent', 'secondsSinceDelivery', 'deliveredAt'],
  trial: [],
  profile: [],
  sales: ['verdict', ...BANT],
};

/** Property values of the event being evaluated (evaluateEvent runs to completion: one is enough). */
const scratch: (PropValue | undefined)[] = [];

function holds(rule: Rule, values: (PropValue | undefined)[]): boolean {
  const { checkProps, checkTests } = rule;
  for (let j = 0; j < checkTests.length; j++) if (!checkTests[j]!(values[checkProps[j]!])) return false;
  return true;
}

/**
 * Every effect has every field, in one order (undefined when not set): one object shape for the
 * code that reads them. JSON leaves the undefined ones out: the script argument is byte for byte
 * what it was when absent fields were left off.
 */
function effect(
  event: ScoringEvent,
  hash: string,
  filtered: FilterReason | undefined,
  hits: string[],
  fit: string[] | undefined,
  signals: string[],
  disqualify: string | undefined,
  sales: EventEffect['sales'],
): EventEffect {
  return {
    eventId: event.eventId,
    type: event.type,
    hash,
    eventTime: event.eventTime,
    filtered,
    hits,
    signals,
    fit,
    disqualify,
    sales,
  };
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
