/**
 * A small client for a NoETL server's HTTP API (the Rust `noetl/server` or the
 * Python `noetl/noetl`), used only when a server is configured. Global fetch,
 * a deadline on every request, the bearer token never in any message, ids
 * parsed without losing digits (the Rust server answers them as JSON numbers
 * above 2^53).
 */
import { OperationalError, UsageError, oneLine, quoted, registerSecret } from '../errors.js';
import { safeText } from '../sanitize.js';

export type ServerEngine = 'rust' | 'python';
export type EngineChoice = ServerEngine | 'auto';

export interface ServerConfig {
  /** The base URL without credentials, e.g. http://noetl:8082 (no trailing slash). */
  baseUrl: string;
  /** Shown in messages: the base URL, never a password or token. */
  label: string;
  engine: EngineChoice;
  /** Sent as `Authorization: Bearer`; from NOETL_SERVER_TOKEN. */
  token: string | null;
  /** user:password from the URL, sent as Basic when there is no token. */
  basic: string | null;
  timeoutMs: number;
}

export const DEFAULT_SERVER_TIMEOUT_MS = 10_000;

/** Validate a server URL (flag, config or environment): a UsageError (exit 2) names where it came from. */
export function parseServerUrl(raw: string, from: string): Pick<ServerConfig, 'baseUrl' | 'label' | 'basic'> {
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new UsageError(`${from}: the server URL contains control characters`);
  if (raw.trim() === '') throw new UsageError(`${from}: empty`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UsageError(`${from}: not a valid URL (expected http://host:port, the NoETL server's address)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${from}: unsupported scheme ${quoted(url.protocol, 40)} (expected http:// or https://)`);
  }
  if (url.search || url.hash) throw new UsageError(`${from}: expected the server's base URL, without ?query or #fragment`);
  let basic: string | null = null;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    registerSecret(url.password);
    registerSecret(password);
    basic = Buffer.from(`${user}:${password}`).toString('base64');
    registerSecret(basic);
    url.username = '';
    url.password = '';
  }
  const baseUrl = url.toString().replace(/\/+$/, '');
  return { baseUrl, label: safeText(baseUrl, 200), basic };
}

export function parseEngineChoice(raw: string, from: string): EngineChoice {
  const value = raw.trim().toLowerCase();
  if (value === 'rust' || value === 'python' || value === 'auto') return value;
  throw new UsageError(`${from}: expected rust, python or auto; got ${quoted(raw, 40)}`);
}

/**
 * JSON.parse, except that an integer too large for a double is kept as its
 * digits (a string). Strings are matched first, so digits inside them are
 * never touched.
 */
export function parseJsonLossless(text: string): unknown {
  const guarded = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (token) => {
    if (token.startsWith('"') || !/^-?\d+$/.test(token)) return token;
    return Number.isSafeInteger(Number(token)) ? token : `"${token}"`;
  });
  return JSON.parse(guarded);
}

/** An id from an answer (number, digits, or a lossless string) as a string, or null. */
export function idOf(value: unknown): string | null {
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value).toString();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return null;
}

export interface ApiAnswer {
  status: number;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
  /** The body as text, cut, for messages. */
  text: string;
}

export type ApiFailureKind = 'unreachable' | 'timeout' | 'http' | 'garbage';

/** The server could not be reached, timed out, or answered something unusable: exit 1, one line. */
export class ApiError extends OperationalError {
  constructor(
    readonly kind: ApiFailureKind,
    message: string,
    /** The HTTP status, when there was an answer. */
    readonly httpStatus: number | null = null,
  ) {
    super(message);
  }
}

export class NoetlApi {
  private detected: Promise<ServerEngine> | null = null;

  constructor(readonly config: ServerConfig) {}

  get label(): string {
    return this.config.label;
  }

  /** The engine answering at the URL: configured, else told apart by GET /api/health. */
  engine(): Promise<ServerEngine> {
    if (this.config.engine !== 'auto') return Promise.resolve(this.config.engine);
    this.detected ??= this.detectEngine().catch((error: unknown) => {
      this.detected = null;
      throw error;
    });
    return this.detected;
  }

  /**
   * Both servers answer GET /api/health. The Rust server (handlers/health.rs,
   * api_health) answers {status, database, nats, uptime_seconds, version};
   * the Python server (server/api/__init__.py, api_health) answers exactly
   * {"status":"ok"}. The Rust one answers 503 with the same shape when its
   * database is down.
   */
  private async detectEngine(): Promise<ServerEngine> {
    const answer = await this.request('GET', '/api/health');
    if (answer.status === 401 || answer.status === 403) {
      throw new ApiError('http', `the NoETL server at ${this.label} refused GET /api/health (${answer.status}): is NOETL_SERVER_TOKEN set and valid?`, answer.status);
    }
    const body = answer.body;
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const keys = Object.keys(body);
      if (keys.some((k) => k === 'uptime_seconds' || k === 'nats' || k === 'database')) return 'rust';
      if (answer.status === 200 && keys.length === 1 && (body as { status?: unknown }).status === 'ok') return 'python';
    }
    throw new ApiError(
      'garbage',
      `cannot tell which NoETL server answers at ${this.label} (GET /api/health: ${describeAnswer(answer)}): set --server-engine rust or python`,
      answer.status,
    );
  }

  /** One request with a deadline; any HTTP status is an answer, only transport trouble throws. */
  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    else if (this.config.basic) headers.authorization = `Basic ${this.config.basic}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const where = `${method} ${path}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.config.baseUrl}${path}`, {
        method,
        headers,
        // A string is sent as it is: JSON text with ids above 2^53 written as numbers.
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.config.timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (error) {
      throw this.transportError(error, where);
    }
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? undefined : parseJsonLossless(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, text: safeText(oneLine(text), 200) };
  }

  private transportError(error: unknown, where: string): ApiError {
    const e = error as { name?: string; cause?: { code?: string; message?: string }; message?: string };
    const seconds = this.config.timeoutMs / 1000;
    if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
      return new ApiError('timeout', `the NoETL server at ${this.label} did not answer ${where} within ${seconds}s (--server-timeout)`);
    }
    const code = e?.cause?.code;
    const reason =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host not found'
          : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
            ? 'connection reset'
            : oneLine(e?.cause?.message ?? e?.message ?? String(error));
    const unreachable = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT';
    return new ApiError(
      unreachable ? 'unreachable' : 'garbage',
      unreachable
        ? `cannot reach the NoETL server at ${this.label} (${reason}); nothing was written: check --server, or pass --direct to write to the database instead`
        : `the NoETL server at ${this.label} failed on ${where}: ${safeText(reason, 200)}`,
    );
  }
}

/** "500 Internal Server Error: {...}" for messages, cut and one line. */
export function describeAnswer(answer: ApiAnswer): string {
  const detail = errorText(answer.body) ?? answer.text;
  return `${answer.status}${detail ? ` ${safeText(detail, 160)}` : ' (empty body)'}`;
}

/** The message in an error body: Rust {"error": ...}, Python (FastAPI) {"detail": ...}. */
export function errorText(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as { error?: unknown; detail?: unknown; message?: unknown };
  for (const v of [b.error, b.detail, b.message]) {
    if (typeof v === 'string') return oneLine(v);
    if (v && typeof v === 'object') return oneLine(JSON.stringify(v));
  }
  return null;
}
