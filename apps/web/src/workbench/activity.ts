import type { Translate } from '../lib/i18n.tsx';
import { formatDateTime } from '../lib/format.ts';

/**
 * Timeline activity lines are stored as English sentences written by the server ("Li Na resolved the
 * conversation"). The known shapes are shown in the agent's language; anything else is shown as stored.
 * Several changes in one update are joined with "; ".
 */
type Rule = [RegExp, (t: Translate, m: RegExpMatchArray, locale: string) => string];

const rules: Rule[] = [
  [/^(.+) reopened the conversation$/, (t, m) => t('activity.reopened', { name: m[1]! })],
  [/^(.+) resolved the conversation$/, (t, m) => t('activity.resolved', { name: m[1]! })],
  [/^(.+) marked as pending the conversation$/, (t, m) => t('activity.pending', { name: m[1]! })],
  [/^(.+) snoozed until (\S+) the conversation$/, (t, m, l) => t('activity.snoozed', { name: m[1]!, until: safeDate(m[2]!, l) })],
  [/^(.+) set the priority to (\w+)$/, (t, m) => t('activity.priority', { name: m[1]!, priority: t(`priority.${m[2]!}`) })],
  [/^(.+) moved the conversation to team (.+)$/, (t, m) => t('activity.team', { name: m[1]!, team: m[2]! })],
  [/^(.+) unassigned the conversation$/, (t, m) => t('activity.unassigned', { name: m[1]! })],
  [/^(.+) self-assigned the conversation$/, (t, m) => t('activity.selfAssigned', { name: m[1]! })],
  [/^Routing assigned the conversation to (.+?)(?: \((.+)\))?$/, (t, m) => t('activity.routed', { agent: m[1]! })],
  [/^(.+) assigned the conversation to (.+)$/, (t, m) => t('activity.assigned', { name: m[1]!, agent: m[2]! })],
  [/^(.+) picked the conversation up from the queue$/, (t, m) => t('activity.claimed', { name: m[1]! })],
  [/^(.+) transferred the conversation to team (.+)$/, (t, m) => t('activity.transferredTeam', { name: m[1]!, team: m[2]! })],
  [/^(.+) accepted the transfer from (.+)$/, (t, m) => t('activity.transferAccepted', { name: m[1]!, from: m[2]! })],
  [/^Supervisor (.+) took over from (.+)$/, (t, m) => t('activity.tookOverFrom', { name: m[1]!, from: m[2]! })],
  [/^Supervisor (.+) took over$/, (t, m) => t('activity.tookOver', { name: m[1]! })],
  [/^The snooze ended; the conversation is open again$/, (t) => t('activity.snoozeEnded')],
  [/^Resolved automatically after (\d+) h without a customer message$/, (t, m) => t('activity.autoResolved', { hours: m[1]! })],
];

function safeDate(iso: string, locale: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : formatDateTime(d, locale);
}

export function localizeActivity(text: string, t: Translate, locale: string): string {
  return text
    .split('; ')
    .map((part) => {
      // The server writes "X snoozed until <date> the conversation" (verb, then object).
      for (const [re, render] of rules) {
        const m = part.match(re);
        if (m) return render(t, m, locale);
      }
      return part;
    })
    .join(locale === 'zh-CN' ? '；' : '; ');
}
