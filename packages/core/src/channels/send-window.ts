/**
 * The send-window and quota engine: what an agent may send now in a conversation of a channel with
 * reply rules (WhatsApp: free-form replies within 24 h of the customer's last message, approved
 * templates outside it; WeChat customer-service messages: 48 h; WeCom kf: 48 h and 5 messages per
 * customer message; email: no rule).
 *
 * Pure on purpose: the rule comes from the adapter (`capabilities(config).sendWindow`), the facts from
 * the database (`conversations.last_incoming_at`, the outgoing public messages since then), the clock
 * from the caller. The composer (GET …/send-window) and the server's refusal (message.service.ts) use
 * the same answer, so what the agent is shown is exactly what the server enforces.
 */
import type { SendWindowRule } from '@huiliu/channels';

export type SendWindowReasonCode = 'window_closed' | 'quota_exhausted';

export interface SendWindowInput {
  rule: SendWindowRule | null;
  /** When the customer last wrote in this conversation (conversations.last_incoming_at); null: never. */
  lastCustomerMessageAt: Date | null;
  /** Outgoing public messages (agent or bot) since that message, not counting ones that failed. */
  outgoingSinceCustomer: number;
  now: Date;
  /** Shown in the reason: "WhatsApp allows…". */
  channelName: string;
}

export interface SendWindowDecision {
  /** Free-form messages are allowed now. */
  allowed: boolean;
  /** Only pre-approved templates are possible now. */
  templatesOnly: boolean;
  reason: string | null;
  reasonCode: SendWindowReasonCode | null;
  /** ISO timestamp when the current window closes (or closed); null without a rule or a customer message. */
  closesAt: string | null;
  /** Messages left in the window; null when the rule has no quota (or there is no rule). */
  remainingMessages: number | null;
}

const HOUR_MS = 3_600_000;

/** "24 hours", "1 hour", "1.5 hours". */
export function formatHours(hours: number): string {
  return `${Number.isInteger(hours) ? hours : Number(hours.toFixed(2))} hour${hours === 1 ? '' : 's'}`;
}

/** How long ago, in the largest whole unit an agent reads at a glance: "2 days ago", "3 hours ago". */
export function formatAgo(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} ago`;
  if (ms < 60_000) return 'just now';
  if (ms < HOUR_MS) return unit(Math.floor(ms / 60_000), 'minute');
  if (ms < 48 * HOUR_MS) return unit(Math.floor(ms / HOUR_MS), 'hour');
  return unit(Math.floor(ms / (24 * HOUR_MS)), 'day');
}

const OPEN_UNLIMITED: SendWindowDecision = { allowed: true, templatesOnly: false, reason: null, reasonCode: null, closesAt: null, remainingMessages: null };

export function evaluateSendWindow(input: SendWindowInput): SendWindowDecision {
  const { rule, lastCustomerMessageAt, now, channelName } = input;
  if (!rule) return OPEN_UNLIMITED;
  const templates = rule.outside === 'templates';
  const within = `within ${formatHours(rule.hours)} of the customer's last message`;
  const instead = templates ? 'send an approved template instead' : 'you can write again once the customer sends a message';

  if (!lastCustomerMessageAt) {
    return {
      allowed: false,
      templatesOnly: templates,
      reason: `${channelName} allows free-form messages only ${within}, and this customer has not written yet; ${instead}`,
      reasonCode: 'window_closed',
      closesAt: null,
      remainingMessages: rule.maxMessages === undefined ? null : 0,
    };
  }

  const closesAtMs = lastCustomerMessageAt.getTime() + rule.hours * HOUR_MS;
  const closesAt = new Date(closesAtMs).toISOString();
  // "Within 24 hours": at exactly 24 h the window has closed (the platform refuses at its boundary too).
  if (now.getTime() >= closesAtMs) {
    return {
      allowed: false,
      templatesOnly: templates,
      reason: `${channelName} allows free-form replies only ${within} (last one ${formatAgo(now.getTime() - lastCustomerMessageAt.getTime())}); ${instead}`,
      reasonCode: 'window_closed',
      closesAt,
      remainingMessages: rule.maxMessages === undefined ? null : 0,
    };
  }

  if (rule.maxMessages !== undefined) {
    const remaining = Math.max(0, rule.maxMessages - Math.max(0, input.outgoingSinceCustomer));
    if (remaining === 0) {
      return {
        allowed: false,
        templatesOnly: templates,
        reason: `${channelName} allows at most ${rule.maxMessages} message${rule.maxMessages === 1 ? '' : 's'} per customer message ${within}, and ${rule.maxMessages === 1 ? 'it was' : 'all were'} sent; ${instead}`,
        reasonCode: 'quota_exhausted',
        closesAt,
        remainingMessages: 0,
      };
    }
    return { allowed: true, templatesOnly: false, reason: null, reasonCode: null, closesAt, remainingMessages: remaining };
  }
  return { allowed: true, templatesOnly: false, reason: null, reasonCode: null, closesAt, remainingMessages: null };
}
