import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { parseMailFrom, smtpEndpoint } from '@huiliu/core/mail/mailer';
import { composeOfflineRepliesEmail } from '@huiliu/core/mail/offline-replies.service';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('mail configuration', () => {
  it('is off without SMTP_URL, and on with SMTP_URL + HUILIU_MAIL_FROM (delay default 60 s)', () => {
    expect(loadConfig({}).mail).toBeUndefined();
    const c = loadConfig({ SMTP_URL: 'smtp://u:p@smtp.example.com:587', HUILIU_MAIL_FROM: 'Support <support@example.com>' });
    expect(c.mail).toEqual({ smtpUrl: 'smtp://u:p@smtp.example.com:587', from: 'Support <support@example.com>', offlineDelayMs: 60_000 });
    expect(loadConfig({ SMTP_URL: 'smtps://smtp.example.com', HUILIU_MAIL_FROM: 'a@example.com', HUILIU_OFFLINE_EMAIL_DELAY_SECONDS: '0.25' }).mail?.offlineDelayMs).toBe(250);
  });

  it('names the variable and never echoes a value that may hold a password', () => {
    const p = problems({ SMTP_URL: 'http://user:Hunter2-secret@smtp.example.com', HUILIU_MAIL_FROM: 'not an address', DATABASE_URL: 'mysql://root:Db-secret-9@db' });
    expect(p).toHaveLength(3);
    expect(p.join('\n')).toContain('SMTP_URL: must be an SMTP URL like smtp://');
    expect(p.join('\n')).toContain('HUILIU_MAIL_FROM: must be the sender address');
    expect(p.join('\n')).toContain('mysql://root:***@db');
    expect(p.join('\n')).not.toContain('Hunter2');
    expect(p.join('\n')).not.toContain('Db-secret-9');
  });

  it('needs a sender when SMTP_URL is set', () => {
    const p = problems({ SMTP_URL: 'smtp://u:p@smtp.example.com' });
    expect(p).toEqual([expect.stringContaining('HUILIU_MAIL_FROM: required when SMTP_URL is set')]);
  });

  it('parses senders and describes endpoints without credentials', () => {
    expect(parseMailFrom('support@example.com')).toEqual({ name: null, address: 'support@example.com' });
    expect(parseMailFrom('"汇流 客服" <kf@example.cn>')).toEqual({ name: '汇流 客服', address: 'kf@example.cn' });
    expect(parseMailFrom('nobody')).toBeUndefined();
    expect(smtpEndpoint('smtp://u:secret@mail.example.com')).toBe('mail.example.com:587');
    expect(smtpEndpoint('smtps://u:secret@mail.example.com')).toBe('mail.example.com:465');
  });

  it('writes the email in Chinese or English, plain text, with a line about answering in the chat', () => {
    const replies = [{ messageId: 'm1', seq: 3, senderName: '李娜', text: '您的订单已发货', content: { attachments: [{ fileName: '发票.pdf' }] } }];
    const zh = composeOfflineRepliesEmail({ locale: 'zh', inboxName: '官网客服\r\nBcc: x@evil.example', contactName: '王先生', displayId: 42, replies });
    expect(zh.subject).toBe('官网客服 Bcc: x@evil.example 回复了您的咨询');
    expect(zh.text).toContain('会话 #42');
    expect(zh.text).toContain('李娜:\n您的订单已发货\n[附件：发票.pdf]');
    expect(zh.text).toContain('请再次打开我们网站上的聊天窗口');
    const en = composeOfflineRepliesEmail({ locale: 'en', inboxName: 'Shop', contactName: null, displayId: 7, replies: [{ ...replies[0]!, senderName: null, text: 'Shipped' }] });
    expect(en.subject).toBe('New reply from Shop');
    expect(en.text).toContain('Hello,');
    expect(en.text).toContain('Support:\nShipped\n[Attachment: 发票.pdf]');
    expect(en.text).toContain('open the chat on our website again');
  });
});
