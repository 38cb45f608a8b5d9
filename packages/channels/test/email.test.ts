/**
 * The email channel against real servers on loopback: a private Dovecot (IMAP, started by
 * @huiliu/testing/dovecot) for inbound and the `smtp-server` package for outbound. No mocks: mail is
 * filed by IMAP APPEND, read back by the adapter's poller over IMAP, and replies are parsed from what
 * the SMTP server received.
 */
import { readFileSync } from 'node:fs';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '@huiliu/testing/dovecot';
import { startSmtpSink, type SmtpSink } from '@huiliu/testing/smtp-sink';
import type { ChannelContext, InboundMessageEvent, NormalizedInbound, OutboundAttachment, OutboundMessage, PollHandle, PollSink } from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { emailAdapter, EmailConfig } from '../src/email/index.ts';
import { parseEmail } from '../src/email/parse.ts';
import { adapterFor } from '../src/registry.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { memoryTokens } from './memory-tokens.ts';

const IMAP_USER = 'support@support.example';
const IMAP_PASSWORD = 'imap-Pa55:word';
const FROM = 'support@support.example';

/** Fixtures are stored with LF line ends for reading; mail on the wire and in IMAP uses CRLF. */
const fixture = (name: string): Buffer =>
  Buffer.from(readFileSync(new URL(`./fixtures/email/${name}`, import.meta.url), 'utf8').replace(/\r?\n/g, '\r\n'), 'utf8');
const fixtureBytes = (name: string): Buffer => Buffer.from(readFileSync(new URL(`./fixtures/email/${name}`, import.meta.url)).toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');

let dovecot: Dovecot;
let smtp: SmtpSink;

beforeAll(async () => {
  [dovecot, smtp] = await Promise.all([startDovecot({ users: { [IMAP_USER]: IMAP_PASSWORD } }), startSmtpSink({ user: FROM, password: 'smtp-Pa55' })]);
});
afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.close()]);
});

function rawConfig(over: Record<string, unknown> = {}, smtpAt: { host: string; port: number } = smtp): Record<string, unknown> {
  return {
    imap: { host: dovecot.host, port: dovecot.port, secure: false, user: IMAP_USER, mailbox: 'INBOX' },
    smtp: { host: smtpAt.host, port: smtpAt.port, secure: false, user: FROM },
    fromAddress: FROM,
    fromName: 'Acme Support',
    signature: '汇流客服团队\nAcme Support — https://support.example',
    ...over,
  };
}

describeChannelContract<EmailConfig>({
  adapter: emailAdapter,
  startFake: () => startSmtpSink({ user: FROM, password: 'contract-smtp-secret' }),
  context: (fake) => {
    const url = new URL(fake.baseUrl);
    return {
      config: EmailConfig.parse(rawConfig({}, { host: url.hostname, port: Number(url.port) })),
      secrets: { imapPassword: IMAP_PASSWORD, smtpPassword: 'contract-smtp-secret' },
    };
  },
  invalidConfig: {
    imap: { host: 'imap.example.com', user: FROM },
    smtp: { host: 'smtp.example.com', user: FROM },
    fromAddress: FROM,
    pollIntervalSecs: 30,
  },
  recipient: 'customer@example.net',
});

// ---------------------------------------------------------------------------------------------------
// helpers

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function recorder() {
  const logs: LogEntry[] = [];
  const push = (level: LogEntry['level']) => (obj: object, msg: string) => {
    logs.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return { logs, logger: { info: push('info'), warn: push('warn'), error: push('error') } };
}

function context(over: Record<string, unknown> = {}, secrets: Record<string, string> = {}, logger = recorder().logger): ChannelContext<EmailConfig> {
  return {
    config: EmailConfig.parse(rawConfig(over)),
    secrets: { imapPassword: IMAP_PASSWORD, smtpPassword: 'smtp-Pa55', ...secrets },
    http: testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/email-inbox/webhook',
    now: () => new Date(),
    logger,
    tokens: memoryTokens(),
  };
}

/** Core's side of `poll`, in memory: stores what is delivered, keeps the position, can refuse deliveries. */
function memorySink(initial: Record<string, unknown> | null = null) {
  let state = initial;
  const events: InboundMessageEvent[] = [];
  const listeners: Array<() => void> = [];
  let refuse: ((e: NormalizedInbound) => boolean) | null = null;
  let refused = 0;
  const sink: PollSink = {
    state: {
      get: async () => (state ? structuredClone(state) : null),
      set: async (s) => {
        state = structuredClone(s);
      },
    },
    async deliver(batch) {
      if (refuse && batch.some(refuse)) {
        refused++;
        throw new Error('database unavailable');
      }
      for (const e of batch) if (e.kind === 'message') events.push(e);
      listeners.splice(0).forEach((l) => l());
    },
  };
  return {
    sink,
    events,
    get state() {
      return state;
    },
    set state(s) {
      state = s;
    },
    refuseWhile(pred: ((e: NormalizedInbound) => boolean) | null) {
      refuse = pred;
    },
    get refused() {
      return refused;
    },
    /** Resolves with the first delivered message matching `pred` (also one delivered earlier). */
    async waitFor(pred: (e: InboundMessageEvent) => boolean, timeoutMs = 20_000): Promise<InboundMessageEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching email delivered; got ${JSON.stringify(events.map((e) => e.externalId))}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          listeners.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pollers: PollHandle[] = [];
function startPoll(ctx: ChannelContext<EmailConfig>, sink: PollSink): PollHandle {
  const h = emailAdapter.poll!(ctx, sink);
  pollers.push(h);
  return h;
}
afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
});

let folderSeq = 0;
/** Every test reads its own folder, so tests never see each other's mail. */
const folder = () => `Test${++folderSeq}`;

const simple = (id: string, subject: string, body: string, extra = '') =>
  `From: Customer ${id} <customer.${id}@example.net>\r\nTo: ${FROM}\r\nSubject: ${subject}\r\nDate: Fri, 21 Nov 2026 09:00:00 +0800\r\nMessage-ID: <${id}@example.net>\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`;

// ---------------------------------------------------------------------------------------------------

describe('email adapter: settings and capabilities', () => {
  it('is registered and declares email capabilities without send window', () => {
    expect(adapterFor('email')).toBe(emailAdapter);
    expect(emailAdapter.displayName).toBe('Email');
    expect(emailAdapter.receive).toBeUndefined();
    const caps = emailAdapter.capabilities(context().config);
    expect(caps).toMatchObject({ contentTypes: ['text', 'image', 'file'], maxMediaBytes: 20 * 1024 * 1024, typing: false, readReceipts: false, sendWindow: null });
    expect(caps.maxTextLength).toBeGreaterThanOrEqual(50_000);
    expect(emailAdapter.secrets.map((s) => [s.name, s.required])).toEqual([['imapPassword', true], ['smtpPassword', true]]);
  });

  it('fills defaults and refuses bad values with the field named', () => {
    const c = EmailConfig.parse({ imap: { host: 'imap.example.com', user: 'u' }, smtp: { host: 'smtp.example.com', user: 'u' }, fromAddress: 'help@example.com' });
    expect(c).toMatchObject({ imap: { port: 993, secure: true, mailbox: 'INBOX' }, smtp: { port: 465, secure: true }, pollIntervalSeconds: 60 });
    const tooFast = EmailConfig.safeParse({ ...c, pollIntervalSeconds: 5 });
    expect(tooFast.success).toBe(false);
    expect(tooFast.error!.issues[0]!.path).toEqual(['pollIntervalSeconds']);
    const typo = EmailConfig.safeParse({ ...c, imap: { ...c.imap, mailbx: 'Support' } });
    expect(typo.success).toBe(false);
    expect(JSON.stringify(typo.error!.issues)).toContain('mailbx');
    expect(EmailConfig.safeParse({ ...c, fromAddress: 'not an address' }).success).toBe(false);
  });
});

describe('email adapter: reading the mailbox (IMAP)', () => {
  it('delivers a customer email with text, html, attachments and threading, and saves its position', async () => {
    const mailbox = folder();
    await dovecot.append(IMAP_USER, fixture('customer-invoice-attachments.eml'), { mailbox });
    await dovecot.append(IMAP_USER, fixture('rfc5322-a2-reply.eml'), { mailbox });
    const mem = memorySink();
    const poll = startPoll(context({ imap: { ...rawConfig().imap as object, mailbox } }), mem.sink);

    const invoice = await mem.waitFor((e) => e.externalId === '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>');
    expect(invoice.sender).toEqual({ sourceId: 'wang.fang@example.com', email: 'wang.fang@example.com', name: '王芳' });
    expect(invoice.sender.verifiedKeys).toBeUndefined();
    expect(invoice.thread).toEqual({ messageId: '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>', subject: '发票申请 - invoice request' });
    expect(invoice.sentAt.toISOString()).toBe('2026-11-21T01:12:40.000Z');
    expect(invoice.content.type).toBe('file');
    if (invoice.content.type !== 'file') throw new Error('unreachable');
    expect(invoice.content.text).toContain('您好，请为订单 20261105 开具增值税普通发票，抬头：汇流科技有限公司。');
    expect(invoice.content.text).toContain('Order confirmation attached');
    const byName = new Map(invoice.content.media.map((m) => [m.fileName, m]));
    expect([...byName.keys()].sort()).toEqual(['screenshot.png', '订单确认.pdf']);
    expect(byName.get('订单确认.pdf')).toMatchObject({ contentType: 'application/pdf' });
    expect(byName.get('订单确认.pdf')!.inline!.toString('latin1')).toMatch(/^%PDF-1\.4\n[\s\S]*%%EOF\n$/);
    expect(byName.get('screenshot.png')!.inline!.subarray(1, 4).toString()).toBe('PNG');
    expect(byName.get('screenshot.png')!.size).toBe(byName.get('screenshot.png')!.inline!.length);
    // Raw HTML, unsanitized: core sanitizes it before storing.
    expect(invoice.html).toContain('<b>20261105</b>');
    expect(invoice.html).toContain('javascript:alert(2)');

    const reply = await mem.waitFor((e) => e.externalId === '<3456@example.net>');
    // RFC 5322 A.2 asks replies to go to the Reply-To address.
    expect(reply.sender).toMatchObject({ sourceId: 'smith@home.example', name: 'Mary Smith: Personal Account' });
    expect(reply.thread).toEqual({ messageId: '<3456@example.net>', inReplyTo: '<1234@local.machine.example>', references: ['<1234@local.machine.example>'], subject: 'Re: Saying Hello' });
    expect(reply.content).toEqual({ type: 'text', text: 'This is a reply to your hello.' });
    expect(reply.sentAt.toISOString()).toBe('1997-11-21T16:01:10.000Z');
    expect(reply.html).toBeUndefined();

    await until(() => (mem.state?.lastUid as number) === 2, 'the position to reach UID 2');
    expect(mem.state).toMatchObject({ mailbox, lastUid: 2, uidValidity: expect.stringMatching(/^\d+$/) });
    await poll.stop();
  });

  it('resumes from the saved position after a restart without delivering anything twice', async () => {
    const mailbox = folder();
    const ctx = context({ imap: { ...rawConfig().imap as object, mailbox } });
    await dovecot.append(IMAP_USER, simple('resume-1', 'first', 'one'), { mailbox });
    const mem = memorySink();
    const first = startPoll(ctx, mem.sink);
    await mem.waitFor((e) => e.externalId === '<resume-1@example.net>');
    await until(() => mem.state?.lastUid === 1, 'position 1');
    await first.stop();

    await dovecot.append(IMAP_USER, simple('resume-2', 'second', 'two'), { mailbox });
    const second = startPoll(ctx, mem.sink);
    await mem.waitFor((e) => e.externalId === '<resume-2@example.net>');
    await until(() => mem.state?.lastUid === 2, 'position 2');
    await second.stop();
    expect(mem.events.map((e) => e.externalId)).toEqual(['<resume-1@example.net>', '<resume-2@example.net>']);
  });

  it('reads the mailbox again when UIDVALIDITY changes, with the same dedupe keys', async () => {
    const mailbox = folder();
    const rec = recorder();
    const ctx = context({ imap: { ...rawConfig().imap as object, mailbox } }, {}, rec.logger);
    await dovecot.append(IMAP_USER, simple('uv-1', 'one', 'one'), { mailbox });
    await dovecot.append(IMAP_USER, fixture('no-message-id.eml'), { mailbox });
    const mem = memorySink();
    const poll = startPoll(ctx, mem.sink);
    await until(() => mem.events.length === 2 && mem.state?.lastUid === 2, 'both mails');
    const before = mem.events.map((e) => e.externalId);
    const oldValidity = mem.state!.uidValidity;
    await poll.stop();

    await dovecot.setUidValidity(IMAP_USER, mailbox, 4242);
    await dovecot.append(IMAP_USER, simple('uv-3', 'three', 'three'), { mailbox });
    const again = startPoll(ctx, mem.sink);
    await mem.waitFor((e) => e.externalId === '<uv-3@example.net>');
    await until(() => mem.state?.lastUid === 3, 'position 3');
    await again.stop();
    expect(oldValidity).not.toBe('4242');
    expect(mem.state).toMatchObject({ uidValidity: '4242', lastUid: 3 });
    // Everything is handed over again; core's Message-ID dedupe stores each one once.
    expect(mem.events.map((e) => e.externalId)).toEqual([...before, ...before, '<uv-3@example.net>']);
    expect(rec.logs.some((l) => l.level === 'warn' && /UIDVALIDITY changed/.test(l.msg) && l.obj.now === '4242')).toBe(true);
  });

  it('gets new mail through IDLE at once, even with a one-hour poll interval', async () => {
    const mailbox = folder();
    const rec = recorder();
    const mem = memorySink();
    await dovecot.append(IMAP_USER, simple('idle-1', 'before', 'x'), { mailbox });
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox }, pollIntervalSeconds: 3600 }, {}, rec.logger), mem.sink);
    await mem.waitFor((e) => e.externalId === '<idle-1@example.net>');
    expect(rec.logs.find((l) => l.msg === 'email: reading mailbox')?.obj.idle).toBe(true);
    // The poller now waits in IDLE for an hour; only the server's push can bring this one in time.
    await dovecot.append(IMAP_USER, simple('idle-2', 'after', 'y'), { mailbox });
    await mem.waitFor((e) => e.externalId === '<idle-2@example.net>');
  });

  it('drops auto-replies, bulk mail, bounces and echoes of our own replies, with the reason logged', async () => {
    const mailbox = folder();
    const rec = recorder();
    const mem = memorySink();
    const echo = simple('echo', 'Re: your order', 'our own reply, BCC to the mailbox').replace('Message-ID: <echo@example.net>', 'Message-ID: <huiliu.7d1d7c8e-0f3e-4a51-9c1c-3f4b8e2f1a77@support.example>');
    for (const raw of [fixture('auto-reply-ooo.eml'), fixture('bulk-newsletter.eml'), fixture('bounce-dsn.eml'), Buffer.from(echo)]) {
      await dovecot.append(IMAP_USER, raw, { mailbox });
    }
    await dovecot.append(IMAP_USER, fixture('contact-form-noreply.eml'), { mailbox });
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox } }, {}, rec.logger), mem.sink);
    const form = await mem.waitFor((e) => e.externalId === '<form-77120@shop.example>');
    // A contact form mails From no-reply@ on the customer's behalf: the customer is in Reply-To.
    expect(form.sender).toMatchObject({ sourceId: 'sun.li@customer.example', name: 'Sun Li' });
    expect(mem.events).toHaveLength(1);
    const reasons = rec.logs.filter((l) => l.msg === 'email: mail skipped').map((l) => [l.obj.messageId, l.obj.reason]);
    expect(reasons).toEqual([
      ['<ooo-20261121-1200@example.cn>', 'Auto-Submitted: auto-replied'],
      ['<nl-2026-11-21.8812@shop.example>', 'Precedence: bulk'],
      ['<20261121043000.8F3C2A0123@mx.example.net>', 'Auto-Submitted: auto-replied'],
      ['<huiliu.7d1d7c8e-0f3e-4a51-9c1c-3f4b8e2f1a77@support.example>', 'echo of a reply we sent (our own Message-ID)'],
    ]);
  });

  it('gives mail without a Message-ID a stable id from its content', async () => {
    const mailbox = folder();
    const ctx = context({ imap: { ...rawConfig().imap as object, mailbox } });
    await dovecot.append(IMAP_USER, fixture('no-message-id.eml'), { mailbox });
    const mem = memorySink();
    const p1 = startPoll(ctx, mem.sink);
    const first = await mem.waitFor(() => true);
    await until(() => mem.state?.lastUid === 1, 'position 1');
    await p1.stop();
    expect(first.externalId).toMatch(/^<[0-9a-f]{40}@missing-message-id\.invalid>$/);
    expect(first.thread?.messageId).toBe(first.externalId);
    expect(first.content).toEqual({ type: 'text', text: 'My parcel has not arrived. Tracking number SF1234567890.' });

    // Read again from the start (a lost position): the same id, so core stores it once.
    mem.state = { ...mem.state!, lastUid: 0 };
    const p2 = startPoll(ctx, mem.sink);
    await until(() => mem.events.length === 2, 'the second read');
    await p2.stop();
    expect(mem.events[1]!.externalId).toBe(first.externalId);
  });

  it('decodes Chinese mail in GBK and UTF-8 (encoded-word headers, base64 and quoted-printable bodies)', async () => {
    const mailbox = folder();
    await dovecot.append(IMAP_USER, fixtureBytes('customer-gbk.eml'), { mailbox });
    const mem = memorySink();
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox } }), mem.sink);
    const gbk = await mem.waitFor((e) => e.externalId === '<202611211003053421917@163.example>');
    expect(gbk.thread?.subject).toBe('关于订单 #20261121 的退款问题');
    expect(gbk.sender).toMatchObject({ sourceId: 'li.na@163.example', name: '李娜' });
    expect(gbk.content).toEqual({ type: 'text', text: '您好：\n\n我在11月18日购买的蓝牙耳机（订单号 20261121）左耳没有声音，请问如何退货退款？\n\n谢谢！\n李娜' });
  });

  it('derives text from an HTML-only mail and keeps the HTML for core to sanitize', async () => {
    const mailbox = folder();
    await dovecot.append(IMAP_USER, fixture('html-only.eml'), { mailbox });
    const mem = memorySink();
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox } }), mem.sink);
    const m = await mem.waitFor(() => true);
    expect(m.content.type).toBe('text');
    expect(m.content.type === 'text' && m.content.text).toMatch(/I cannot log in since yesterday\.\s+Error code: E-403/);
    expect(m.html).toContain('<script>');
  });

  it('keeps going after bad mail: too large → notice with headers, no sender → skipped', async () => {
    const mailbox = folder();
    const rec = recorder();
    const big = simple('big', 'Logs attached', 'x'.repeat(8_000));
    await dovecot.append(IMAP_USER, big, { mailbox });
    await dovecot.append(IMAP_USER, Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x42]), { mailbox });
    await dovecot.append(IMAP_USER, simple('after-bad', 'still here', 'fine'), { mailbox });
    const mem = memorySink();
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox }, maxEmailBytes: 4096 }, {}, rec.logger), mem.sink);
    await mem.waitFor((e) => e.externalId === '<after-bad@example.net>');
    expect(mem.events.map((e) => e.externalId)).toEqual(['<big@example.net>', '<after-bad@example.net>']);
    const notice = mem.events[0]!;
    expect(notice.sender.sourceId).toBe('customer.big@example.net');
    expect(notice.thread?.subject).toBe('Logs attached');
    expect(notice.content.type).toBe('unsupported');
    if (notice.content.type !== 'unsupported') throw new Error('unreachable');
    expect(notice.content.text).toMatch(/larger than this inbox's limit/);
    expect(notice.content.raw).toMatchObject({ format: 'email', reason: 'too_large', headers: expect.stringContaining('Subject: Logs attached') });
    expect((notice.content.raw as { size: number }).size).toBeGreaterThan(8_000);
    expect(rec.logs.some((l) => l.msg === 'email: mail skipped' && /no sender address/.test(String(l.obj.reason)))).toBe(true);
  });

  it('advances only after core stored the mail, and stores a notice for a mail core keeps refusing', async () => {
    const mailbox = folder();
    const rec = recorder();
    await dovecot.append(IMAP_USER, simple('poison', 'odd', 'core refuses this one'), { mailbox });
    await dovecot.append(IMAP_USER, simple('after-poison', 'next', 'fine'), { mailbox });
    const mem = memorySink();
    mem.refuseWhile((e) => e.kind === 'message' && e.content.type === 'text' && e.externalId === '<poison@example.net>');
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox } }, {}, rec.logger), mem.sink);
    await until(() => mem.refused >= 1, 'a refused delivery');
    // Refused ⇒ not acknowledged ⇒ the position stays before it.
    expect((mem.state?.lastUid as number | undefined) ?? 0).toBe(0);
    const notice = await mem.waitFor((e) => e.externalId === '<poison@example.net>', 45_000);
    expect(mem.refused).toBe(5);
    expect(notice.content.type).toBe('unsupported');
    expect(notice.content.type === 'unsupported' && notice.content.text).toMatch(/could not be stored \(database unavailable\)/);
    await mem.waitFor((e) => e.externalId === '<after-poison@example.net>');
    const errors = rec.logs.filter((l) => l.level === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(errors[0]!.msg).toMatch(/database unavailable; retrying in \d+ s/);
  }, 60_000);

  it('reconnects after the server restarts', async () => {
    const mailbox = folder();
    const rec = recorder();
    const mem = memorySink();
    await dovecot.append(IMAP_USER, simple('before-restart', 'a', 'a'), { mailbox });
    startPoll(context({ imap: { ...rawConfig().imap as object, mailbox }, pollIntervalSeconds: 3600 }, {}, rec.logger), mem.sink);
    await mem.waitFor((e) => e.externalId === '<before-restart@example.net>');
    await dovecot.restart();
    await dovecot.append(IMAP_USER, simple('after-restart', 'b', 'b'), { mailbox });
    await mem.waitFor((e) => e.externalId === '<after-restart@example.net>', 25_000);
    expect(rec.logs.some((l) => l.level === 'error' && l.msg.startsWith(`IMAP ${dovecot.host}:${dovecot.port}`))).toBe(true);
    expect(rec.logs.some((l) => l.msg === 'email: IMAP connection restored')).toBe(true);
  }, 40_000);

  it('backs off after a refused login instead of retrying in a tight loop', async () => {
    const rec = recorder();
    const mem = memorySink();
    const poll = startPoll(context({}, { imapPassword: 'wrong password' }, rec.logger), mem.sink);
    await until(() => rec.logs.filter((l) => l.level === 'error').length >= 3, 'three failed attempts', 15_000);
    await poll.stop();
    const errors = rec.logs.filter((l) => l.level === 'error');
    expect(errors[0]!.msg).toMatch(/login refused.*check the IMAP user and password/);
    expect(errors[0]!.msg).not.toContain('wrong password');
    const delays = errors.slice(0, 3).map((l) => l.obj.retryInMs as number);
    expect(delays[0]).toBeGreaterThanOrEqual(800);
    expect(delays[1]).toBeGreaterThanOrEqual(1600);
    expect(delays[2]).toBeGreaterThanOrEqual(3200);
    expect(mem.state).toBeNull();
  });
});

describe('email adapter: a server without IDLE', () => {
  let plain: Dovecot;
  beforeAll(async () => {
    plain = await startDovecot({ users: { [IMAP_USER]: IMAP_PASSWORD }, idle: false });
  });
  afterAll(async () => {
    await plain?.stop();
  });

  it('polls every pollIntervalSeconds', async () => {
    const rec = recorder();
    const mem = memorySink();
    const ctx = context({ imap: { host: plain.host, port: plain.port, secure: false, user: IMAP_USER }, pollIntervalSeconds: 10 }, {}, rec.logger);
    await plain.append(IMAP_USER, simple('poll-1', 'one', 'one'));
    const poll = startPoll(ctx, mem.sink);
    await mem.waitFor((e) => e.externalId === '<poll-1@example.net>');
    expect(rec.logs.find((l) => l.msg === 'email: reading mailbox')?.obj.idle).toBe(false);
    await plain.append(IMAP_USER, simple('poll-2', 'two', 'two'));
    await mem.waitFor((e) => e.externalId === '<poll-2@example.net>', 25_000);
    await poll.stop();
  }, 40_000);
});

describe('email adapter: sender verification', () => {
  const parse = (name: string, trustedAuthservId?: string) =>
    parseEmail({ raw: fixture(name), config: { fromAddress: FROM, ...(trustedAuthservId ? { trustedAuthservId } : {}) }, now: new Date() });
  const sender = async (name: string, trusted?: string) => {
    const r = await parse(name, trusted);
    if (!('event' in r)) throw new Error(`skipped: ${r.skip}`);
    return r.event.sender;
  };

  it('never marks a plain From as verified', async () => {
    expect((await sender('dmarc-pass.eml')).verifiedKeys).toBeUndefined();
    expect((await sender('rfc5322-a1-1-simple.eml', 'mx.support.example')).verifiedKeys).toBeUndefined();
  });

  it('trusts dmarc=pass only from the provider it was told to trust, in the topmost header', async () => {
    expect((await sender('dmarc-pass.eml', 'mx.support.example')).verifiedKeys).toEqual([{ kind: 'email', value: 'verified@example.com' }]);
    expect((await sender('dmarc-pass.eml', 'mx.other.example')).verifiedKeys).toBeUndefined();
    // A "dmarc=pass" the sender wrote further down does not count: the provider's own verdict on top says fail.
    expect((await sender('dmarc-forged.eml', 'mx.support.example')).verifiedKeys).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------

describe('email adapter: sending replies (SMTP)', () => {
  const outbound = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: '9a4c3b1e-5d6f-4e7a-8b9c-0d1e2f3a4b5c', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'),
    recipient: { sourceId: 'wang.fang@example.com', name: '王芳' },
    text: '您好，发票已开具。\n请查收附件。\n\n<b>not html</b> & more',
    attachments: [],
    ...over,
  });
  const attachment = (fileName: string, contentType: string, bytes: Buffer): OutboundAttachment => ({
    fileName, contentType, size: bytes.length, read: async () => bytes, url: `https://huiliu.example.com/files/${fileName}`,
  });
  const lastMail = async (): Promise<{ raw: string; parsed: ParsedMail; to: string[] }> => {
    const m = smtp.messages.at(-1)!;
    return { raw: m.raw.toString('utf8'), parsed: await simpleParser(m.raw), to: m.to };
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a ChannelError');
      },
      (e: unknown) => {
        expect(e).toBeInstanceOf(ChannelError);
        return e as ChannelError;
      },
    );

  it('threads the reply, sends plain + HTML alternatives with the signature, and attaches files', async () => {
    const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    const before = smtp.messages.length;
    const r = await emailAdapter.send(
      outbound({
        senderName: '小王',
        thread: { subject: 'Re: 发票申请 - invoice request', inReplyTo: '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>', references: ['<root@example.com>', '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>'] },
        attachments: [attachment('发票.pdf', 'application/pdf', pdf), attachment('photo.png', 'image/png', png)],
      }),
      context(),
    );
    expect(smtp.messages.length).toBe(before + 1);
    expect(smtp.rejected).toEqual([]);
    const { raw, parsed, to } = await lastMail();
    expect(to).toEqual(['wang.fang@example.com']);
    expect(r.externalId).toBe('<huiliu.9a4c3b1e-5d6f-4e7a-8b9c-0d1e2f3a4b5c@support.example>');
    expect(r.thread).toMatchObject({ messageId: r.externalId, inReplyTo: '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>' });
    expect(parsed.messageId).toBe(r.externalId);
    expect(parsed.inReplyTo).toBe('<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>');
    expect(parsed.references).toEqual(['<root@example.com>', '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>']);
    expect(parsed.subject).toBe('Re: 发票申请 - invoice request');
    expect(parsed.from?.value).toEqual([{ address: FROM, name: '小王 via Acme Support' }]);
    expect(parsed.to && !Array.isArray(parsed.to) && parsed.to.value).toEqual([{ address: 'wang.fang@example.com', name: '王芳' }]);
    expect(raw).toMatch(/Content-Type: multipart\/mixed;[\s\S]*Content-Type: multipart\/alternative;[\s\S]*Content-Type: text\/plain; charset=utf-8[\s\S]*Content-Type: text\/html; charset=utf-8/);
    expect(parsed.text).toBe('您好，发票已开具。\n请查收附件。\n\n<b>not html</b> & more\n\n-- \n汇流客服团队\nAcme Support — https://support.example\n');
    const html = parsed.html as string;
    expect(html).toContain('<p>您好，发票已开具。<br>\n请查收附件。</p>');
    expect(html).toContain('<p>&lt;b&gt;not html&lt;/b&gt; &amp; more</p>');
    expect(html).not.toContain('<b>not html</b>');
    expect(html).toContain('汇流客服团队<br>\nAcme Support — https://support.example');
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.content.equals(a.filename === 'photo.png' ? png : pdf)])).toEqual([
      ['发票.pdf', 'application/pdf', true],
      ['photo.png', 'image/png', true],
    ]);
  });

  it('reuses the Message-ID for a retried send and starts a subject of its own without a thread', async () => {
    const a = await emailAdapter.send(outbound({ idempotencyKey: 'retry-key-1', text: 'Your refund was approved.\nDetails follow.' }), context({ signature: undefined, fromName: undefined }));
    const first = await lastMail();
    const b = await emailAdapter.send(outbound({ idempotencyKey: 'retry-key-1', text: 'Your refund was approved.\nDetails follow.' }), context({ signature: undefined, fromName: undefined }));
    expect(b.externalId).toBe(a.externalId);
    expect(first.parsed.subject).toBe('Your refund was approved.');
    expect(first.parsed.inReplyTo).toBeUndefined();
    expect(first.parsed.headers.has('references')).toBe(false);
    expect(first.parsed.from?.value).toEqual([{ address: FROM, name: '' }]);
    expect(first.parsed.text).toBe('Your refund was approved.\nDetails follow.\n');
  });

  it('maps SMTP replies: 4xx and connection trouble retry, 5xx do not', async () => {
    smtp.refuseNext(451, '4.7.1 Greylisted, please try again in 60 seconds');
    const grey = await failure(emailAdapter.send(outbound(), context()));
    expect(grey.retryable).toBe(true);
    expect(grey.message).toContain('451');

    smtp.refuseNext(550, '5.1.1 Recipient address rejected: User unknown', 'rcpt');
    const unknown = await failure(emailAdapter.send(outbound(), context()));
    expect([unknown.code, unknown.retryable]).toEqual(['recipient_invalid', false]);
    expect(unknown.message).toContain('User unknown');

    smtp.refuseNext(552, '5.3.4 Message size exceeds fixed limit');
    const big = await failure(emailAdapter.send(outbound(), context()));
    expect([big.code, big.retryable]).toEqual(['media_too_large', false]);

    smtp.refuseNext(554, '5.7.1 Message rejected as spam');
    const spam = await failure(emailAdapter.send(outbound(), context()));
    expect([spam.code, spam.retryable]).toEqual(['provider_error', false]);

    const login = await failure(emailAdapter.send(outbound(), context({}, { smtpPassword: 'wrong' })));
    expect([login.code, login.retryable]).toEqual(['unauthorized', false]);
    expect(login.message).not.toContain('wrong');

    const closed = await failure(emailAdapter.send(outbound(), { ...context(), config: EmailConfig.parse(rawConfig({}, { host: '127.0.0.1', port: 1 })) }));
    expect([closed.code, closed.retryable]).toEqual(['network', true]);

    const bad = await failure(emailAdapter.send(outbound({ recipient: { sourceId: 'not-an-address' } }), context()));
    expect([bad.code, bad.retryable]).toEqual(['recipient_invalid', false]);
    expect(smtp.rejected).toEqual([]);
  });

  it('refuses attachments over 20 MB before connecting', async () => {
    const before = smtp.messages.length;
    const huge: OutboundAttachment = { fileName: 'video.mp4', contentType: 'video/mp4', size: 21 * 1024 * 1024, read: async () => Buffer.alloc(0), url: 'https://huiliu.example.com/files/v' };
    const e = await failure(emailAdapter.send(outbound({ attachments: [huge] }), context()));
    expect([e.code, e.retryable]).toEqual(['media_too_large', false]);
    expect(smtp.messages.length).toBe(before);
  });

  it('check() logs in to IMAP and SMTP and names what is wrong', async () => {
    expect(await emailAdapter.check!(context())).toEqual({ ok: true });
    const imapWrong = await emailAdapter.check!(context({}, { imapPassword: 'nope' }));
    expect(imapWrong.ok).toBe(false);
    expect(!imapWrong.ok && imapWrong.message).toMatch(/^IMAP: login refused/);
    const smtpWrong = await emailAdapter.check!(context({}, { smtpPassword: 'nope' }));
    expect(!smtpWrong.ok && smtpWrong.message).toMatch(/^SMTP: login refused/);
    const noFolder = await emailAdapter.check!(context({ imap: { ...rawConfig().imap as object, mailbox: 'Does-Not-Exist' } }));
    expect(!noFolder.ok && noFolder.message).toContain('Does-Not-Exist');
  });
});
