/**
 * Shard routing as NoETL's Rust server computes it (noetl/server
 * src/sharding.rs shard_for: XxHash64 seed 0 over the i64 id's 8
 * little-endian bytes, modulo the shard count), checked against an
 * implementation of the XXH64 specification written here with BigInt, itself
 * checked against xxHash's published test values and NoETL's own pinned
 * routes (src/db/pool.rs pool_for_routing_math_matches_drift_guard_pairs).
 */
import { describe, expect, it } from 'vitest';
import { loadShardRouter } from '../../src/noetl/shard-route.js';

const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const mul = (a: bigint, b: bigint) => (a * b) & M;
const add = (a: bigint, b: bigint) => (a + b) & M;
const u64 = (b: Uint8Array, i: number) => {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]!);
  return v;
};
const u32 = (b: Uint8Array, i: number) => BigInt(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16)) + (BigInt(b[i + 3]!) << 24n);
const round = (acc: bigint, lane: bigint) => mul(rotl(add(acc, mul(lane, P2)), 31n), P1);
const merge = (acc: bigint, v: bigint) => add(mul(acc ^ round(0n, v), P1), P4);

/** XXH64 as specified in xxHash's doc/xxhash_spec.md. */
function xxh64Reference(input: Uint8Array, seed = 0n): bigint {
  const len = input.length;
  let i = 0;
  let acc: bigint;
  if (len >= 32) {
    let v1 = add(add(seed, P1), P2);
    let v2 = add(seed, P2);
    let v3 = seed;
    let v4 = (seed - P1) & M;
    for (; i + 32 <= len; i += 32) {
      v1 = round(v1, u64(input, i));
      v2 = round(v2, u64(input, i + 8));
      v3 = round(v3, u64(input, i + 16));
      v4 = round(v4, u64(input, i + 24));
    }
    acc = add(add(add(rotl(v1, 1n), rotl(v2, 7n)), rotl(v3, 12n)), rotl(v4, 18n));
    acc = merge(merge(merge(merge(acc, v1), v2), v3), v4);
  } else {
    acc = add(seed, P5);
  }
  acc = add(acc, BigInt(len));
  for (; i + 8 <= len; i += 8) acc = add(mul(rotl(acc ^ round(0n, u64(input, i)), 27n), P1), P4);
  for (; i + 4 <= len; i += 4) acc = add(mul(rotl(acc ^ mul(u32(input, i), P1), 23n), P2), P3);
  for (; i < len; i++) acc = mul(rotl(acc ^ mul(BigInt(input[i]!), P5), 11n), P1);
  acc = mul(acc ^ (acc >> 33n), P2);
  acc = mul(acc ^ (acc >> 29n), P3);
  return acc ^ (acc >> 32n);
}

const le8 = (id: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, id), true);
  return b;
};
const referenceShard = (id: string, n: number) => (n <= 1 ? 0 : Number(xxh64Reference(le8(BigInt(id))) % BigInt(n)));

describe('the XXH64 reference', () => {
  // xxHash's published values (README, xxhsum -H64, the spec's test vectors).
  it.each([
    ['', 0xef46db3751d8e999n],
    ['a', 0xd24ec4f1a98c6e5bn],
    ['abc', 0x44bc2cf5ad770999n],
    ['message digest', 0x066ed728fceeb3ben],
    ['abcdefghijklmnopqrstuvwxyz', 0xcfe1f278fa89835cn],
    ['The quick brown fox jumps over the lazy dog', 0x0b242d361fda71bcn],
  ])('XXH64(%j, 0)', (text, expected) => {
    expect(xxh64Reference(new TextEncoder().encode(text)).toString(16)).toBe(expected.toString(16));
  });

  it("gives NoETL's pinned routes for execution 1 (src/db/pool.rs)", () => {
    expect([2, 4, 16, 64, 1024].map((n) => referenceShard('1', n))).toEqual([1, 1, 5, 21, 405]);
  });
});

describe('shard routing', () => {
  const ids = [
    '1',
    '2',
    '42',
    '1009',
    '4294967295',
    '4294967296',
    '9007199254740991', // 2^53 - 1
    '9007199254740992', // 2^53
    '9007199254740993', // 2^53 + 1: a double would round it
    '9007199254740993123',
    '320816801799737344', // NoETL's pinned snowflake
    '543857931469455628',
    '543857931469456637',
    '611000000000001000',
    '611000000000001001',
    '611000000000001002',
    '611000000000001003',
    '1152921504606846976', // 2^60
    '4611686018427387904', // 2^62
    '9223372036854775806',
    '9223372036854775807', // the largest bigint
  ];

  it.each(ids)('routes %s as NoETL does, for 1 to 7, 16 and 1024 shards', async (id) => {
    const route = await loadShardRouter();
    for (const n of [1, 2, 3, 4, 5, 6, 7, 16, 1024]) expect(route(id, n), `${id} over ${n}`).toBe(referenceShard(id, n));
  });

  it("matches NoETL's pinned routes for execution 1", async () => {
    const route = await loadShardRouter();
    expect([2, 4, 16, 64, 1024].map((n) => route('1', n))).toEqual([1, 1, 5, 21, 405]);
  });

  it('spreads consecutive snowflakes over every shard', async () => {
    const route = await loadShardRouter();
    const counts = [0, 0, 0, 0];
    for (let i = 0n; i < 4000n; i++) counts[route(String(320816801799737344n + i), 4)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});
