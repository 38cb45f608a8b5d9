import { Tag, Typography } from 'antd';
import type { Priority } from '@huiliu/contracts';
import type { Translate } from '../../lib/i18n.tsx';
import { PRIORITY_COLOR } from '../queue/QueueTable.tsx';
import type { ActionDraft, ConditionDraft, GroupDraft, RuleDraft } from './ruleModel.ts';

/** Names for the ids a rule refers to; an id nobody knows is shown as is (and flagged by the server on save). */
export interface RuleContext {
  teams: Map<string, string>;
  agents: Map<string, string>;
  inboxes: Map<string, string>;
  schedules: Map<string, string>;
}

const name = (m: Map<string, string>, id: string | undefined, t: Translate) => (id ? (m.get(id) ?? t('routing.rules.missingRef', { id: id.slice(0, 8) })) : '?');
const list = (xs: readonly unknown[], t: Translate) => (xs.length ? xs.map(String).join(t('routing.sum.sep')) : '?');
const quote = (s: unknown) => `“${String(s)}”`;

/** One condition as a phrase: "channel is Web, Email", "attribute plan = gold", "outside hours of Office". */
export function conditionText(c: ConditionDraft, ctx: RuleContext, t: Translate): string {
  switch (c.type) {
    case 'channel': return t('routing.sum.channel', { list: list(c.in.map((ch) => t(`routing.channel.${ch}`)), t) });
    case 'inbox': return t('routing.sum.inbox', { list: list(c.in.map((id) => name(ctx.inboxes, id, t)), t) });
    case 'attribute_equals': return t('routing.sum.attrEquals', { key: c.key || '?', value: quote(c.value) });
    case 'attribute_in': return t('routing.sum.attrIn', { key: c.key || '?', list: list(c.values.map(quote), t) });
    case 'attribute_exists': return t('routing.sum.attrExists', { key: c.key || '?' });
    case 'attribute_compare': return t('routing.sum.attrCompare', { key: c.key || '?', op: { gt: '>', gte: '≥', lt: '<', lte: '≤' }[c.op], value: c.value ?? '?' });
    case 'tag_has': return t('routing.sum.tag', { tag: c.tag || '?' });
    case 'tag_has_any': return t('routing.sum.tagAny', { list: list(c.tags, t) });
    case 'language': return t('routing.sum.language', { list: list(c.in, t) });
    case 'intent': return c.minConfidence ? t('routing.sum.intentMin', { list: list(c.in, t), min: Math.round(c.minConfidence * 100) }) : t('routing.sum.intent', { list: list(c.in, t) });
    case 'business_hours': return t(c.state === 'inside' ? 'routing.sum.hoursInside' : 'routing.sum.hoursOutside', { name: name(ctx.schedules, c.scheduleId, t) });
    case 'local_time': return c.days?.length
      ? t('routing.sum.localTimeDays', { from: c.from, to: c.to, days: c.days.map((d) => t(`routing.day.${d}`)).join(t('routing.sum.sep')) })
      : t('routing.sum.localTime', { from: c.from, to: c.to });
    case 'keywords': return t('routing.sum.keywords', { list: list(c.any.map(quote), t) });
  }
}

function groupText(g: GroupDraft, ctx: RuleContext, t: Translate, several: boolean): string {
  const parts = g.conditions.map((c) => conditionText(c, ctx, t));
  if (parts.length === 1) return parts[0]!;
  const joined = parts.join(t(g.match === 'all' ? 'routing.sum.and' : 'routing.sum.or'));
  return several || g.match === 'any' ? `(${joined})` : joined;
}

export function conditionsText(r: RuleDraft, ctx: RuleContext, t: Translate): string {
  const groups = r.conditions ?? [];
  if (groups.length === 0) return t('routing.sum.always');
  return groups.map((g) => groupText(g, ctx, t, groups.length > 1)).join(t('routing.sum.and'));
}

export function actionText(a: ActionDraft, ctx: RuleContext, t: Translate): string {
  switch (a.type) {
    case 'route_team': return t('routing.sum.routeTeam', { team: name(ctx.teams, a.teamId, t) });
    case 'route_skills': {
      const skills = a.skills.map((s) => `${s.skill || '?'} ≥ ${s.minLevel ?? 1}`).join(t('routing.sum.sep'));
      return a.teamId ? t('routing.sum.routeSkillsTeam', { skills, team: name(ctx.teams, a.teamId, t) }) : t('routing.sum.routeSkills', { skills });
    }
    case 'route_agent': return a.fallbackTeamId
      ? t('routing.sum.routeAgentFallback', { agent: name(ctx.agents, a.agentId, t), team: name(ctx.teams, a.fallbackTeamId, t) })
      : t('routing.sum.routeAgent', { agent: name(ctx.agents, a.agentId, t) });
    case 'set_priority': return t('routing.sum.priority', { priority: t(`routing.priority.${a.priority}`) });
    case 'set_sla': return t('routing.sum.sla', { sla: a.slaPolicyId || '?' });
    case 'add_tags': return t('routing.sum.tags', { list: list(a.tags, t) });
  }
}

export function ActionTags({ rule, ctx, t }: { rule: RuleDraft; ctx: RuleContext; t: Translate }) {
  return (
    <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }}>
      {rule.actions.map((a, i) => (
        <Tag
          key={i}
          style={{ marginInlineEnd: 0, whiteSpace: 'normal' }}
          color={a.type.startsWith('route_') ? 'blue' : a.type === 'set_priority' ? PRIORITY_COLOR[a.priority as Priority] : undefined}
        >
          {actionText(a, ctx, t)}
        </Tag>
      ))}
      {rule.actions.length === 0 && <Typography.Text type="danger">{t('routing.rules.noActions')}</Typography.Text>}
    </span>
  );
}
