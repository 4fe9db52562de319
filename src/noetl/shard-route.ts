/**
 * Which shard of a sharded NoETL cluster owns an execution, computed as the
 * Rust server does (noetl/server src/sharding.rs `shard_for`, used by
 * src/db/pool.rs `pool_for`): XxHash64 with seed 0 over the execution id as
 * 8 little-endian bytes (an i64), modulo the number of shards; one shard or
 * fewer is shard 0.
 */
import xxhash from 'xxhash-wasm';

export type ShardRouter = (executionId: string, shardCount: number) => number;

let loading: Promise<ShardRouter> | null = null;

/** The router, once its WebAssembly has loaded (a few milliseconds, once per process). */
export function loadShardRouter(): Promise<ShardRouter> {
  loading ??= xxhash().then(({ h64Raw }) => {
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    return (executionId: string, shardCount: number): number => {
      if (shardCount <= 1) return 0;
      // An i64 as the server stores it: BigInt.asIntN keeps negative ids two's complement.
      view.setBigInt64(0, BigInt.asIntN(64, BigInt(executionId)), true);
      return Number(h64Raw(bytes, 0n) % BigInt(shardCount));
    };
  });
  return loading;
}
