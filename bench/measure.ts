import { spawn } from 'node:child_process';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time (ms) of `fn` over `reps` runs after one warm-up. */
export async function timeIt(reps: number, fn: () => Promise<unknown>, warmup = 1): Promise<{ ms: number; runs: number[] }> {
  for (let i = 0; i < warmup; i++) await fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    runs.push(performance.now() - t);
  }
  return { ms: median(runs), runs };
}

/**
 * Each case once per round, the order reversed every other round (A B, B A,
 * ...), so that the machine's load and caches fall on every case alike; after
 * `warmup` rounds, the median of `reps` rounds for each. `between` runs after
 * every case (undoing a write), untimed.
 */
export async function interleave(
  cases: readonly (readonly [string, () => Promise<unknown>])[],
  reps: number,
  opts: { warmup?: number; between?: () => Promise<unknown> } = {},
): Promise<Record<string, { ms: number; runs: number[] }>> {
  const runs = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  const warmup = opts.warmup ?? 1;
  for (let r = 0; r < warmup + reps; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const [name, fn] of order) {
      const t = performance.now();
      await fn();
      const ms = performance.now() - t;
      await opts.between?.();
      if (r >= warmup) runs.get(name)!.push(ms);
    }
  }
  return Object.fromEntries([...runs].map(([name, xs]) => [name, { ms: median(xs), runs: xs }]));
}

export interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `cmd` with its stdout read from a pipe and only counted (a byte-counting sink: no copy of a large output). */
export function runCounting(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; bytes: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, bytes, stderr }));
  });
}
