/**
 * Prometheus text exposition of the running set: for node_exporter's
 * textfile collector from cron (one shot), or served at /metrics with a
 * bounded query rate (`metrics --listen`), refreshed incrementally.
 */
import { createServer, type Server } from 'node:http';
import type { LiveSet, ShardCounts } from './source.js';
import type { Execution } from './core/execution.js';
import { safeText } from './sanitize.js';

export interface MetricsOptions {
  stuckSeconds: number;
  longRunningSeconds: number;
  /** Per-path series for the N paths with the most running executions. */
  topPaths: number;
  /** The config file's context: a label on every sample. */
  context?: string | null;
  /** More series from the same refresh (metrics --policy: executions each rule judges stuck). */
  extra?: (live: LiveSet) => Promise<Series[]>;
}

export interface MetricsSnapshot {
  running: number;
  stuck: number;
  longRunning: number;
  oldestRunningSeconds: number;
  byPath: { path: string; running: number; stuck: number }[];
  /** A sharded cluster: each shard's counts. */
  shards?: ShardCounts[];
}

export function snapshotOf(live: LiveSet, o: MetricsOptions): MetricsSnapshot {
  const all = live.view({ olderThanSeconds: 0, includeChildren: true });
  const stuck = new Set(live.view({ olderThanSeconds: o.stuckSeconds, includeChildren: true }).map((e) => e.execution_id));
  const paths = new Map<string, { running: number; stuck: number }>();
  for (const e of all) {
    // By the path as its label shows it: paths that show the same share one series.
    const path = safeText(e.path ?? '', Infinity);
    const p = paths.get(path) ?? { running: 0, stuck: 0 };
    p.running++;
    if (stuck.has(e.execution_id)) p.stuck++;
    paths.set(path, p);
  }
  const byPath = [...paths.entries()]
    .map(([path, c]) => ({ path, ...c }))
    .sort((a, b) => b.running - a.running || a.path.localeCompare(b.path))
    .slice(0, o.topPaths);
  return {
    running: all.length,
    stuck: stuck.size,
    longRunning: all.filter((e: Execution) => e.age_seconds >= o.longRunningSeconds).length,
    oldestRunningSeconds: all.reduce((m, e) => Math.max(m, e.age_seconds), 0),
    byPath,
    ...(live.shardCounts ? { shards: live.shardCounts(o.stuckSeconds) } : {}),
  };
}

/**
 * A label value in the exposition format. Text from the database is shown as
 * `list` shows it (control and bidi characters as visible escapes, never
 * raw: the output is often read on a terminal), uncut so that two paths keep
 * two series; then Prometheus's own escapes for backslash and double quote
 * (a newline is already `\n` text).
 */
export function escapeLabel(value: string): string {
  return safeText(value, Infinity).replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

const P = 'noetl_console';

/** The exposition text. `snapshot` null means the scrape failed: only the success gauge is 0. */
export function renderMetrics(snapshot: MetricsSnapshot | null, o: MetricsOptions, durationSeconds: number): string {
  const lines: string[] = [];
  const context = o.context ? `context="${escapeLabel(o.context)}"` : '';
  const withContext = (labels: string) => (!context ? labels : labels ? `{${context},${labels.slice(1)}` : `{${context}}`);
  const gauge = (name: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${P}_${name} ${help}`, `# TYPE ${P}_${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${P}_${name}${withContext(labels)} ${Number.isFinite(value) ? value : 'NaN'}`);
  };
  if (snapshot) {
    gauge('running_executions', 'Executions with a start event and no terminal event.', [['', snapshot.running]]);
    gauge('stuck_executions', 'Running executions that started longer ago than the stuck threshold.', [[`{threshold_seconds="${o.stuckSeconds}"}`, snapshot.stuck]]);
    gauge('long_running_executions', 'Running executions that started longer ago than the long-running threshold.', [
      [`{threshold_seconds="${o.longRunningSeconds}"}`, snapshot.longRunning],
    ]);
    gauge('oldest_running_seconds', 'Age of the oldest running execution, seconds.', [['', snapshot.oldestRunningSeconds]]);
    gauge(
      'running_executions_by_path',
      `Running executions per playbook path (top ${o.topPaths}).`,
      snapshot.byPath.map((p) => [`{path="${escapeLabel(p.path)}"}`, p.running]),
    );
    gauge(
      'stuck_executions_by_path',
      `Stuck executions per playbook path (top ${o.topPaths} by running).`,
      snapshot.byPath.map((p) => [`{path="${escapeLabel(p.path)}"}`, p.stuck]),
    );
    if (snapshot.shards) {
      const shard = (s: ShardCounts) => `{shard="${s.shard}",target="${escapeLabel(s.target)}"}`;
      gauge(
        'shard_up',
        'Whether the shard answered the last read (sharded cluster).',
        snapshot.shards.map((s) => [shard(s), s.up ? 1 : 0]),
      );
      gauge(
        'shard_running_executions',
        'Running executions per shard.',
        snapshot.shards.filter((s) => s.up).map((s) => [shard(s), s.running]),
      );
      gauge(
        'shard_stuck_executions',
        'Stuck executions per shard.',
        snapshot.shards.filter((s) => s.up).map((s) => [`{shard="${s.shard}",target="${escapeLabel(s.target)}",threshold_seconds="${o.stuckSeconds}"}`, s.stuck]),
      );
    }
  }
  gauge('scrape_success', 'Whether the last read of the database succeeded.', [['', snapshot ? 1 : 0]]);
  gauge('scrape_duration_seconds', 'How long the last read of the database took.', [['', Number(durationSeconds.toFixed(6))]]);
  return `${lines.join('\n')}\n`;
}

/**
 * One cached read shared by every scrape within `cacheMs`: the database sees
 * at most one refresh per period however often it is scraped.
 */
export class MetricsCache {
  private last: { at: number; text: string } | null = null;
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly live: LiveSet,
    private readonly o: MetricsOptions,
    private readonly cacheMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** The exposition of a scrape that got no answer from the database in time. */
  failed(durationSeconds: number): string {
    return renderMetrics(null, this.o, durationSeconds);
  }

  get(): Promise<string> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return Promise.resolve(this.last.text);
    this.inflight ??= (async () => {
      const started = performance.now();
      let text: string;
      try {
        await this.live.refresh();
        const extra = this.o.extra ? renderSeries(await this.o.extra(this.live)) : '';
        text = renderMetrics(snapshotOf(this.live, this.o), this.o, (performance.now() - started) / 1000) + extra;
      } catch (error) {
        this.onError(error);
        text = renderMetrics(null, this.o, (performance.now() - started) / 1000);
      }
      this.last = { at: Date.now(), text };
      return text;
    })().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }
}

/**
 * How long a scrape may wait for the database: within Prometheus's own
 * timeout (its X-Prometheus-Scrape-Timeout-Seconds header, less half a
 * second), else `defaultMs`. A read still running then answers the next scrape.
 */
export function scrapeDeadlineMs(header: string | string[] | undefined, defaultMs: number): number {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds > 0 ? Math.max(100, Math.min(defaultMs, seconds * 1000 - 500)) : defaultMs;
}

export function serveMetrics(cache: MetricsCache, host: string, port: number, deadlineMs = 9000): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/plain' }).end(req.url === '/' ? 'noetl-console metrics: see /metrics\n' : 'not found\n');
      return;
    }
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    // The database not answering is a scrape that says so (scrape_success 0), in time.
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(cache.failed((performance.now() - started) / 1000)), scrapeDeadlineMs(req.headers['x-prometheus-scrape-timeout-seconds'], deadlineMs));
    });
    Promise.race([cache.get(), late])
      .finally(() => clearTimeout(timer))
      .then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        () => res.writeHead(500).end(),
      );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** A sample of exposition text: name (without the noetl_console_ prefix), help, type, labelled values. */
export interface Series {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: [labels: Record<string, string>, value: number][];
}

export function renderSeries(series: readonly Series[]): string {
  const lines: string[] = [];
  for (const s of series) {
    lines.push(`# HELP ${P}_${s.name} ${s.help}`, `# TYPE ${P}_${s.name} ${s.type}`);
    for (const [labels, value] of s.samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${P}_${s.name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Serve `render()` at /metrics (sweep --listen: the counts are in memory, no database read per scrape). */
export function serveText(render: () => string, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/plain' }).end(req.url === '/' ? 'noetl-console: see /metrics\n' : 'not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
