import { decode, encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { PackReader, PackWriter } from './msgpack.ts';

/** The record writer and reader against the reference MessagePack library, at every boundary. */
const INTS = [
  0,
  1,
  127,
  128,
  255,
  256,
  65_535,
  65_536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32_768,
  -32_769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 53 - 1),
];
const STRINGS = [
  '',
  'a',
  'x'.repeat(31),
  'y'.repeat(32),
  'z'.repeat(255),
  'w'.repeat(256),
  'engagement 42.8 ≥ 40',
];

describe('PackWriter / PackReader', () => {
  it('write exactly what @msgpack/msgpack writes, and read it back', () => {
    const w = new PackWriter();
    w.begin();
    const bins = [new Uint8Array(0), new Uint8Array(4).fill(7), new Uint8Array(300).fill(9)];
    const arrays = [15, 16];
    w.array(INTS.length + STRINGS.length + bins.length + arrays.length + 1);
    for (const v of INTS) w.int(v);
    for (const s of STRINGS) w.str(s);
    for (const b of bins) {
      w.binHeader(b.length);
      for (const x of b) w.byte(x);
    }
    for (const n of arrays) {
      w.array(n);
      for (let i = 0; i < n; i++) w.int(i);
    }
    w.false();
    const bytes = w.end();
    const value = [
      ...INTS,
      ...STRINGS,
      ...bins,
      ...arrays.map((n) => Array.from({ length: n }, (_, i) => i)),
      false,
    ];
    expect(Buffer.from(encode(value)).equals(bytes)).toBe(true);
    const plain = (x: unknown): unknown =>
      x instanceof Uint8Array ? [...x] : Array.isArray(x) ? x.map(plain) : x;
    expect(plain(decode(bytes))).toEqual(plain(value));

    const r = new PackReader(bytes);
    expect(r.array()).toBe(value.length);
    for (const v of INTS) expect(r.int()).toBe(v);
    for (const s of STRINGS) expect(r.str()).toBe(s);
    for (const b of bins) expect([...r.bin()]).toEqual([...b]);
    for (const n of arrays) {
      expect(r.array()).toBe(n);
      for (let i = 0; i < n; i++) expect(r.int()).toBe(i);
    }
    expect(r.absent()).toBe(true);
    expect(r.done).toBe(true);
  });

  it('names what it found when the bytes are not what it expects', () => {
    const r = new PackReader(encode(['text']));
    expect(r.array()).toBe(1);
    expect(() => r.int()).toThrow(/expected an integer at byte 1, found type 0xa4/);
  });

  it('never changes bytes it handed out, however much is written after them', () => {
    const w = new PackWriter();
    w.begin();
    w.str('first');
    const first = w.end();
    const copy = Buffer.from(first);
    for (let i = 0; i < 2_000; i++) {
      w.begin();
      w.str('x'.repeat(200));
      w.end();
    }
    expect(first.equals(copy)).toBe(true);
  });
});
