/**
 * Email end to end through a real server and the real email adapter, against real mail servers on
 * loopback: a private Dovecot (IMAP, packages/testing/src/dovecot.ts) holding the support mailbox and the
 * `smtp-server` package receiving our replies (packages/testing/src/smtp-sink.ts).
 *
 * An admin configures the inbox over the API; a customer's mail filed into the mailbox becomes a
 * conversation with its subject, sanitized HTML and attachments; the agent's reply leaves by SMTP
 * threaded onto the customer's mail; the customer's answer to it lands in the same conversation (found
 * by In-Reply-To, even after the conversation was resolved); the same mail filed twice and an
 * out-of-office reply store nothing new.
 */
import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '@huiliu/testing/dovecot';
import { startSmtpSink, type SmtpSink } from '@huiliu/testing/smtp-sink';
import { channelFixture, channelTestKit, createChannelInbox } from './helpers/channels.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

const MAILBOX_USER = 'support@support.example';
const IMAP_PASSWORD = 'imap-app-password:7Qx';
const SMTP_PASSWORD = 'smtp-app-password:9Wz';
const CUSTOMER_MESSAGE_ID = '<5f0c1e7a-9b1d-4c2e-8d55-2a9e0c6b7f10@example.com>';
/** Fixtures are stored with LF line ends; mail in IMAP uses CRLF. */
const fixture = (name: string) => Buffer.from(channelFixture('email', name).replace(/\r?\n/g, '\r\n'));

let server: TestServer;
let dovecot: Dovecot;
let smtp: SmtpSink;
let token = '';
let inboxId = '';
let conversationId = '';
let ourMessageId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }), { timeoutMs: 20_000, intervalMs: 100 });
const conversations = async () => {
  const r = await api('GET', `/api/v1/conversations?status=all&inboxId=${inboxId}`);
  expect(r.status).toBe(200);
  return r.body.items as any[];
};
/** The UID the inbox's poller has read up to (its saved position). */
const lastUid = async (): Promise<number> => {
  const rows = await server.node.services.db.query(`SELECT poll_state FROM channel_inbound_state WHERE inbox_id = $1`, [inboxId]);
  return ((rows[0]?.poll_state as { lastUid?: number } | null)?.lastUid) ?? 0;
};
/** Files a mail into the support mailbox and waits until the poller has read past it. */
async function fileMail(raw: string | Buffer): Promise<void> {
  const { uid } = await dovecot.append(MAILBOX_USER, raw);
  await waitUntil(`the poller to read UID ${uid}`, async () => (await lastUid()) >= uid!);
}

beforeAll(async () => {
  [server, dovecot, smtp] = await Promise.all([
    startTestServer(),
    startDovecot({ users: { [MAILBOX_USER]: IMAP_PASSWORD } }),
    startSmtpSink({ user: MAILBOX_USER, password: SMTP_PASSWORD }),
  ]);
  token = await server.login(server.demo.adminEmail);
});
afterAll(async () => {
  await server?.close();
  await Promise.all([dovecot?.stop(), smtp?.close()]);
});

describe('Email channel', () => {
  it('is configured by an admin over the API; passwords are never returned', async () => {
    const { inbox, channel: r } = await createChannelInbox(server, token, {
      kind: 'email',
      name: 'Support email',
      config: {
        imap: { host: dovecot.host, port: dovecot.port, secure: false, user: MAILBOX_USER },
        smtp: { host: smtp.host, port: smtp.port, secure: false, user: MAILBOX_USER },
        fromAddress: MAILBOX_USER,
        fromName: 'Acme Support',
        signature: 'Acme Support · 汇流客服',
      },
      secrets: { imapPassword: IMAP_PASSWORD, smtpPassword: SMTP_PASSWORD },
    });
    inboxId = inbox.id;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'email', ready: true, config: { fromAddress: MAILBOX_USER, imap: { host: dovecot.host, port: dovecot.port } }, capabilities: { sendWindow: null } });
    expect(r.body.secrets.map((s: any) => [s.name, s.set])).toEqual([['imapPassword', true], ['smtpPassword', true]]);
    expect(r.text).not.toContain(IMAP_PASSWORD);
    expect(r.text).not.toContain(SMTP_PASSWORD);

    const check = await api('POST', `/api/v1/inboxes/${inboxId}/channel/check`);
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ ok: true });
  });

  it('a customer mail becomes a conversation with subject, sanitized HTML and attachments', async () => {
    await dovecot.append(MAILBOX_USER, fixture('customer-invoice-attachments.eml'));
    const conv = await waitUntil('the conversation', async () => (await conversations())[0]);
    conversationId = conv.id;
    expect(conv.contact.name).toBe('王芳');
    const [m] = await messagesOf(conversationId);
    expect(m).toMatchObject({ direction: 'incoming', externalId: CUSTOMER_MESSAGE_ID, subject: '发票申请 - invoice request' });
    expect(m.text).toContain('您好，请为订单 20261105 开具增值税普通发票');
    expect(m.html).toContain('<b>20261105</b>');
    expect(m.html).not.toMatch(/onclick|javascript:|<script/i);
    expect(m.attachments.map((a: any) => a.fileName).sort()).toEqual(['screenshot.png', '订单确认.pdf']);
    const identities = await api('GET', `/api/v1/contacts/${conv.contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId, channelType: 'email', sourceId: 'wang.fang@example.com' }]);

    const channel = await api('GET', `/api/v1/inboxes/${inboxId}/channel`);
    expect(channel.body.lastError).toBeNull();
  });

  it("the agent's reply leaves by SMTP threaded onto the customer's mail", async () => {
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: '您好，发票已开具。\nThe invoice is on its way.' });
    expect(reply.status).toBe(201);
    const [mail] = await waitUntil('the reply at the SMTP server', async () => (smtp.messages.length ? smtp.messages : null));
    expect(smtp.rejected).toEqual([]);
    expect(mail!.to).toEqual(['wang.fang@example.com']);
    const parsed = await simpleParser(mail!.raw);
    expect(parsed.inReplyTo).toBe(CUSTOMER_MESSAGE_ID);
    expect(parsed.references).toBe(CUSTOMER_MESSAGE_ID);
    expect(parsed.subject).toBe('Re: 发票申请 - invoice request');
    expect(parsed.from?.value[0]?.address).toBe(MAILBOX_USER);
    expect(parsed.from?.value[0]?.name).toMatch(/via Acme Support$/);
    expect(parsed.text).toBe('您好，发票已开具。\nThe invoice is on its way.\n\n-- \nAcme Support · 汇流客服\n');
    expect(parsed.html).toContain('<p>您好，发票已开具。<br>');
    ourMessageId = parsed.messageId!;
    expect(ourMessageId).toMatch(/^<huiliu\.[^@]+@support\.example>$/);
    const stored = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(stored.externalId).toBe(ourMessageId);
  });

  it("the customer's answer to our reply lands in the same conversation, even after it was resolved", async () => {
    const resolved = await api('PATCH', `/api/v1/conversations/${conversationId}`, { status: 'resolved' });
    expect(resolved.status).toBe(200);
    const answer = [
      'From: =?UTF-8?B?546L6Iqz?= <wang.fang@example.com>',
      `To: Acme Support <${MAILBOX_USER}>`,
      'Subject: Re: =?UTF-8?B?5Y+R56Wo55Sz6K+3?= - invoice request',
      'Date: Fri, 21 Nov 2026 15:20:00 +0800',
      'Message-ID: <answer-1@example.com>',
      `In-Reply-To: ${ourMessageId}`,
      `References: ${CUSTOMER_MESSAGE_ID} ${ourMessageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=UTF-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      '收到，谢谢！Received, thanks.',
      '',
      `> 您好，发票已开具。`,
      '',
    ].join('\r\n');
    await fileMail(answer);
    const all = await conversations();
    expect(all.map((c) => c.id)).toEqual([conversationId]);
    // Activity lines (resolved, reopened) aside, the thread reads mail, reply, answer.
    const msgs = (await messagesOf(conversationId)).filter((m) => m.direction !== 'activity');
    expect(msgs.map((m) => m.externalId)).toEqual([CUSTOMER_MESSAGE_ID, ourMessageId, '<answer-1@example.com>']);
    expect(msgs[2]).toMatchObject({ direction: 'incoming', subject: 'Re: 发票申请 - invoice request' });
    expect(msgs[2].text).toContain('收到，谢谢！Received, thanks.');
  });

  it('the same mail filed twice is stored once, and an out-of-office reply stores nothing', async () => {
    const before = await server.node.services.db.query(`SELECT count(*)::int AS n FROM messages WHERE inbox_id = $1`, [inboxId]);
    await fileMail(fixture('customer-invoice-attachments.eml'));
    await fileMail(fixture('auto-reply-ooo.eml'));
    const after = await server.node.services.db.query(`SELECT count(*)::int AS n FROM messages WHERE inbox_id = $1`, [inboxId]);
    expect(after[0]!.n).toBe(before[0]!.n);
    expect(await conversations()).toHaveLength(1);
    const dup = await server.node.services.db.query(`SELECT count(*)::int AS n FROM messages WHERE inbox_id = $1 AND external_id = $2`, [inboxId, CUSTOMER_MESSAGE_ID]);
    expect(dup[0]!.n).toBe(1);
  });

  it('a wrong IMAP password shows up as the inbox\'s last error without the password', async () => {
    const r = await api('PUT', `/api/v1/inboxes/${inboxId}/channel`, { secrets: { imapPassword: 'not-the-password' } });
    expect(r.status).toBe(200);
    const channel = await waitUntil('the login error', async () => {
      const c = await api('GET', `/api/v1/inboxes/${inboxId}/channel`);
      return c.body.lastError ? c : null;
    });
    expect(channel.body.lastError).toMatch(/login refused.*check the IMAP user and password/);
    expect(channel.text).not.toContain('not-the-password');
  });
});
