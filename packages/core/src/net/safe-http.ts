import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, request as undiciRequest } from 'undici';
import { AppError } from '../shared/errors.ts';
import { classifyAddress } from './address-policy.ts';

/**
 * The one outbound HTTP client (webhooks, channel media downloads, LLM endpoints). URLs come from workspace
 * admins and from remote servers (redirects), so every hop is checked before any byte is sent:
 *   scheme and port allowed → no userinfo → DNS resolved by us → every address public (or host allowlisted)
 *   → connect to exactly the addresses we checked (no second DNS lookup, so DNS rebinding cannot swap in
 *   a private address) while Host header and TLS SNI/certificate checks keep the original hostname.
 * Responses are size-capped while streaming and the whole exchange (all hops, body included) shares one deadline.
 */

export type ResolvedAddress = { address: string; family: number };
/** Resolves a hostname to all its addresses. Injectable for tests; defaults to the OS resolver. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeHttpOptions {
  /** URL schemes with the trailing colon. Default ['http:', 'https:']. */
  allowedSchemes?: readonly string[];
  /** Default [80, 443, 8080, 8443]. An allowlisted host may use any port. */
  allowedPorts?: readonly number[];
  /** Default 10 MB. */
  maxResponseBytes?: number;
  /** Whole request including redirects and body. Default 10 000 ms. */
  timeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  resolve?: HostResolver;
}

export interface SafeRequestInit {
  method?: string;
  headers?: HeadersInit;
  /** Buffered so that a 307/308 redirect can resend it. */
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /**
   * The workspace's networkAllowlist: hostnames (or IP literals) that may resolve to private addresses and
   * use any port. Matched exactly, case-insensitively.
   */
  allowHosts?: readonly string[];
  maxResponseBytes?: number;
  timeoutMs?: number;
}

export interface SafeResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The URL that produced this response, after redirects. */
  url: string;
  redirects: number;
}

export interface SafeHttpClient {
  request(url: string | URL, init?: SafeRequestInit): Promise<SafeResponse>;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Headers the caller may not set: Host would let a caller address a different virtual host than the one
// we checked; the framing headers are managed by undici (and it rejects some of them outright).
const FORBIDDEN_REQUEST_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']);
// Credentials meant for one origin must not follow a redirect to another.
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const ALLOWLIST_HINT = 'an admin can allow this host in workspace settings (networkAllowlist)';

const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true });

export function createSafeHttpClient(opts: SafeHttpOptions = {}): SafeHttpClient {
  const schemes = new Set(opts.allowedSchemes ?? ['http:', 'https:']);
  const ports = new Set(opts.allowedPorts ?? [80, 443, 8080, 8443]);
  const resolve = opts.resolve ?? systemResolver;

  return {
    async request(input, init = {}) {
      const maxBytes = init.maxResponseBytes ?? opts.maxResponseBytes ?? 10 * 1024 * 1024;
      const timeoutMs = init.timeoutMs ?? opts.timeoutMs ?? 10_000;
      const maxRedirects = opts.maxRedirects ?? 5;
      const allowHosts = new Set((init.allowHosts ?? []).map(normalizeHost));
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;

      let url = parseUrl(input);
      let method = (init.method ?? 'GET').toUpperCase();
      let body = init.body;
      const headers = requestHeaders(init.headers);

      for (let redirects = 0; ; redirects++) {
        const target = await checkTarget(url, { schemes, ports, allowHosts, resolve, signal });
        const hop = await sendOnce(url, target, { method, headers, body, signal, maxBytes, timeoutMs, deadline });
        const location = hop.headers.get('location');
        if (!REDIRECT_STATUSES.has(hop.status) || location === null) return { ...hop, url: url.href, redirects };

        if (redirects >= maxRedirects) {
          throw new AppError('validation_failed', `${url.hostname} redirected more than ${maxRedirects} times`);
        }
        const next = parseUrl(location, url);
        // Same rules as fetch: 303 always becomes GET (except HEAD), 301/302 turn POST into GET; 307/308 resend as is.
        if ((hop.status === 303 && method !== 'HEAD') || ((hop.status === 301 || hop.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        if (next.origin !== url.origin) for (const h of CREDENTIAL_HEADERS) delete headers[h];
        url = next;
      }
    },
  };
}

type Target = { hostname: string; addresses: ResolvedAddress[] };

/** Applies every rule to one hop and returns the addresses that were checked (the ones to connect to). */
async function checkTarget(
  url: URL,
  policy: { schemes: Set<string>; ports: Set<number>; allowHosts: Set<string>; resolve: HostResolver; signal: AbortSignal },
): Promise<Target> {
  const hostname = normalizeHost(url.hostname);
  if (!policy.schemes.has(url.protocol)) {
    throw blocked(`${url.protocol} URLs are not allowed (only ${[...policy.schemes].join(', ')})`);
  }
  if (url.username || url.password) {
    throw blocked(`URLs with a username or password are not allowed (${hostname}); send credentials in a header`);
  }
  if (!hostname) throw blocked('the URL has no host');
  const allowlisted = policy.allowHosts.has(hostname);
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (!allowlisted && (port === undefined || !policy.ports.has(port))) {
    throw blocked(`port ${port ?? '(none)'} of ${hostname} is not allowed (allowed: ${[...policy.ports].join(', ')}); ${ALLOWLIST_HINT}`);
  }

  let addresses: ResolvedAddress[];
  if (isIP(hostname)) {
    addresses = [{ address: hostname, family: isIP(hostname) }];
  } else {
    try {
      // dns.lookup cannot be cancelled; racing it keeps a hanging resolver inside the caller's deadline.
      const found = await abortable(policy.resolve(hostname), policy.signal);
      addresses = found.map(({ address }) => ({ address, family: isIP(address) }));
    } catch (err) {
      if (policy.signal.aborted) throw withCause(new AppError('internal', `resolving ${hostname} timed out or was cancelled`), err);
      throw withCause(new AppError('validation_failed', `${hostname} could not be resolved`), err);
    }
    if (addresses.length === 0) throw new AppError('validation_failed', `${hostname} could not be resolved`);
  }
  if (!allowlisted) {
    // ANY non-public address refuses the host: otherwise a name with one public and one private record
    // could get us to connect to the private one.
    for (const { address } of addresses) {
      const verdict = classifyAddress(address);
      if (!verdict.public) {
        const via = address === hostname ? '' : ` (resolves to ${address})`;
        throw blocked(`${hostname}${via} is ${verdict.description}; ${ALLOWLIST_HINT}`);
      }
    }
  }
  return { hostname, addresses };
}

async function sendOnce(
  url: URL,
  target: Target,
  o: {
    method: string;
    headers: Record<string, string>;
    body: string | Uint8Array | undefined;
    signal: AbortSignal;
    maxBytes: number;
    timeoutMs: number;
    deadline: AbortSignal;
  },
): Promise<Omit<SafeResponse, 'url' | 'redirects'>> {
  // A fresh agent per hop whose lookup only ever answers with the addresses checked above. No pooling
  // across hops or calls: a pooled socket would have been checked under another call's allowlist.
  const agent = new Agent({ connect: { lookup: pinnedLookup(target.addresses), timeout: o.timeoutMs } });
  try {
    const res = await undiciRequest(url, {
      dispatcher: agent,
      method: o.method as 'GET',
      headers: o.headers,
      body: o.body ?? null,
      signal: o.signal,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
    });
    // Destroying an undici body emits 'error' (AbortError); the iterator below still sees real errors,
    // this listener only keeps our own early destroy() from surfacing as an uncaught exception.
    res.body.on('error', () => {});
    const headers = toHeaders(res.headers);
    if (REDIRECT_STATUSES.has(res.statusCode) && headers.has('location')) {
      // The redirect's own body is never needed; don't spend the byte budget or time on it.
      res.body.destroy();
      return { status: res.statusCode, headers, body: Buffer.alloc(0) };
    }
    // A HEAD response declares the size of a body it does not send.
    const declared = o.method === 'HEAD' ? NaN : Number(headers.get('content-length') ?? NaN);
    if (declared > o.maxBytes) {
      res.body.destroy();
      throw tooLarge(target.hostname, o.maxBytes);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      total += (chunk as Buffer).length;
      if (total > o.maxBytes) {
        res.body.destroy();
        throw tooLarge(target.hostname, o.maxBytes);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: res.statusCode, headers, body: Buffer.concat(chunks, total) };
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (o.deadline.aborted) {
      throw withCause(new AppError('internal', `request to ${target.hostname} timed out after ${o.timeoutMs} ms`), err);
    }
    if (o.signal.aborted) throw withCause(new AppError('internal', `request to ${target.hostname} was cancelled`), err);
    const reason = (err as { code?: string }).code ?? (err as Error).message;
    throw withCause(new AppError('internal', `request to ${target.hostname} failed (${reason})`), err);
  } finally {
    agent.destroy().catch(() => {});
  }
}

/**
 * net.connect's `lookup` hook answering only with pre-checked addresses. Node calls it with `all: true`
 * when happy-eyeballs (autoSelectFamily) is on, otherwise expects a single address.
 */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    const first = wanted[0];
    if (!first) {
      const err = Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' });
      callback(err, '', 0);
    } else if (options.all) {
      callback(null, wanted.map((a) => ({ address: a.address, family: a.family })));
    } else {
      callback(null, first.address, first.family);
    }
  };
}

function parseUrl(input: string | URL, base?: URL): URL {
  try {
    return new URL(String(input), base);
  } catch {
    throw new AppError('validation_failed', base ? `${base.hostname} redirected to an invalid URL` : 'invalid URL');
  }
}

/** Lowercase, no IPv6 brackets, no trailing dot: the form allowlist entries and URL hosts are compared in. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function requestHeaders(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    if (!FORBIDDEN_REQUEST_HEADERS.has(name)) out[name] = value;
  });
  return out;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const blocked = (message: string) => new AppError('ssrf_blocked', message);
const tooLarge = (host: string, max: number) =>
  new AppError('payload_too_large', `response from ${host} is larger than ${max} bytes`);

function withCause(err: AppError, cause: unknown): AppError {
  return Object.assign(err, { cause });
}
