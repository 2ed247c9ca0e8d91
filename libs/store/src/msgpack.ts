/**
 * The few MessagePack forms a lead record uses (codec.ts), written into and read from a buffer
 * directly: integers, strings, binary, `false` and arrays. The bytes are standard MessagePack, so
 * any MessagePack tool reads a stored record (`redis-cli --no-raw GET` then a MessagePack decoder),
 * and codec.test.ts checks them against @msgpack/msgpack byte for byte. Hand-written because every
 * event costs a record read and a record write: the general encoder built and walked a tree of
 * small arrays per record and was a fifth of a scoring service's CPU.
 */
export class PackWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  private start = 0;

  /**
   * Starts a record. Bytes already handed out are never written again: when little room is
   * left, writing moves on to a fresh buffer and the old one lives as long as its views.
   */
  begin(): void {
    if (this.buf.length - this.pos < 16 * 1024) {
      this.buf = Buffer.allocUnsafe(Math.max(64 * 1024, this.buf.length));
      this.pos = 0;
    }
    this.start = this.pos;
  }

  /** The record written since begin(), as a view of the writer's buffer (no copy). */
  end(): Buffer {
    return this.buf.subarray(this.start, this.pos);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Grow into a new buffer; views handed out earlier keep the old one alive.
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos - this.start + n + 1024));
    this.buf.copy(next, 0, this.start, this.pos);
    this.pos -= this.start;
    this.start = 0;
    this.buf = next;
  }

  array(n: number): void {
    this.room(5);
    if (n < 16) this.buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      this.buf[this.pos] = 0xdc;
      this.buf.writeUInt16BE(n, this.pos + 1);
      this.pos += 3;
    } else {
      this.buf[this.pos] = 0xdd;
      this.buf.writeUInt32BE(n, this.pos + 1);
      this.pos += 5;
    }
  }

  false(): void {
    this.room(1);
    this.buf[this.pos++] = 0xc2;
  }

  /** An integer in its shortest form; anything else as a float64 (never written by the codec). */
  int(v: number): void {
    this.room(9);
    const b = this.buf;
    let p = this.pos;
    // Most of a record's integers are small: one byte, no checks beyond this one.
    if (v >= 0 && v < 0x80 && (v | 0) === v) {
      b[p] = v;
      this.pos = p + 1;
      return;
    }
    if (!Number.isSafeInteger(v)) {
      b[p] = 0xcb;
      b.writeDoubleBE(v, p + 1);
      this.pos = p + 9;
      return;
    }
    if (v >= 0) {
      if (v < 0x100) {
        b[p++] = 0xcc;
        b[p++] = v;
      } else if (v < 0x10000) {
        b[p++] = 0xcd;
        b[p++] = v >>> 8;
        b[p++] = v & 0xff;
      } else if (v < 0x100000000) {
        b[p++] = 0xce;
        b[p++] = v >>> 24;
        b[p++] = (v >>> 16) & 0xff;
        b[p++] = (v >>> 8) & 0xff;
        b[p++] = v & 0xff;
      } else {
        b[p] = 0xcf;
        b.writeBigUInt64BE(BigInt(v), p + 1);
        p += 9;
      }
    } else if (v >= -0x20) b[p++] = v & 0xff;
    else if (v >= -0x80) {
      b[p++] = 0xd0;
      b[p++] = v & 0xff;
    } else if (v >= -0x8000) {
      b[p++] = 0xd1;
      b[p++] = (v >> 8) & 0xff;
      b[p++] = v & 0xff;
    } else if (v >= -0x80000000) {
      b[p++] = 0xd2;
      b[p++] = (v >> 24) & 0xff;
      b[p++] = (v >> 16) & 0xff;
      b[p++] = (v >> 8) & 0xff;
      b[p++] = v & 0xff;
    } else {
      b[p] = 0xd3;
      b.writeBigInt64BE(BigInt(v), p + 1);
      p += 9;
    }
    this.pos = p;
  }

  str(s: string): void {
    const len = Buffer.byteLength(s);
    this.room(len + 5);
    const b = this.buf;
    if (len < 32) b[this.pos++] = 0xa0 | len;
    else if (len < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = len;
    } else if (len < 0x10000) {
      b[this.pos] = 0xda;
      b.writeUInt16BE(len, this.pos + 1);
      this.pos += 3;
    } else {
      b[this.pos] = 0xdb;
      b.writeUInt32BE(len, this.pos + 1);
      this.pos += 5;
    }
    this.pos += b.write(s, this.pos, len, 'utf8');
  }

  /** A bin header for `len` bytes; the caller writes them with byte(). */
  binHeader(len: number): void {
    this.room(len + 5);
    if (len < 0x100) {
      this.buf[this.pos++] = 0xc4;
      this.buf[this.pos++] = len;
    } else {
      this.buf[this.pos] = 0xc5;
      this.buf.writeUInt16BE(len, this.pos + 1);
      this.pos += 3;
    }
  }

  byte(v: number): void {
    this.buf[this.pos++] = v;
  }
}

/** Reads what PackWriter writes (and what any MessagePack encoder writes for those forms). */
export class PackReader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An array's length, or -1 for `false` / nil (an absent part). */
  array(): number {
    const t = this.buf[this.pos++]!;
    if ((t & 0xf0) === 0x90) return t & 0x0f;
    if (t === 0xdc) {
      this.pos += 2;
      return this.view.getUint16(this.pos - 2);
    }
    if (t === 0xdd) {
      this.pos += 4;
      return this.view.getUint32(this.pos - 4);
    }
    if (t === 0xc2 || t === 0xc0) return -1;
    throw this.unexpected(t, 'an array');
  }

  /** True (and consumed) when the next value is `false` or nil. */
  absent(): boolean {
    const t = this.buf[this.pos];
    if (t === 0xc2 || t === 0xc0) {
      this.pos++;
      return true;
    }
    return false;
  }

  int(): number {
    const b = this.buf;
    const v = this.view;
    const t = b[this.pos++]!;
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    const p = this.pos;
    switch (t) {
      case 0xcc:
        this.pos = p + 1;
        return b[p]!;
      case 0xcd:
        this.pos = p + 2;
        return (b[p]! << 8) | b[p + 1]!;
      case 0xce:
        this.pos = p + 4;
        return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      case 0xcf:
        this.pos = p + 8;
        return Number(v.getBigUint64(p));
      case 0xd0:
        this.pos = p + 1;
        return v.getInt8(p);
      case 0xd1:
        this.pos = p + 2;
        return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
      case 0xd2:
        this.pos = p + 4;
        return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
      case 0xd3:
        this.pos = p + 8;
        return Number(v.getBigInt64(p));
      case 0xcb:
        this.pos = p + 8;
        return v.getFloat64(p);
      default:
        this.pos = p - 1;
        throw this.unexpected(t, 'an integer', p - 1);
    }
  }

  str(): string {
    const t = this.buf[this.pos++]!;
    let len: number;
    if ((t & 0xe0) === 0xa0) len = t & 0x1f;
    else if (t === 0xd9) len = this.buf[this.pos++]!;
    else if (t === 0xda) {
      len = this.view.getUint16(this.pos);
      this.pos += 2;
    } else if (t === 0xdb) {
      len = this.view.getUint32(this.pos);
      this.pos += 4;
    } else throw this.unexpected(t, 'a string');
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, len).toString('utf8');
    this.pos += len;
    return s;
  }

  /** A bin value as a view of the input (no copy). */
  bin(): Uint8Array {
    const t = this.buf[this.pos++]!;
    let len: number;
    if (t === 0xc4) len = this.buf[this.pos++]!;
    else if (t === 0xc5) {
      len = this.view.getUint16(this.pos);
      this.pos += 2;
    } else throw this.unexpected(t, 'binary');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  private unexpected(t: number, what: string, at = this.pos - 1): Error {
    return new Error(`lead record: expected ${what} at byte ${at}, found type 0x${t.toString(16)}`);
  }
}
