/**
 * A fault-injecting TCP proxy in front of the test server (127.0.0.1 only).
 * Faults of a real network between the console and PostgreSQL:
 * - `stallAll()`: stop relaying in both directions without closing anything
 *   (a NAT or firewall dropping state, a half-open link); new connections are
 *   accepted and never relayed either.
 * - `rule`: per connection, decided on each chunk the client sends (with the
 *   text it sent before): forward it, forward it and then stall that
 *   connection (the answer never comes), or forward it and reset the client.
 * - `delayMs`: every chunk, both ways, is held this long (a slow link).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type RuleAction = 'forward' | 'forward-then-stall' | 'forward-then-reset' | 'forward-then-stall-all';
export type Rule = (chunk: string, sentBefore: string) => RuleAction;

/** pg's simple-protocol COMMIT: 'Q', length 11, "COMMIT\0". */
export const COMMIT_MESSAGE = 'Q\u0000\u0000\u0000\u000bCOMMIT\u0000';

/** The COMMIT of a write transaction (the console asks for its xid just before). */
export const writeCommit: Rule = (chunk, before) => (chunk.includes(COMMIT_MESSAGE) && before.includes('txid_current_if_assigned') ? 'forward-then-stall' : 'forward');

interface Link {
  client: Socket;
  server: Socket;
  stalled: boolean;
  sent: string;
}

export class FaultProxy {
  rule: Rule = () => 'forward';
  delayMs = 0;
  private allStalled = false;
  private readonly links = new Set<Link>();
  /** How many client connections the proxy has accepted. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort = 5432): Promise<FaultProxy> {
    const server = createServer((client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const proxy = new FaultProxy(server, port, targetPort);
    return proxy;
  }

  /** A database URL through this proxy. */
  url(direct: string): string {
    const u = new URL(direct);
    u.port = String(this.port);
    return u.toString();
  }

  stallAll(): void {
    this.allStalled = true;
    for (const link of this.links) this.stall(link);
  }

  /** Relay again (new connections; stalled ones stay stalled, as their peers gave up). */
  heal(): void {
    this.allStalled = false;
    this.rule = () => 'forward';
    this.delayMs = 0;
  }

  private stall(link: Link): void {
    link.stalled = true;
    link.client.pause();
    link.server.pause();
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    const server = connect(this.targetPort, '127.0.0.1');
    server.on('error', () => {});
    const link: Link = { client, server, stalled: false, sent: '' };
    this.links.add(link);
    if (this.allStalled) {
      this.stall(link);
      return;
    }
    const later = (fn: () => void) => (this.delayMs > 0 ? setTimeout(fn, this.delayMs) : fn());
    client.on('data', (chunk: Buffer) => {
      if (link.stalled) return;
      const text = chunk.toString('latin1');
      const action = this.rule(text, link.sent);
      link.sent += text;
      later(() => {
        if (link.stalled) return;
        server.write(chunk);
        if (action === 'forward-then-stall') this.stall(link);
        else if (action === 'forward-then-stall-all') this.stallAll();
        else if (action === 'forward-then-reset') client.resetAndDestroy();
      });
    });
    server.on('data', (chunk: Buffer) => {
      if (link.stalled) return;
      later(() => {
        if (!link.stalled) client.write(chunk);
      });
    });
    // A side that closes is passed on, unless the link is stalled (nothing passes then).
    client.on('close', () => {
      if (!link.stalled) server.destroy();
    });
    server.on('close', () => {
      if (!link.stalled) client.destroy();
    });
  }

  async close(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.server.destroy();
    }
    this.links.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
