/**
 * Pure parts of the Kafka codecs and the ConsumerGroupDescribe wire format. Reading what Java,
 * Python and librdkafka producers write is tested against a real broker in
 * test/integration/kafkaForeignClients.test.ts; these pin the byte layouts.
 */
import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import {
  batchHeaderOf,
  lz4Compress,
  lz4Decompress,
  parseUndecodable,
  snappyCompress,
  snappyDecompress,
  undecodableRecords,
  zstdCompress,
  zstdDecompress,
} from '../../src/services/kafka/codecs';
import { decodeConsumerGroupDescribe, encodeConsumerGroupDescribe } from '../../src/services/kafka/groupDescribe';
import { statusNote } from '../../src/webviews/messageBrowser/controller';

/** Compressible test data larger than every block size involved (32 KB snappy, 64 KB lz4). */
const big = Buffer.from(Array.from({ length: 9000 }, (_, i) => `{"n":${i},"name":"person-${i % 17}"}`).join('\n'));

describe('Kafka codecs', function () {
  it('snappy: writes xerial framing as Kafka\u2019s Java client does, reads it and raw snappy back', function () {
    const framed = snappyCompress(big);
    assert.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
    assert.ok(framed.length < big.length / 2, 'it compresses');
    assert.ok(snappyDecompress(framed).equals(big));
    const raw = Buffer.from((require('snappyjs') as { compress(b: Buffer): Uint8Array }).compress(Buffer.from('raw snappy')));
    assert.equal(snappyDecompress(raw).toString(), 'raw snappy');
    assert.throws(() => snappyDecompress(Buffer.concat([framed.subarray(0, 20), Buffer.from([0xff, 0xff])])), /runs past the end|cut off/);
  });

  it('lz4: frames with independent 64 KB blocks (Kafka refuses dependent ones) that round-trip', function () {
    const frame = lz4Compress(big);
    assert.equal(frame.readUInt32LE(0), 0x184d2204);
    assert.equal(frame[4], 0x60, 'version 01, block independence set');
    assert.equal(frame[5], 0x40, '64 KB blocks');
    assert.ok(frame.length < big.length / 2);
    assert.ok(lz4Decompress(frame).equals(big));
    const random = crypto.randomBytes(100_000); // incompressible: stored blocks
    assert.ok(lz4Decompress(lz4Compress(random)).equals(random));
    assert.equal(lz4Decompress(lz4Compress(Buffer.from('tiny'))).toString(), 'tiny');
  });

  it('zstd: compresses with WebAssembly, decompresses in plain JavaScript', async function () {
    const c = await zstdCompress(big);
    assert.equal(c.readUInt32LE(0), 0xfd2fb528, 'a zstd frame');
    assert.ok(zstdDecompress(c).equals(big));
  });

  it('an undecodable batch: its header is read back from before the compressed bytes, and kafkajs decodes the placeholder records', function () {
    // a v2 record batch: firstOffset 40, 3 records, last offset delta 2, lz4 (attributes 3)
    const payload = Buffer.from('not really lz4');
    const header = Buffer.alloc(61);
    header.writeBigInt64BE(40n, 0);
    header.writeInt32BE(49 + payload.length, 8);
    header.writeInt8(2, 16);
    header.writeInt16BE(3, 21);
    header.writeInt32BE(2, 23);
    header.writeInt32BE(3, 57);
    const response = Buffer.concat([Buffer.alloc(100), header, payload]);
    const compressed = response.subarray(161); // what kafkajs hands the codec: a view into the response
    assert.deepEqual(batchHeaderOf(compressed), { firstOffset: 40, lastOffset: 42, records: 3, codecBits: 3 });
    assert.equal(batchHeaderOf(Buffer.from(compressed)), undefined, 'a copy has no header in front of it');
    const wrongLength = Buffer.concat([Buffer.alloc(100), header, payload, Buffer.from('x')]).subarray(161);
    assert.equal(batchHeaderOf(wrongLength), undefined, 'a length that does not match is not trusted');

    const info = { codec: 'lz4' as const, firstOffset: 40, lastOffset: 42, records: 3, reason: 'bad frame' };
    const Decoder = require('kafkajs/src/protocol/decoder');
    const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder');
    const d = new Decoder(undecodableRecords(info, 2));
    const records = Array.from({ length: 3 }, () => decodeRecord(new Decoder(d.readVarIntBytes()), { firstOffset: '40', firstTimestamp: '0' }));
    assert.deepEqual(records.map((r: { offset: string }) => r.offset), ['42', '42', '42'], 'all at the batch\u2019s last offset');
    assert.deepEqual(parseUndecodable(records[0].headers), info);
    assert.equal(parseUndecodable(records[1].headers), undefined);
  });

  it('the browser status says what the offsets held that are not messages', function () {
    const st = { state: 'done' as const, received: 4, next: {}, markers: 3, aborted: 2, undecodable: [], skipped: 0 };
    assert.equal(statusNote(st, 'read_committed'), 'Offsets read also held 3 transaction markers (not messages), 2 records of aborted transactions hidden (read committed).');
    assert.equal(statusNote({ ...st, markers: 1, aborted: 0 }, 'read_uncommitted'), 'Offsets read also held 1 transaction marker (not messages).');
    assert.equal(statusNote({ ...st, markers: 0, aborted: 0 }, 'read_committed'), undefined);
    assert.equal(statusNote({ ...st, error: 'Topic gone' }, 'read_committed'), 'Topic gone');
  });
});

describe('ConsumerGroupDescribe (KIP-848) wire format', function () {
  const uv = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const str = (s: string | null) => (s === null ? uv(0) : Buffer.concat([uv(Buffer.byteLength(s) + 1), Buffer.from(s)]));
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const i16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  const arr = (items: Buffer[]) => Buffer.concat([uv(items.length + 1), ...items]);
  const TAGS = uv(0);

  it('encodes the request after the header\u2019s tagged fields', function () {
    assert.deepEqual([...encodeConsumerGroupDescribe(['g1', 'g'])], [0, 3, 3, 0x67, 0x31, 2, 0x67, 0, 0]);
  });

  it('decodes groups with members and their assignments, skipping tagged fields', function () {
    const assignment = (topic: string, parts: number[]) =>
      Buffer.concat([arr([Buffer.concat([crypto.randomBytes(16), str(topic), arr(parts.map(i32)), TAGS])]), TAGS]);
    const member = Buffer.concat([
      str('m-1'), str(null), str(null), i32(5), str('console-consumer'), str('/127.0.0.1'),
      arr([str('orders')]), str(null), assignment('orders', [0, 1, 2]), assignment('orders', [0, 1, 2]),
      uv(1), uv(7), uv(2), Buffer.from([1, 2]), // one unknown tagged field: skipped
    ]);
    const group = Buffer.concat([i16(0), str(null), str('g1'), str('Stable'), i32(9), i32(9), str('uniform'), arr([member]), i32(-2147483648), TAGS]);
    const payload = Buffer.concat([TAGS, i32(0), arr([group]), TAGS]);
    assert.deepEqual(decodeConsumerGroupDescribe(payload), [
      {
        groupId: 'g1',
        errorCode: 0,
        errorMessage: null,
        state: 'Stable',
        groupEpoch: 9,
        assignor: 'uniform',
        members: [{ memberId: 'm-1', clientId: 'console-consumer', clientHost: '/127.0.0.1', memberEpoch: 5, subscribedTopics: ['orders'], assignment: [{ topic: 'orders', partitions: [0, 1, 2] }] }],
      },
    ]);
    assert.throws(() => decodeConsumerGroupDescribe(payload.subarray(0, 20)), /cut off|out of range/i);
  });
});
