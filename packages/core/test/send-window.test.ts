import { describe, expect, it } from 'vitest';
import type { SendWindowRule } from '@huiliu/channels';
import { evaluateSendWindow, formatAgo, formatHours } from '../src/channels/send-window.ts';

const HOUR = 3_600_000;
const now = new Date('2026-11-23T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);

const whatsapp: SendWindowRule = { hours: 24, outside: 'templates' };
const wechat: SendWindowRule = { hours: 48, outside: 'blocked' };
const wecom: SendWindowRule = { hours: 48, maxMessages: 5, outside: 'blocked' };

const evaluate = (rule: SendWindowRule | null, last: Date | null, sent = 0, channelName = 'WhatsApp') =>
  evaluateSendWindow({ rule, lastCustomerMessageAt: last, outgoingSinceCustomer: sent, now, channelName });

describe('send window: no rule (email, API, web)', () => {
  it('always allows, without a window or a quota', () => {
    for (const last of [null, ago(1000), ago(400 * 24 * HOUR)]) {
      expect(evaluate(null, last, 99, 'Email')).toEqual({
        allowed: true, templatesOnly: false, reason: null, reasonCode: null, closesAt: null, remainingMessages: null,
      });
    }
  });
});

describe('send window: WhatsApp 24 h, templates outside', () => {
  it('is open inside 24 h and says when it closes', () => {
    const last = ago(3 * HOUR);
    const d = evaluate(whatsapp, last);
    expect(d.allowed).toBe(true);
    expect(d.templatesOnly).toBe(false);
    expect(d.reason).toBeNull();
    expect(d.reasonCode).toBeNull();
    expect(d.closesAt).toBe(new Date(last.getTime() + 24 * HOUR).toISOString());
    expect(d.remainingMessages).toBeNull();
  });

  it('is still open one millisecond before the boundary', () => {
    const d = evaluate(whatsapp, ago(24 * HOUR - 1));
    expect(d.allowed).toBe(true);
    expect(d.closesAt).toBe(new Date(now.getTime() + 1).toISOString());
  });

  it('is closed exactly at the boundary ("within 24 hours" excludes the 24th hour mark)', () => {
    const d = evaluate(whatsapp, ago(24 * HOUR));
    expect(d.allowed).toBe(false);
    expect(d.templatesOnly).toBe(true);
    expect(d.reasonCode).toBe('window_closed');
    expect(d.closesAt).toBe(now.toISOString());
    expect(d.reason).toBe(
      "WhatsApp allows free-form replies only within 24 hours of the customer's last message (last one 24 hours ago); send an approved template instead",
    );
  });

  it('outside 24 h allows templates only, naming the hours and how long ago the customer wrote', () => {
    const d = evaluate(whatsapp, ago(2 * 24 * HOUR + 5 * HOUR));
    expect(d).toMatchObject({ allowed: false, templatesOnly: true, reasonCode: 'window_closed', remainingMessages: null });
    expect(d.reason).toBe(
      "WhatsApp allows free-form replies only within 24 hours of the customer's last message (last one 2 days ago); send an approved template instead",
    );
  });

  it('a customer who never wrote: closed, templates only, no closing time', () => {
    const d = evaluate(whatsapp, null);
    expect(d).toMatchObject({ allowed: false, templatesOnly: true, reasonCode: 'window_closed', closesAt: null });
    expect(d.reason).toContain('has not written yet');
    expect(d.reason).toContain('send an approved template instead');
  });

  it('counts no quota: many replies inside the window stay allowed', () => {
    expect(evaluate(whatsapp, ago(HOUR), 500).allowed).toBe(true);
  });
});

describe('send window: blocked outside (WeChat 48 h)', () => {
  it('inside 48 h is open; after 48 h nothing can be sent, not even templates', () => {
    expect(evaluate(wechat, ago(47 * HOUR), 0, 'WeChat').allowed).toBe(true);
    const d = evaluate(wechat, ago(49 * HOUR), 0, 'WeChat');
    expect(d).toMatchObject({ allowed: false, templatesOnly: false, reasonCode: 'window_closed' });
    expect(d.reason).toBe(
      "WeChat allows free-form replies only within 48 hours of the customer's last message (last one 2 days ago); you can write again once the customer sends a message",
    );
  });
});

describe('send window: 48 h and 5 messages (WeCom kf)', () => {
  it('counts down the remaining messages', () => {
    for (let sent = 0; sent < 5; sent++) {
      const d = evaluate(wecom, ago(HOUR), sent, 'WeCom');
      expect(d.allowed).toBe(true);
      expect(d.remainingMessages).toBe(5 - sent);
    }
  });

  it('refuses the sixth message with quota_exhausted, while the window is still open', () => {
    const d = evaluate(wecom, ago(HOUR), 5, 'WeCom');
    expect(d).toMatchObject({ allowed: false, templatesOnly: false, reasonCode: 'quota_exhausted', remainingMessages: 0 });
    expect(d.closesAt).toBe(new Date(now.getTime() + 47 * HOUR).toISOString());
    expect(d.reason).toBe(
      "WeCom allows at most 5 messages per customer message within 48 hours of the customer's last message, and all were sent; you can write again once the customer sends a message",
    );
    expect(evaluate(wecom, ago(HOUR), 12, 'WeCom').remainingMessages).toBe(0);
  });

  it('a closed window wins over the quota', () => {
    const d = evaluate(wecom, ago(48 * HOUR), 0, 'WeCom');
    expect(d).toMatchObject({ allowed: false, reasonCode: 'window_closed', remainingMessages: 0 });
  });

  it('a quota of one reads naturally', () => {
    const d = evaluate({ hours: 24, maxMessages: 1, outside: 'templates' }, ago(HOUR), 1, 'X');
    expect(d).toMatchObject({ allowed: false, templatesOnly: true, reasonCode: 'quota_exhausted' });
    expect(d.reason).toContain('at most 1 message per customer message');
    expect(d.reason).toContain('it was sent; send an approved template instead');
  });
});

describe('wording helpers', () => {
  it('formats durations in the unit an agent reads at a glance', () => {
    expect(formatAgo(10_000)).toBe('just now');
    expect(formatAgo(60_000)).toBe('1 minute ago');
    expect(formatAgo(59 * 60_000)).toBe('59 minutes ago');
    expect(formatAgo(HOUR)).toBe('1 hour ago');
    expect(formatAgo(47 * HOUR)).toBe('47 hours ago');
    expect(formatAgo(48 * HOUR)).toBe('2 days ago');
    expect(formatHours(24)).toBe('24 hours');
    expect(formatHours(1)).toBe('1 hour');
    expect(formatHours(1.5)).toBe('1.5 hours');
  });
});
