/**
 * The message browser's buffer: a ring of up to `capacity` messages in at most `maxBytes` of
 * memory (the byte chunks below, unused tails included), kept compactly; the oldest go first when
 * either limit is reached.
 *
 * Per-message metadata lives in typed-array columns indexed by `seq % capacity`; key, value and
 * header bytes are copied back-to-back into large byte chunks (an arena), so a million 200-byte
 * messages cost ~250 MB instead of millions of JS objects. Chunks are released in FIFO order as
 * the ring evicts the oldest messages. Text is decoded lazily, only for the rows a page shows.
 *
 * `seq` is a monotonically increasing id assigned on append; a seq is live while head <= seq < tail.
 *
 * Columns and chunks live in SharedArrayBuffers, so the search worker (searchWorker.ts) reads the
 * very same bytes through a replica (`MessageStore.replica`) without a copy: a user's regular
 * expression never runs on the extension host's thread.
 */
import { isAscii } from 'node:buffer';
import {
  CHUNK_SIZE,
  clampCapacity,
  clampMaxBytes,
  DEFAULT_CAPACITY,
  DEFAULT_MAX_BYTES,
  EMPTY_CHUNK,
  MessageFlags,
  type Chunk,
  type ColumnName,
  type EvictionCause,
  type IncomingMessage,
  type MessageHeader,
  type SharedStoreColumns,
  type StoredMessage,
  type StoreSnapshot,
} from './storeTypes';

export * from './storeTypes';

function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

export class MessageStore {
  readonly capacity: number;
  readonly maxBytes: number;
  private head = 0;
  private tail = 0;
  private readonly partitionCol: Int32Array;
  private readonly offsetCol: Float64Array;
  private readonly timestampCol: Float64Array;
  private readonly chunkCol: Int32Array;
  private readonly posCol: Int32Array;
  /** -1 = null key */
  private readonly keyLenCol: Int32Array;
  /** -1 = null value */
  private readonly valueLenCol: Int32Array;
  private readonly headersLenCol: Int32Array;
  private readonly headerCountCol: Uint32Array;
  private readonly flagsCol: Uint8Array;
  private chunks: Chunk[] = [];
  /** chunk id of chunks[0] */
  private firstChunkId = 0;
  private arenaBytes = 0;
  /** memory of `chunks` (what the byte budget limits) */
  private chunkBytes = 0;

  constructor(capacity: number = DEFAULT_CAPACITY, maxBytes: number = DEFAULT_MAX_BYTES, shared?: Record<ColumnName, SharedArrayBuffer>) {
    this.capacity = clampCapacity(capacity);
    this.maxBytes = clampMaxBytes(maxBytes);
    const c = this.capacity;
    const sab = (name: ColumnName, bytes: number) => (this.shared[name] = shared?.[name] ?? new SharedArrayBuffer(c * bytes));
    this.partitionCol = new Int32Array(sab('partition', 4));
    this.offsetCol = new Float64Array(sab('offset', 8));
    this.timestampCol = new Float64Array(sab('timestamp', 8));
    this.chunkCol = new Int32Array(sab('chunk', 4));
    this.posCol = new Int32Array(sab('pos', 4));
    this.keyLenCol = new Int32Array(sab('keyLen', 4));
    this.valueLenCol = new Int32Array(sab('valueLen', 4));
    this.headersLenCol = new Int32Array(sab('headersLen', 4));
    this.headerCountCol = new Uint32Array(sab('headerCount', 4));
    this.flagsCol = new Uint8Array(sab('flags', 1));
  }
  private readonly shared = {} as Record<ColumnName, SharedArrayBuffer>;

  /** The shared columns, for a search worker's replica (send once). */
  sharedColumns(): SharedStoreColumns {
    return { capacity: this.capacity, columns: { ...this.shared } };
  }

  /** The live messages now, for a replica (cheap: no bytes are copied). */
  snapshot(): StoreSnapshot {
    return {
      head: this.head,
      tail: this.tail,
      firstChunkId: this.firstChunkId,
      chunks: this.chunks.map((c) => ({
        buf: c.buf.buffer as SharedArrayBuffer,
        length: c.buf.length,
        used: c.used,
        firstSeq: c.firstSeq,
        lastSeq: c.lastSeq,
        ascii: c.ascii,
      })),
    };
  }

  /** A read-only view over another store's shared memory (in a worker); `sync` it to a snapshot before reading. */
  static replica(shared: SharedStoreColumns): MessageStore {
    return new MessageStore(shared.capacity, DEFAULT_MAX_BYTES, shared.columns);
  }

  /** Points a replica at the live messages of a snapshot. */
  sync(snap: StoreSnapshot): void {
    this.head = snap.head;
    this.tail = snap.tail;
    this.firstChunkId = snap.firstChunkId;
    this.chunks = snap.chunks.map((c) => ({
      buf: Buffer.from(c.buf, 0, c.length),
      used: c.used,
      firstSeq: c.firstSeq,
      lastSeq: c.lastSeq,
      ascii: c.ascii,
      sealed: c.ascii !== undefined,
    }));
  }

  /** Oldest live seq. */
  get firstSeq(): number {
    return this.head;
  }
  /** One past the newest seq. */
  get endSeq(): number {
    return this.tail;
  }
  get size(): number {
    return this.tail - this.head;
  }
  /** Messages dropped from the front because the ring was full (since the last clear). */
  get evicted(): number {
    return this.dropped;
  }
  private dropped = 0;
  /** The limit that last dropped messages (since the last clear). */
  get evictedBy(): EvictionCause | undefined {
    return this.lastCause;
  }
  private lastCause: EvictionCause | undefined;
  /** Per partition, the newest offset dropped from the front (since the last clear). */
  get droppedUpTo(): ReadonlyMap<number, number> {
    return this.droppedOffsets;
  }
  private droppedOffsets = new Map<number, number>();
  /** Memory the store holds: its chunks (with their unused tails) and its columns. SharedArrayBuffers
   * are not in process.memoryUsage().external, so this is how their size is known. */
  get retainedBytes(): number {
    let n = this.chunkBytes + (this.spare?.length ?? 0);
    for (const sab of Object.values(this.shared)) n += sab.byteLength;
    return n;
  }
  /** Memory of the message chunks alone: what `maxBytes` limits. */
  get chunkMemory(): number {
    return this.chunkBytes;
  }
  /** Bytes of keys, values and headers held. */
  get bytes(): number {
    return this.arenaBytes;
  }

  has(seq: number): boolean {
    return seq >= this.head && seq < this.tail;
  }

  clear(): void {
    this.head = this.tail;
    this.dropped = 0;
    this.lastCause = undefined;
    this.droppedOffsets = new Map();
    this.chunks = [];
    this.spare = undefined;
    this.chunkBytes = 0;
    this.firstChunkId = 0;
    this.arenaBytes = 0;
    // seqs keep increasing so stale page requests never alias new messages
  }

  append(m: IncomingMessage): number {
    const headers = m.headers ?? [];
    const kl = m.key ? m.key.length : -1;
    const vl = m.value ? m.value.length : -1;
    let hl = 0;
    for (const h of headers) hl += 4 + Buffer.byteLength(h.key) + 4 + (h.value ? h.value.length : 0);
    const total = Math.max(0, kl) + Math.max(0, vl) + hl;

    const seq = this.tail;
    if (seq - this.head >= this.capacity) this.evictOne('count');
    // the byte budget counts the chunks' memory (a new chunk counts once it is needed); the newest
    // message is always kept, even one bigger than the whole budget
    const cur = this.chunks[this.chunks.length - 1];
    const need = cur && !cur.sealed && cur.used + total <= cur.buf.length ? 0 : Math.max(CHUNK_SIZE, total);
    while (this.tail > this.head && this.chunkBytes + need > this.maxBytes) this.evictOne('bytes');
    const chunk = this.chunkFor(total, seq);
    const chunkId = this.firstChunkId + this.chunks.length - 1;
    const start = chunk.used;
    let p = start;
    const buf = chunk.buf;
    // TypedArray#set is a fast builtin; Buffer#copy goes through a native binding per call
    if (m.key) {
      buf.set(m.key, p);
      p += m.key.length;
    }
    if (m.value) {
      buf.set(m.value, p);
      p += m.value.length;
    }
    for (const h of headers) {
      // header keys are not short in general: a 70,000-character key is valid Kafka
      const kLen = buf.write(h.key, p + 4, 'utf8');
      buf.writeUInt32LE(kLen, p);
      p += 4 + kLen;
      buf.writeInt32LE(h.value ? h.value.length : -1, p);
      p += 4;
      if (h.value) p += h.value.copy(buf, p);
    }
    chunk.used = p;
    chunk.lastSeq = seq;
    this.arenaBytes += total;

    const i = seq % this.capacity;
    this.partitionCol[i] = m.partition;
    this.offsetCol[i] = m.offset;
    this.timestampCol[i] = m.timestamp;
    this.chunkCol[i] = chunkId;
    this.posCol[i] = start;
    this.keyLenCol[i] = kl;
    this.valueLenCol[i] = vl;
    this.headersLenCol[i] = hl;
    this.headerCountCol[i] = headers.length;
    this.flagsCol[i] = m.flags ?? 0;
    this.tail = seq + 1;
    return seq;
  }

  private chunkFor(total: number, seq: number): Chunk {
    let cur = this.chunks[this.chunks.length - 1];
    if (cur && !cur.sealed && cur.used + total <= cur.buf.length) return cur;
    if (cur && !cur.sealed) this.seal(cur);
    const spare = total <= CHUNK_SIZE ? this.spare : undefined;
    this.spare = undefined;
    cur = {
      buf: spare ?? sharedBuffer(Math.max(CHUNK_SIZE, total)),
      used: 0,
      firstSeq: seq,
      lastSeq: seq,
      sealed: false,
    };
    if (this.chunks.length === 0) this.firstChunkId = this.nextChunkId;
    this.chunks.push(cur);
    this.chunkBytes += cur.buf.length;
    this.nextChunkId++;
    return cur;
  }
  private nextChunkId = 0;
  /**
   * The last evicted standard-size chunk, reused by the next one needed. A SharedArrayBuffer is not
   * counted as external memory, so V8 does not collect sooner for it: with a new chunk per 4 MB, 20 GB
   * streaming past a 256 MiB budget grew the process by 5.8 GB on a CI machine (+290 MiB on another)
   * before a collection came. Reused, the buffer's memory stays its budget whatever the GC does.
   * (A search replica's old snapshot may read it: only for seqs already evicted, which it drops.)
   */
  private spare: Buffer | undefined;

  /** A chunk closed early (a big message came) is shrunk so a mostly empty 4 MB block is not kept. */
  private seal(c: Chunk): void {
    c.sealed = true;
    c.ascii = isAscii(c.buf.subarray(0, c.used));
    if (c.used < c.buf.length / 2) {
      const tight = sharedBuffer(c.used);
      c.buf.copy(tight, 0, 0, c.used);
      this.chunkBytes += tight.length - c.buf.length;
      c.buf = tight;
    }
  }

  private evictOne(cause: EvictionCause): void {
    const i = this.head % this.capacity;
    this.lastCause = cause;
    if (!(this.flagsCol[i] & MessageFlags.ERROR_ROW)) this.droppedOffsets.set(this.partitionCol[i], this.offsetCol[i]);
    this.arenaBytes -= Math.max(0, this.keyLenCol[i]) + Math.max(0, this.valueLenCol[i]) + this.headersLenCol[i];
    this.head++;
    this.dropped++;
    while (this.chunks.length > 0 && this.chunks[0].lastSeq < this.head && this.chunks[0] !== this.chunks[this.chunks.length - 1]) {
      const gone = this.chunks.shift()!.buf;
      this.chunkBytes -= gone.length;
      if (gone.length === CHUNK_SIZE) this.spare = gone;
      this.firstChunkId++;
    }
  }

  private chunkOf(seq: number): Chunk {
    // a replica may read a slot the ring has reused since its snapshot: that seq is gone anyway
    return this.chunks[this.chunkCol[seq % this.capacity] - this.firstChunkId] ?? EMPTY_CHUNK;
  }

  partition(seq: number): number {
    return this.partitionCol[seq % this.capacity];
  }
  offset(seq: number): number {
    return this.offsetCol[seq % this.capacity];
  }
  timestamp(seq: number): number {
    return this.timestampCol[seq % this.capacity];
  }
  flags(seq: number): number {
    return this.flagsCol[seq % this.capacity];
  }
  /** Changes a live message's flags (a transaction's outcome becomes known after its records). */
  setFlags(seq: number, flags: number): void {
    if (this.has(seq)) this.flagsCol[seq % this.capacity] = flags;
  }
  headerCount(seq: number): number {
    return this.headerCountCol[seq % this.capacity];
  }
  keyLength(seq: number): number {
    return this.keyLenCol[seq % this.capacity];
  }
  valueLength(seq: number): number {
    return this.valueLenCol[seq % this.capacity];
  }

  /** A view of the key bytes (no copy; valid until the message is evicted). */
  key(seq: number): Buffer | null {
    const i = seq % this.capacity;
    const kl = this.keyLenCol[i];
    if (kl < 0) return null;
    const p = this.posCol[i];
    return this.chunkOf(seq).buf.subarray(p, p + kl);
  }

  value(seq: number): Buffer | null {
    const i = seq % this.capacity;
    const vl = this.valueLenCol[i];
    if (vl < 0) return null;
    const p = this.posCol[i] + Math.max(0, this.keyLenCol[i]);
    return this.chunkOf(seq).buf.subarray(p, p + vl);
  }

  /** The raw serialized header block; see `headers()` for the decoded form. */
  headerBytes(seq: number): Buffer {
    const i = seq % this.capacity;
    const p = this.posCol[i] + Math.max(0, this.keyLenCol[i]) + Math.max(0, this.valueLenCol[i]);
    return this.chunkOf(seq).buf.subarray(p, p + this.headersLenCol[i]);
  }

  headers(seq: number): MessageHeader[] {
    const b = this.headerBytes(seq);
    const out: MessageHeader[] = [];
    let p = 0;
    while (p < b.length) {
      const kl = b.readUInt32LE(p);
      p += 4;
      const key = b.toString('utf8', p, p + kl);
      p += kl;
      const vl = b.readInt32LE(p);
      p += 4;
      out.push({ key, value: vl < 0 ? null : b.subarray(p, p + vl) });
      p += Math.max(0, vl);
    }
    return out;
  }

  get(seq: number): StoredMessage | undefined {
    if (!this.has(seq)) return undefined;
    return {
      seq,
      partition: this.partition(seq),
      offset: this.offset(seq),
      timestamp: this.timestamp(seq),
      key: this.key(seq),
      value: this.value(seq),
      headers: this.headers(seq),
      flags: this.flags(seq),
    };
  }

  /**
   * Internal access for the search engine: each live chunk with the live seq range stored in it.
   * Positions of message `seq` inside `chunk.buf` are given by `layout(seq)`.
   */
  liveChunks(): Array<{ buf: Buffer; used: number; ascii: boolean; firstSeq: number; lastSeq: number }> {
    const out = [];
    for (const c of this.chunks) {
      const firstSeq = Math.max(c.firstSeq, this.head);
      if (c.used === 0 || c.lastSeq < firstSeq || firstSeq >= this.tail) continue;
      out.push({ buf: c.buf, used: c.used, ascii: c.ascii ?? isAscii(c.buf.subarray(0, c.used)), firstSeq, lastSeq: c.lastSeq });
    }
    return out;
  }

  /** Byte layout of a message in its chunk: [pos, pos+keyLen) key, then value, then headers. */
  layout(seq: number): { pos: number; keyLen: number; valueLen: number; headersLen: number } {
    const i = seq % this.capacity;
    return {
      pos: this.posCol[i],
      keyLen: Math.max(0, this.keyLenCol[i]),
      valueLen: Math.max(0, this.valueLenCol[i]),
      headersLen: this.headersLenCol[i],
    };
  }

  /** Start position of `seq` in its chunk (for binary search by byte position). */
  pos(seq: number): number {
    return this.posCol[seq % this.capacity];
  }

  /** Highest offset seen per partition among live messages is tracked by the browse engine, not here. */
  timestampRange(): { min: number; max: number } | undefined {
    if (this.size === 0) return undefined;
    let min = Infinity;
    let max = -Infinity;
    for (let s = this.head; s < this.tail; s++) {
      const t = this.timestampCol[s % this.capacity];
      if (t < min) min = t;
      if (t > max) max = t;
    }
    return { min, max };
  }
}
