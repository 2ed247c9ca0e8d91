import { DISQUALIFIED, type Model } from '@leadscorer/engine';

/**
 * Stored records name rules, stages, signals and offset sources (input topic and partition, e.g.
 * "w3"; registered when first written) by small numbers (one MessagePack byte below 128)
 * instead of their text: most of a record's bytes are per-rule data, and `unqualified` alone is
 * 12 bytes. The numbers come from a registry in Redis (`<prefix>:names`, lua/register-names.lua),
 * never from the model file's order: a name keeps its number for good, so a new model may add,
 * drop and reorder rules and stages without any stored record changing meaning. Names a model
 * no longer has stay registered: records that still hold them read back (the engine keeps such
 * data aside and counts it as nothing).
 */
export type NameKind = 'rule' | 'stage' | 'signal' | 'source';

const PREFIX: Record<NameKind, string> = { rule: 'r:', stage: 's:', signal: 'g:', source: 'o:' };
const KINDS: readonly NameKind[] = ['rule', 'stage', 'signal', 'source'];

/** The registry field of a name. */
export function nameField(kind: NameKind, name: string): string {
  return PREFIX[kind] + name;
}

/** The registry fields a model needs. */
export function modelNames(model: Model): string[] {
  const names = model.rules.map((r) => PREFIX.rule + r.id);
  for (const s of [...model.ladder.map((st) => st.name), DISQUALIFIED]) names.push(PREFIX.stage + s);
  for (const signal of model.layout.signalAt.keys()) names.push(PREFIX.signal + signal);
  return names;
}

/** The registry as read, indexed both ways, with the model's rules by number. */
export class NameTable {
  private readonly byName: Map<string, number>;
  /** Per kind, name -> number without the prefix: looked up for every record written. */
  private readonly byKind: Record<NameKind, Map<string, number>> = {
    rule: new Map(),
    stage: new Map(),
    signal: new Map(),
    source: new Map(),
  };
  private readonly byNumber: (string | undefined)[] = [];
  /** Per number: the model rule index of that rule, -1 for anything else. */
  readonly ruleIndex: Int32Array;
  /** Per model rule index: its number. */
  readonly ruleNumber: Int32Array;

  /** `flat`: HGETALL's reply, name, number, name, number, ... */
  constructor(flat: readonly string[], model: Model) {
    this.byName = new Map();
    let max = 0;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const n = Number(flat[i + 1]);
      this.byName.set(flat[i]!, n);
      for (const kind of KINDS) {
        if (flat[i]!.startsWith(PREFIX[kind])) this.byKind[kind].set(flat[i]!.slice(PREFIX[kind].length), n);
      }
      this.byNumber[n] = flat[i]!;
      if (n > max) max = n;
    }
    this.ruleIndex = new Int32Array(max + 1).fill(-1);
    this.ruleNumber = new Int32Array(model.rules.length).fill(-1);
    for (const r of model.rules) {
      const n = this.byName.get(PREFIX.rule + r.id);
      if (n === undefined) continue;
      this.ruleIndex[n] = r.index;
      this.ruleNumber[r.index] = n;
    }
  }

  has(kind: NameKind, name: string): boolean {
    return this.byKind[kind].has(name);
  }

  /** The number of a name; throws for one this registry does not have. */
  number(kind: NameKind, name: string): number {
    const n = this.byKind[kind].get(name);
    if (n === undefined) throw new UnknownName(`${kind} "${name}" is not registered`);
    return n;
  }

  /** The name of a number; throws when it is not a name of that kind (registered after this table was read, or corrupt data). */
  name(kind: NameKind, n: number): string {
    const field = this.byNumber[n];
    if (field === undefined || !field.startsWith(PREFIX[kind])) {
      throw new UnknownName(`stored ${kind} number ${n} is not in the registry`);
    }
    return field.slice(PREFIX[kind].length);
  }
}

/** A number or name the table does not know: re-read the registry once, then it is corrupt data. */
export class UnknownName extends Error {
  override name = 'UnknownName';
}
