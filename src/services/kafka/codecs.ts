/**
 * Compression codecs for kafkajs, which decodes only gzip on its own. Every codec Kafka can hold is
 * registered, each from a library that loads in any VS Code extension host (no native addon built
 * for one Node ABI):
 *   snappy  snappyjs (pure JS), with the xerial framing Kafka's Java client writes
 *   lz4     lz4js (pure JS) to decompress; frames with independent blocks, as Kafka writes them
 *           (KIP-57), compressed by lz4CompressBlock below
 *   zstd    fzstd (pure JS) to decompress, including the streamed frames without a content size
 *           that Java's zstd-jni writes; @bokuweb/zstd-wasm (WebAssembly) to compress
 * The libraries load on first use of their codec.
 *
 * A batch that cannot be decompressed is never fatal for the read: the codec answers with one
 * placeholder record per record of the batch, all at the batch's last offset, the first carrying
 * UNDECODABLE_HEADER with what failed (see undecodableRecords). The reader turns that into one
 * error row naming the partition, the offset range and the reason, and goes on after the batch.
 */
import type { CompressionTypes } from 'kafkajs';

export type CodecName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const CODEC_NAMES: readonly CodecName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** kafkajs' CompressionTypes values (the codec bits of a record batch's attributes). */
export const KAFKAJS_COMPRESSION: Record<CodecName, CompressionTypes> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** Header of the placeholder record that stands for a batch that could not be decompressed. */
export const UNDECODABLE_HEADER = '__datapipeline.undecodable';

export interface UndecodableBatch {
  codec: CodecName;
  /** first and last offset of the batch (inclusive) */
  firstOffset: number;
  lastOffset: number;
  records: number;
  reason: string;
}

type Codec = { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };

// ---------------------------------------------------------------------------------------------
// snappy: raw snappy, or xerial's framing (magic, version, then [int32 length][raw snappy] blocks)

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = 16;
const XERIAL_BLOCK = 32 * 1024;

function snappyjs(): { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array, max?: number): Uint8Array } {
  return require('snappyjs');
}

export function snappyDecompress(buf: Buffer): Buffer {
  const s = snappyjs();
  if (buf.length < XERIAL_HEADER || !buf.subarray(0, 8).equals(XERIAL_MAGIC)) return Buffer.from(s.uncompress(buf));
  const parts: Buffer[] = [];
  for (let i = XERIAL_HEADER; i < buf.length; ) {
    if (i + 4 > buf.length) throw new Error(`xerial snappy block header cut off at byte ${i}`);
    const n = buf.readInt32BE(i);
    i += 4;
    if (n < 0 || i + n > buf.length) throw new Error(`xerial snappy block of ${n} bytes at byte ${i - 4} runs past the end (${buf.length})`);
    parts.push(Buffer.from(s.uncompress(buf.subarray(i, i + n))));
    i += n;
  }
  return Buffer.concat(parts);
}

/** xerial framing, as Kafka's Java client writes it (every client reads it). */
export function snappyCompress(buf: Buffer): Buffer {
  const s = snappyjs();
  const header = Buffer.alloc(XERIAL_HEADER);
  XERIAL_MAGIC.copy(header);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (let i = 0; i < buf.length; i += XERIAL_BLOCK) {
    const block = Buffer.from(s.compress(buf.subarray(i, i + XERIAL_BLOCK)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// lz4 and zstd

function lz4js(): { decompress(b: Uint8Array): Uint8Array } {
  return require('lz4js');
}

export function lz4Decompress(buf: Buffer): Buffer {
  return Buffer.from(lz4js().decompress(buf));
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK = 64 * 1024;
/** FLG: version 01, blocks independent (Kafka's Java client refuses dependent blocks); BD: 64 KB blocks. */
const LZ4_FLG = 0x60;
const LZ4_BD = 0x40;
const MIN_MATCH = 4;
/** the LZ4 block format's end rules: the last 5 bytes are literals, the last match starts 12 bytes before the end */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;

function writeLength(dst: Buffer, p: number, n: number): number {
  for (; n >= 255; n -= 255) dst[p++] = 255;
  dst[p++] = n;
  return p;
}

/**
 * One LZ4 block (greedy, 64 K hash table), following the block format's end rules. lz4js' own
 * block writer lets a match start within the last 12 bytes, which Kafka's Java decoder rejects.
 * Returns the compressed size, or 0 when the block does not shrink (store it uncompressed).
 */
export function lz4CompressBlock(src: Uint8Array, dst: Buffer, table: Int32Array): number {
  const len = src.length;
  table.fill(-1);
  let p = 0;
  let anchor = 0;
  const matchLimit = len - LAST_LITERALS;
  const lastStart = len - MF_LIMIT;
  const read32 = (i: number) => (src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24)) >>> 0;
  let i = 0;
  let misses = 0;
  while (i <= lastStart) {
    const seq = read32(i);
    const h = Math.imul(seq, 2654435761) >>> 16;
    const ref = table[h];
    table[h] = i;
    if (ref < 0 || i - ref > 0xffff || read32(ref) !== seq) {
      i += 1 + (misses++ >> 6); // skip faster through incompressible data
      continue;
    }
    misses = 0;
    let m = MIN_MATCH;
    while (i + m < matchLimit && src[i + m] === src[ref + m]) m++;
    const lit = i - anchor;
    if (p + lit + (lit >> 8) + 8 >= len) return 0; // would not shrink (and dst, ≥ len bytes, cannot overflow)
    const token = p++;
    dst[token] = (Math.min(lit, 15) << 4) | Math.min(m - MIN_MATCH, 15);
    if (lit >= 15) p = writeLength(dst, p, lit - 15);
    dst.set(src.subarray(anchor, i), p);
    p += lit;
    dst.writeUInt16LE(i - ref, p);
    p += 2;
    if (m - MIN_MATCH >= 15) p = writeLength(dst, p, m - MIN_MATCH - 15);
    i += m;
    anchor = i;
  }
  const lit = len - anchor;
  if (p + lit + lit / 255 + 2 >= len) return 0;
  dst[p++] = Math.min(lit, 15) << 4;
  if (lit >= 15) p = writeLength(dst, p, lit - 15);
  dst.set(src.subarray(anchor), p);
  return p + lit;
}

/** An LZ4 frame as Kafka's Java client writes one: independent 64 KB blocks, no checksums. */
export function lz4Compress(buf: Buffer): Buffer {
  const xxh32 = (require('lz4js/xxh32.js') as { hash(seed: number, src: Uint8Array, index: number, len: number): number }).hash;
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_MAGIC, 0);
  header[4] = LZ4_FLG;
  header[5] = LZ4_BD;
  header[6] = (xxh32(0, header, 4, 2) >> 8) & 0xff;
  const parts: Buffer[] = [header];
  const table = new Int32Array(1 << 16);
  const dst = Buffer.alloc(LZ4_BLOCK + LZ4_BLOCK / 255 + 64);
  for (let i = 0; i < buf.length; i += LZ4_BLOCK) {
    const block = buf.subarray(i, i + LZ4_BLOCK);
    const n = lz4CompressBlock(block, dst, table);
    const size = Buffer.alloc(4);
    if (n === 0) {
      size.writeUInt32LE((0x80000000 | block.length) >>> 0);
      parts.push(size, Buffer.from(block));
    } else {
      size.writeUInt32LE(n);
      parts.push(size, Buffer.from(dst.subarray(0, n)));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

export function zstdDecompress(buf: Buffer): Buffer {
  const fzstd = require('fzstd') as { decompress(b: Uint8Array): Uint8Array };
  return Buffer.from(fzstd.decompress(buf));
}

let zstdWasm: Promise<{ compress(b: Uint8Array, level?: number): Uint8Array }> | undefined;
export async function zstdCompress(buf: Buffer): Promise<Buffer> {
  zstdWasm ??= (async () => {
    const m = require('@bokuweb/zstd-wasm') as { init(): Promise<void>; compress(b: Uint8Array, level?: number): Uint8Array };
    await m.init();
    return m;
  })();
  zstdWasm.catch(() => (zstdWasm = undefined));
  return Buffer.from((await zstdWasm).compress(buf, 3));
}

// ---------------------------------------------------------------------------------------------
// Undecodable batches

/**
 * kafkajs hands a codec only the compressed bytes. They are a view into the fetch response, so the
 * record batch's header sits just before them (v2 batch: 61 bytes from firstOffset to the record
 * count). It is read back and checked (magic 2, codec bits, length) before it is trusted.
 */
export function batchHeaderOf(compressed: Buffer): { firstOffset: number; lastOffset: number; records: number; codecBits: number } | undefined {
  const HEADER = 61;
  if (compressed.byteOffset < HEADER) return undefined;
  const h = Buffer.from(compressed.buffer, compressed.byteOffset - HEADER, HEADER);
  const length = h.readInt32BE(8);
  const magic = h.readInt8(16);
  const attributes = h.readInt16BE(21);
  const records = h.readInt32BE(57);
  if (magic !== 2 || length !== 49 + compressed.length || records < 0) return undefined;
  const firstOffset = Number(h.readBigInt64BE(0));
  return { firstOffset, lastOffset: firstOffset + h.readInt32BE(23), records, codecBits: attributes & 0x07 };
}

function zigzagVarint(n: number): number[] {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function varintBytes(b: Buffer | null): Buffer {
  return b === null ? Buffer.from(zigzagVarint(-1)) : Buffer.concat([Buffer.from(zigzagVarint(b.length)), b]);
}

/**
 * The "decompressed" records that stand for a batch that could not be decompressed: `records`
 * records (kafkajs reads exactly the batch's record count), all at the batch's last offset so the
 * reader continues after the batch; the first has UNDECODABLE_HEADER = JSON of UndecodableBatch.
 */
export function undecodableRecords(info: UndecodableBatch, offsetDelta: number): Buffer {
  const record = (headers: Array<[string, Buffer]>) => {
    const body = Buffer.concat([
      Buffer.from([0]), // attributes
      Buffer.from(zigzagVarint(0)), // timestamp delta
      Buffer.from(zigzagVarint(offsetDelta)),
      varintBytes(null), // key
      varintBytes(null), // value
      Buffer.from(zigzagVarint(headers.length)),
      ...headers.map(([k, v]) => Buffer.concat([varintBytes(Buffer.from(k)), varintBytes(v)])),
    ]);
    return Buffer.concat([Buffer.from(zigzagVarint(body.length)), body]);
  };
  const first = record([[UNDECODABLE_HEADER, Buffer.from(JSON.stringify(info))]]);
  const rest = record([]);
  return Buffer.concat([first, ...Array.from({ length: Math.max(0, info.records - 1) }, () => rest)]);
}

export function parseUndecodable(headers: Record<string, unknown> | undefined): UndecodableBatch | undefined {
  const v = headers?.[UNDECODABLE_HEADER];
  if (v === undefined) return undefined;
  try {
    return JSON.parse(String(Array.isArray(v) ? v[0] : v)) as UndecodableBatch;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Registration

type Compressed = Exclude<CodecName, 'none'>;
type Impl = { compress(b: Buffer): Buffer | Promise<Buffer>; decompress(b: Buffer): Buffer | Promise<Buffer> };
const CODEC_BITS: Record<Compressed, number> = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** Test seam: makes a codec's decompression fail (as a corrupt batch or a library bug would). */
const failing = new Map<CodecName, string>();
export function failDecompressionForTests(codec: CodecName, reason: string | undefined): void {
  if (reason === undefined) failing.delete(codec);
  else failing.set(codec, reason);
}

function tolerant(name: Compressed, impl: Impl): Codec {
  return {
    compress: async (encoder) => impl.compress(encoder.buffer),
    decompress: async (buffer) => {
      try {
        const forced = failing.get(name);
        if (forced) throw new Error(forced);
        return await impl.decompress(buffer);
      } catch (e) {
        const h = batchHeaderOf(buffer);
        const reason = (e as Error).message || String(e);
        if (!h || h.codecBits !== CODEC_BITS[name]) throw new UndecodableBatchError(name, reason);
        const info: UndecodableBatch = { codec: name, firstOffset: h.firstOffset, lastOffset: h.lastOffset, records: h.records, reason };
        return undecodableRecords(info, h.lastOffset - h.firstOffset);
      }
    },
  };
}

export class UndecodableBatchError extends Error {
  constructor(
    readonly codec: CodecName,
    readonly reason: string,
  ) {
    super(`A ${codec}-compressed batch could not be decompressed: ${reason}`);
    this.name = 'UndecodableBatchError';
  }
}

let registered = false;
/**
 * Registers snappy, lz4 and zstd with kafkajs, and wraps its own gzip the same way (idempotent;
 * kafkajs keeps codecs globally, in this extension's own copy of it).
 */
export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  // required here, not imported: the command modules import this file without loading kafkajs
  const codecs = (require('kafkajs') as typeof import('kafkajs')).CompressionCodecs as unknown as Record<number, () => Codec>;
  const gzip = codecs[KAFKAJS_COMPRESSION.gzip]();
  const impls: Record<Compressed, Impl> = {
    gzip: { compress: (b) => gzip.compress({ buffer: b }), decompress: (b) => gzip.decompress(b) },
    snappy: { compress: snappyCompress, decompress: snappyDecompress },
    lz4: { compress: lz4Compress, decompress: lz4Decompress },
    zstd: { compress: zstdCompress, decompress: zstdDecompress },
  };
  for (const name of Object.keys(impls) as Compressed[]) {
    const codec = tolerant(name, impls[name]);
    codecs[KAFKAJS_COMPRESSION[name]] = () => codec;
  }
}
