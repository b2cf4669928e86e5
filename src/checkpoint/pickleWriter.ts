/**
 * The writing half of pickle protocol 2, only the opcodes a checkpoint needs. Python's own pickler adds memo
 * opcodes (BINPUT/BINGET) to share objects; a checkpoint pickle is correct without them.
 */

const OP = {
  PROTO: 0x80,
  STOP: 0x2e, // .
  MARK: 0x28, // (
  NONE: 0x4e, // N
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a, // J
  LONG1: 0x8a,
  BINFLOAT: 0x47, // G
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPENDS: 0x65, // e
  EMPTY_DICT: 0x7d, // }
  SETITEMS: 0x75, // u
  EMPTY_TUPLE: 0x29, // )
  TUPLE: 0x74, // t
  GLOBAL: 0x63, // c
  REDUCE: 0x52, // R
  BINPERSID: 0x51, // Q
} as const;

const utf8 = new TextEncoder();

/** Two's complement, little-endian, as few bytes as hold the sign: Python's encode_long. */
function longBytes(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) return out;
  }
}

export class PickleWriter {
  private buffer = new Uint8Array(1 << 12);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  constructor() {
    this.byte(OP.PROTO).byte(2);
  }

  /** Ends the pickle (STOP) and returns its bytes. */
  finish(): Uint8Array {
    this.byte(OP.STOP);
    return this.buffer.slice(0, this.length);
  }

  none(): this {
    return this.byte(OP.NONE);
  }

  bool(value: boolean): this {
    return this.byte(value ? OP.NEWTRUE : OP.NEWFALSE);
  }

  int(value: number | bigint): this {
    if (typeof value === 'number' && value >= -0x80000000 && value <= 0x7fffffff) {
      this.byte(OP.BININT).reserve(4);
      this.view.setInt32(this.length, value, true);
      this.length += 4;
      return this;
    }
    const bytes = longBytes(BigInt(value));
    this.byte(OP.LONG1).byte(bytes.length);
    for (const b of bytes) this.byte(b);
    return this;
  }

  float(value: number): this {
    this.byte(OP.BINFLOAT).reserve(8);
    this.view.setFloat64(this.length, value, false); // big-endian, as pickle wants
    this.length += 8;
    return this;
  }

  str(value: string): this {
    const bytes = utf8.encode(value);
    this.byte(OP.BINUNICODE).reserve(4 + bytes.length);
    this.view.setUint32(this.length, bytes.length, true);
    this.buffer.set(bytes, this.length + 4);
    this.length += 4 + bytes.length;
    return this;
  }

  /** Pushes module.name, the way `c` + "module\nname\n" does. */
  global(module: string, name: string): this {
    this.byte(OP.GLOBAL);
    for (const b of utf8.encode(`${module}\n${name}\n`)) this.byte(b);
    return this;
  }

  mark(): this {
    return this.byte(OP.MARK);
  }

  /** A tuple of everything since the last mark. */
  tuple(): this {
    return this.byte(OP.TUPLE);
  }

  emptyTuple(): this {
    return this.byte(OP.EMPTY_TUPLE);
  }

  emptyList(): this {
    return this.byte(OP.EMPTY_LIST);
  }

  /** Appends everything since the last mark to the list below it. */
  appends(): this {
    return this.byte(OP.APPENDS);
  }

  emptyDict(): this {
    return this.byte(OP.EMPTY_DICT);
  }

  /** Sets the key/value pairs since the last mark into the dict below it. */
  setItems(): this {
    return this.byte(OP.SETITEMS);
  }

  /** Calls the callable below the argument tuple on top. */
  reduce(): this {
    return this.byte(OP.REDUCE);
  }

  /** Replaces the tuple on top by what the unpickler's persistent_load makes of it. */
  persistentId(): this {
    return this.byte(OP.BINPERSID);
  }

  private byte(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value;
    return this;
  }

  private reserve(extra: number): this {
    if (this.length + extra <= this.buffer.length) return this;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
    return this;
  }
}
