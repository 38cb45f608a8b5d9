/**
 * A receiving SMTP server for tests (the `smtp-server` package on 127.0.0.1): requires AUTH PLAIN/LOGIN
 * with the given credentials, records every accepted message, refuses messages that break the
 * standards a real relay enforces (and records why), and can be told to answer the next message with a
 * temporary (4xx) or permanent (5xx) SMTP reply.
 *
 * It is the email channel's "fake platform" for the shared channel contract suite: `accepted`,
 * `rejected` and `failNext(httpStatus)` follow that suite's HTTP vocabulary — a 5xx "platform trouble"
 * becomes SMTP 451 (temporary, RFC 5321 §4.2.2), a 4xx "request refused" becomes 550 5.1.1 at RCPT
 * (mailbox unavailable, permanent).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  /** The message exactly as transmitted (CRLF line ends, dot-unstuffed). */
  raw: Buffer;
  /** The authenticated user. */
  user: string | undefined;
}

export interface SmtpSink {
  host: string;
  port: number;
  /** `smtp://127.0.0.1:PORT` */
  baseUrl: string;
  user: string;
  password: string;
  messages: ReceivedMail[];
  accepted: Array<{ method: string; path: string; body: ReceivedMail }>;
  rejected: Array<{ method: string; path: string; reason: string }>;
  /** Contract-suite vocabulary: 5xx → SMTP 451 (retry later), 4xx → SMTP 550 at RCPT (no such mailbox). */
  failNext(status: number): void;
  /** Answers the next message with exactly this SMTP reply, at RCPT TO or after DATA. */
  refuseNext(code: number, text: string, stage?: 'rcpt' | 'data'): void;
  /** Resolves once at least `count` messages were accepted. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

interface Refusal {
  code: number;
  text: string;
  stage: 'rcpt' | 'data';
}

/** Header fields RFC 5322 §3.6 allows at most once. */
const SINGLE = ['date', 'from', 'sender', 'reply-to', 'to', 'cc', 'subject', 'message-id', 'in-reply-to', 'references'];

/** Why a message does not have the shape RFC 5322 / RFC 5321 / RFC 2045 require, or null. */
export function messageShapeProblem(raw: Buffer, eightBitDeclared: boolean): string | null {
  const text = raw.toString('latin1');
  if (/(?<!\r)\n|\r(?!\n)/.test(text)) return 'bare CR or LF: lines must end with CRLF (RFC 5322 §2.3)';
  if (text.split('\r\n').some((l) => l.length > 998)) return 'line longer than 998 characters (RFC 5322 §2.1.1)';
  if (!eightBitDeclared && /[\x80-\xff]/.test(text)) return '8-bit data without BODY=8BITMIME or SMTPUTF8 (RFC 6152)';
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return 'no empty line between header and body (RFC 5322 §3.5)';
  const fields = text.slice(0, end).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const names = fields.map((f) => f.slice(0, f.indexOf(':')).trim().toLowerCase());
  if (fields.some((f) => !/^[\x21-\x39\x3b-\x7e]+:/.test(f))) return 'malformed header field (RFC 5322 §2.2)';
  const count = (n: string) => names.filter((x) => x === n).length;
  if (count('date') !== 1) return 'exactly one Date field is required (RFC 5322 §3.6)';
  if (count('from') !== 1) return 'exactly one From field is required (RFC 5322 §3.6)';
  for (const n of SINGLE) if (count(n) > 1) return `the ${n} field may appear at most once (RFC 5322 §3.6)`;
  const value = (n: string) => fields.find((f, i) => names[i] === n)?.slice(n.length + 1).trim();
  const msgId = value('message-id');
  if (!msgId || !/^<[^<>\s@]+@[^<>\s@]+>$/.test(msgId)) return 'Message-ID missing or not <id-left@id-right> (RFC 5322 §3.6.4)';
  for (const n of ['in-reply-to', 'references']) {
    const v = value(n);
    if (v !== undefined && !/^(<[^<>\s@]+@[^<>\s@]+>\s*)+$/.test(v)) return `${n} must be a list of <msg-id> (RFC 5322 §3.6.4)`;
  }
  if (count('content-type') && value('mime-version') !== '1.0') return 'MIME-Version: 1.0 is required with Content-Type (RFC 2045 §4)';
  return null;
}

export async function startSmtpSink(opts: { user?: string; password?: string } = {}): Promise<SmtpSink> {
  const user = opts.user ?? 'huiliu-smtp';
  const password = opts.password ?? 'smtp-test-password';
  const messages: ReceivedMail[] = [];
  const accepted: SmtpSink['accepted'] = [];
  const rejected: SmtpSink['rejected'] = [];
  const refusals: Refusal[] = [];
  const waiters: Array<() => void> = [];

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    size: 50 * 1024 * 1024,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user });
      return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      if (refusals[0]?.stage === 'rcpt') {
        const r = refusals.shift()!;
        return cb(Object.assign(new Error(`${r.text} <${address.address}>`), { responseCode: r.code }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address);
        const mailFrom = session.envelope.mailFrom;
        const from = mailFrom ? mailFrom.address : '';
        const args = (mailFrom ? (mailFrom as { args?: Record<string, string> | false }).args : undefined) || {};
        const eightBit = String(args.BODY ?? '').toUpperCase() === '8BITMIME' || 'SMTPUTF8' in args;
        const problem = messageShapeProblem(raw, eightBit);
        if (problem) {
          rejected.push({ method: 'DATA', path: to.join(','), reason: problem });
          return cb(Object.assign(new Error(`5.6.0 ${problem}`), { responseCode: 554 }));
        }
        if (refusals[0]?.stage === 'data') {
          const r = refusals.shift()!;
          return cb(Object.assign(new Error(r.text), { responseCode: r.code }));
        }
        const mail: ReceivedMail = { from, to, raw, user: typeof session.user === 'string' ? session.user : undefined };
        messages.push(mail);
        accepted.push({ method: 'DATA', path: to.join(','), body: mail });
        waiters.splice(0).forEach((w) => w());
        cb(null, 'Ok: queued');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    baseUrl: `smtp://127.0.0.1:${port}`,
    user,
    password,
    messages,
    accepted,
    rejected,
    failNext(status) {
      if (status >= 500) refusals.push({ code: 451, text: '4.3.0 Temporary server error, please try again later', stage: 'data' });
      else refusals.push({ code: 550, text: '5.1.1 Recipient address rejected: User unknown in local recipient table', stage: 'rcpt' });
    },
    refuseNext(code, text, stage = 'data') {
      refusals.push({ code, text, stage });
    },
    async waitForMessages(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} mails at the SMTP sink, got ${messages.length}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return messages.slice(0, count);
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
