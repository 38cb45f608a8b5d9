/**
 * The long-running IMAP reader of one email inbox: new mail is pushed by IMAP IDLE (RFC 2177) the moment
 * it arrives, and polled every `pollIntervalSeconds` on servers without IDLE. A dropped connection or a
 * failed login reconnects with exponential backoff (1 s … 5 min, with jitter), never in a tight loop.
 *
 * Position: UIDVALIDITY + the last UID handed to core, kept in core's PollState (RFC 3501 §2.3.1.1: UIDs
 * are only meaningful together with UIDVALIDITY). The position advances only after `sink.deliver`
 * resolved (acknowledged ⇒ stored), so a crash re-reads at most the mail in flight, which core dedupes by
 * Message-ID. When UIDVALIDITY changes the whole mailbox is read again; dedupe stores nothing twice.
 *
 * The mailbox is opened read-only (EXAMINE): Huiliu never changes flags or deletes mail, so people who
 * also read the mailbox in a mail client see it as before.
 */
import { ImapFlow, type MailboxObject } from 'imapflow';
import type { ChannelLogger, InboundMessageEvent, PollHandle, PollSink } from '../adapter.ts';
import type { EmailConfig } from './config.ts';
import type { ParseOutcome } from './parse.ts';

export interface FetchedEmail {
  uid: number;
  /** The whole message, or only its header block when `tooLarge`. */
  raw: Buffer;
  size: number;
  receivedAt: Date | undefined;
  tooLarge: boolean;
}

export interface ImapPollerDeps {
  config: EmailConfig;
  password: string;
  logger: ChannelLogger;
  now(): Date;
  sink: PollSink;
  /** Never throws: bad mail becomes an unsupported event or a skip reason. */
  toEvent(mail: FetchedEmail): Promise<ParseOutcome>;
  /** What to store instead of a mail core keeps refusing (so one poisonous mail cannot block the inbox). */
  storeFailedEvent(mail: FetchedEmail, original: InboundMessageEvent, error: string): InboundMessageEvent;
}

interface Position {
  mailbox: string;
  uidValidity: string;
  lastUid: number;
}

const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** Below imapflow's 5-minute socket timeout (and RFC 2177's 29 minutes): re-issue IDLE / NOOP before either fires. */
const MAX_QUIET_MS = 4 * 60_000;
/** After this many refused deliveries of the same mail, store a notice instead (the mail stays in the mailbox). */
const MAX_DELIVERY_ATTEMPTS = 5;
const FETCH_CHUNK = 100;

export function imapClient(settings: EmailConfig['imap'], password: string): ImapFlow {
  return new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: { user: settings.user, pass: password },
    logger: false,
    // We run IDLE ourselves, so it can be broken exactly when we want to fetch.
    disableAutoIdle: true,
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
    clientInfo: { name: 'Huiliu' },
  });
}

export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

function parsePosition(v: Record<string, unknown> | null): Position | null {
  if (!v) return null;
  const { mailbox, uidValidity, lastUid } = v;
  if (typeof mailbox !== 'string' || typeof uidValidity !== 'string' || typeof lastUid !== 'number' || !Number.isInteger(lastUid) || lastUid < 0) return null;
  return { mailbox, uidValidity, lastUid };
}

const reasonOf = (err: unknown): string => {
  const e = err as { message?: string; responseText?: string; code?: string; authenticationFailed?: boolean };
  if (e?.authenticationFailed) return `login refused${e.responseText ? ` (${e.responseText})` : ''}: check the IMAP user and password (app password)`;
  if (e?.code === 'NoConnection') return 'connection lost';
  const msg = e?.responseText || e?.message || String(err);
  return e?.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
};

export function startImapPoller(deps: ImapPollerDeps): PollHandle {
  const { config, logger, sink } = deps;
  const mailboxName = config.imap.mailbox;
  const abort = new AbortController();
  let stopped = false;
  let client: ImapFlow | null = null;
  /** New mail was announced (EXISTS) since the last search. */
  let changed = false;
  let wakeUp: (() => void) | null = null;
  const wake = () => wakeUp?.();
  const deliveryFailures = new Map<number, number>();
  /** The current session made progress (see session()). */
  let healthy = false;
  let failing = false;

  /** Resolves after `ms`, on stop, or on wake() (new mail, connection closed). */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (abort.signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', done);
        if (wakeUp === done) wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort.signal.addEventListener('abort', done, { once: true });
      wakeUp = done;
    });

  async function initialLastUid(c: ImapFlow, box: MailboxObject): Promise<number> {
    let uidNext = box.uidNext;
    if (!uidNext) {
      const all = await c.search({ all: true }, { uid: true });
      // reduce, not Math.max(...all): a mailbox can hold more UIDs than a call has arguments.
      uidNext = (Array.isArray(all) ? all.reduce((a, b) => Math.max(a, b), 0) : 0) + 1;
    }
    if (config.initialSyncDays === 0) return uidNext - 1;
    const since = new Date(deps.now().getTime() - config.initialSyncDays * 86_400_000);
    const recent = await c.search({ since }, { uid: true });
    return Array.isArray(recent) && recent.length ? recent.reduce((a, b) => Math.min(a, b)) - 1 : uidNext - 1;
  }

  async function resolvePosition(c: ImapFlow, box: MailboxObject): Promise<Position> {
    const uidValidity = String(box.uidValidity);
    const saved = parsePosition(await sink.state.get());
    if (saved && saved.mailbox === mailboxName && saved.uidValidity === uidValidity) return saved;
    let lastUid: number;
    if (saved && saved.mailbox === mailboxName) {
      logger.warn({ mailbox: mailboxName, was: saved.uidValidity, now: uidValidity }, 'email: UIDVALIDITY changed, reading the whole mailbox again (mail already stored is recognized by Message-ID)');
      lastUid = 0;
    } else {
      lastUid = await initialLastUid(c, box);
      logger.info({ mailbox: mailboxName, startAfterUid: lastUid, initialSyncDays: config.initialSyncDays }, 'email: first connection to this mailbox');
    }
    const pos = { mailbox: mailboxName, uidValidity, lastUid };
    await sink.state.set({ ...pos });
    return pos;
  }

  async function fetchEmail(c: ImapFlow, uid: number, meta: { size?: number; internalDate?: Date | string }): Promise<FetchedEmail | null> {
    const size = meta.size ?? 0;
    const receivedAt = meta.internalDate ? new Date(meta.internalDate) : undefined;
    const tooLarge = size > config.maxEmailBytes;
    const msg = await c.fetchOne(String(uid), tooLarge ? { uid: true, headers: true } : { uid: true, source: true }, { uid: true });
    const raw = msg ? (tooLarge ? msg.headers : msg.source) : undefined;
    if (!raw) return null;
    return { uid, raw, size, receivedAt: receivedAt && !Number.isNaN(receivedAt.getTime()) ? receivedAt : undefined, tooLarge };
  }

  async function deliver(mail: FetchedEmail, event: InboundMessageEvent): Promise<void> {
    try {
      await sink.deliver([event]);
      deliveryFailures.delete(mail.uid);
    } catch (err) {
      const failures = (deliveryFailures.get(mail.uid) ?? 0) + 1;
      deliveryFailures.set(mail.uid, failures);
      if (failures < MAX_DELIVERY_ATTEMPTS) throw err;
      logger.error({ uid: mail.uid, mailbox: mailboxName, messageId: event.externalId, err: reasonOf(err) }, `email UID ${mail.uid} failed to store ${failures} times (${reasonOf(err)}); storing a notice instead, the mail stays in the mailbox`);
      await sink.deliver([deps.storeFailedEvent(mail, event, reasonOf(err))]);
      deliveryFailures.delete(mail.uid);
    }
  }

  async function syncNew(c: ImapFlow, pos: Position): Promise<void> {
    changed = false;
    const found = await c.search({ uid: `${pos.lastUid + 1}:*` }, { uid: true });
    // `n:*` also matches the highest UID when nothing is above n (RFC 3501 §6.4.8), hence the filter.
    const uids = (Array.isArray(found) ? found : []).filter((u) => u > pos.lastUid).sort((a, b) => a - b);
    for (let i = 0; i < uids.length && !stopped; i += FETCH_CHUNK) {
      const chunk = uids.slice(i, i + FETCH_CHUNK);
      const metas = await c.fetchAll(chunk.join(','), { uid: true, size: true, internalDate: true }, { uid: true });
      const byUid = new Map(metas.map((m) => [m.uid, m]));
      for (const uid of chunk) {
        if (stopped) return;
        const meta = byUid.get(uid);
        const mail = meta ? await fetchEmail(c, uid, meta) : null;
        if (mail) {
          const outcome = await deps.toEvent(mail);
          if ('skip' in outcome) logger.info({ uid, mailbox: mailboxName, messageId: outcome.messageId, reason: outcome.skip }, 'email: mail skipped');
          else await deliver(mail, outcome.event);
        }
        // Expunged between SEARCH and FETCH, skipped, or stored: either way done with this UID.
        pos.lastUid = uid;
        await sink.state.set({ ...pos });
        healthy = true;
      }
    }
    const current = c.mailbox ? String(c.mailbox.uidValidity) : pos.uidValidity;
    if (current !== pos.uidValidity) throw new Error('UIDVALIDITY changed while connected');
  }

  async function waitForChange(c: ImapFlow): Promise<void> {
    if (changed || stopped) return;
    const wait = Math.min(config.pollIntervalSeconds * 1000, MAX_QUIET_MS);
    if (c.capabilities.has('IDLE')) {
      const idling = c.idle().catch(() => undefined);
      await pause(wait);
      if (stopped) return;
      await c.noop(); // breaks IDLE (DONE), then asks the server for news
      await idling;
    } else {
      await pause(wait);
      if (stopped) return;
      await c.noop(); // lets the server report new mail (EXISTS) and keeps the connection alive
    }
    if (!c.usable) throw new Error('IMAP connection closed');
  }

  async function session(): Promise<void> {
    const c = imapClient(config.imap, deps.password);
    client = c;
    // imapflow emits 'error' on socket trouble; without a listener Node would crash the process.
    c.on('error', () => wake());
    c.on('close', () => wake());
    c.on('exists', () => {
      changed = true;
      wake();
    });
    try {
      await c.connect();
      if (stopped) return;
      const box = await c.mailboxOpen(mailboxName, { readOnly: true });
      const pos = await resolvePosition(c, box);
      if (failing) logger.info({ mailbox: mailboxName }, 'email: IMAP connection restored');
      failing = false;
      logger.info({ mailbox: mailboxName, idle: c.capabilities.has('IDLE'), uidValidity: pos.uidValidity, lastUid: pos.lastUid }, 'email: reading mailbox');
      while (!stopped) {
        await syncNew(c, pos);
        // Progress (a full pass, or a mail stored) is what makes the next failure start over at the shortest
        // delay; a session that fails before any — core refusing to store, a broken mailbox — keeps backing off.
        healthy = true;
        await waitForChange(c);
      }
    } finally {
      client = null;
      if (c.usable) await Promise.race([c.logout().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
      c.close();
    }
  }

  const loop = (async () => {
    let attempt = 0;
    while (!stopped) {
      healthy = false;
      try {
        await session();
        attempt = 0;
      } catch (err) {
        if (stopped) break;
        // A connection that worked and then dropped starts over at the shortest delay.
        attempt = healthy ? 1 : attempt + 1;
        failing = true;
        const retryInMs = backoffDelay(attempt);
        const reason = reasonOf(err);
        // The message itself carries the reason: core shows an error's message as the inbox's lastError.
        logger.error({ mailbox: mailboxName, host: config.imap.host, attempt, retryInMs, err: reason }, `IMAP ${config.imap.host}:${config.imap.port}: ${reason}; retrying in ${Math.round(retryInMs / 1000)} s`);
        await pause(retryInMs);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      abort.abort();
      // A session stuck connecting or fetching a large mail is cut off rather than waited for.
      const force = setTimeout(() => client?.close(), 3_000);
      await loop;
      clearTimeout(force);
    },
  };
}
