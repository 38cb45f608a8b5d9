import { Alert, Collapse, Descriptions, Divider, Flex, Tag, Typography } from 'antd';
import { CheckCircleFilled, CloseCircleFilled, MinusCircleOutlined } from '@ant-design/icons';
import type { RoutingTarget } from '@huiliu/contracts/routing-rules';
import { useI18n, type Translate } from '../../lib/i18n.tsx';
import { withNames } from '../shared/directory.ts';
import { PriorityTag } from '../queue/QueueTable.tsx';
import { unreachableText } from '../shared/serverText.ts';
import type { RuleContext } from './summary.tsx';
import type { TestResponse } from './TestPanel.tsx';

const STATUS_COLOR = { matched: 'green', not_matched: 'default', disabled: 'default', not_reached: 'default' } as const;

function targetText(target: RoutingTarget | null, ctx: RuleContext, t: Translate): string {
  if (!target) return t('routing.test.noTarget');
  const team = (id: string | undefined) => (id ? (ctx.teams.get(id) ?? id) : '');
  switch (target.type) {
    case 'team': return t('routing.sum.routeTeam', { team: team(target.teamId) });
    case 'agent': return target.fallbackTeamId
      ? t('routing.sum.routeAgentFallback', { agent: ctx.agents.get(target.agentId) ?? target.agentId, team: team(target.fallbackTeamId) })
      : t('routing.sum.routeAgent', { agent: ctx.agents.get(target.agentId) ?? target.agentId });
    case 'skills': {
      const skills = target.skills.map((s) => `${s.skill} ≥ ${s.minLevel}`).join(t('routing.sum.sep'));
      return target.teamId ? t('routing.sum.routeSkillsTeam', { skills, team: team(target.teamId) }) : t('routing.sum.routeSkills', { skills });
    }
  }
}

/** What the test said: which rule matched, the resulting decision, the server's explanation and the full trace. */
export function TestResult({ result, ctx }: { result: TestResponse; ctx: RuleContext }) {
  const { t } = useI18n();
  const names = new Map([...ctx.teams, ...ctx.agents, ...ctx.inboxes, ...ctx.schedules]);
  const byId = new Map(result.rules.map((r) => [r.ruleId, r]));
  const ruleName = (id: string | null) => (id ? (byId.get(id)?.ruleName ?? id) : null);
  const by = (id: string | null) => (id ? <Typography.Text type="secondary" style={{ fontSize: 12 }}> · {t('routing.test.byRule', { name: ruleName(id) ?? id })}</Typography.Text> : null);
  const d = result.decision;
  const matched = result.matchedRuleIds.map((id) => ruleName(id) ?? id);
  return (
    <div style={{ marginTop: 16 }} data-testid="routing-test-result">
      {matched.length ? (
        <Alert type="success" showIcon title={t('routing.test.matched', { names: matched.map((n) => `“${n}”`).join(t('routing.sum.sep')) })} data-testid="routing-test-matched" />
      ) : (
        <Alert type="warning" showIcon title={t('routing.test.noMatch')} description={t('routing.test.noMatchHelp')} data-testid="routing-test-matched" />
      )}
      <Descriptions size="small" column={1} bordered style={{ marginTop: 12 }} styles={{ label: { width: 100, whiteSpace: 'nowrap' } }} data-testid="routing-test-decision"
        items={[
          { key: 'target', label: t('routing.test.target'), children: <>{targetText(d.target, ctx, t)}{by(d.sources.target)}</> },
          { key: 'priority', label: t('routing.test.priority'), children: d.priority ? <><PriorityTag priority={d.priority} />{by(d.sources.priority)}</> : <Typography.Text type="secondary">{t('routing.test.unchanged')}</Typography.Text> },
          { key: 'sla', label: 'SLA', children: d.slaPolicyId ? <>{d.slaPolicyId}{by(d.sources.slaPolicyId)}</> : <Typography.Text type="secondary">{t('routing.test.unchanged')}</Typography.Text> },
          { key: 'tags', label: t('routing.test.addedTags'), children: d.tags.length ? <Flex wrap gap={4}>{d.tags.map((tag) => <Tag key={tag} style={{ marginInlineEnd: 0 }}>{tag}</Tag>)}</Flex> : <Typography.Text type="secondary">—</Typography.Text> },
        ]}
      />
      <Divider titlePlacement="start" plain style={{ margin: '12px 0 8px' }}>{t('routing.test.explanation')}</Divider>
      <ol style={{ paddingInlineStart: 20, margin: 0 }} data-testid="routing-test-explanation">
        {result.explanation.map((line, i) => <li key={i}><Typography.Text style={{ fontSize: 13 }}>{withNames(line, names)}</Typography.Text></li>)}
      </ol>
      {result.warnings.length > 0 && (
        <Alert type="warning" style={{ marginTop: 12 }} title={result.warnings.map((w) => `“${w.ruleId}”: ${unreachableText(w.message, t)}`).join(' ')} />
      )}
      <Collapse
        size="small"
        style={{ marginTop: 12 }}
        items={[{
          key: 'trace',
          label: t('routing.test.trace'),
          children: (
            <Flex vertical gap={10}>
              {result.rules.map((r) => (
                <div key={`${r.index}-${r.ruleId}`}>
                  <Flex gap={6} align="center">
                    <Typography.Text type="secondary">#{r.index + 1}</Typography.Text>
                    <Typography.Text strong>{r.ruleName}</Typography.Text>
                    <Tag color={STATUS_COLOR[r.status]}>{t(`routing.test.status.${r.status}`)}</Tag>
                    {r.stopped && <Tag>{t('routing.test.stopped')}</Tag>}
                  </Flex>
                  {r.groups.flatMap((g) => g.conditions).map((c) => (
                    <div key={c.path} style={{ paddingInlineStart: 20, fontSize: 12 }}>
                      {c.matched ? <CheckCircleFilled style={{ color: '#52c41a' }} /> : <CloseCircleFilled style={{ color: '#bfbfbf' }} />}{' '}
                      <Typography.Text style={{ fontSize: 12 }}>{withNames(c.detail, names)}</Typography.Text>
                    </div>
                  ))}
                  {[...r.applied, ...r.overridden].map((a, i) => (
                    <div key={i} style={{ paddingInlineStart: 20, fontSize: 12 }}>
                      <MinusCircleOutlined style={{ color: i < r.applied.length ? '#1677ff' : '#bfbfbf' }} />{' '}
                      <Typography.Text type={i < r.applied.length ? undefined : 'secondary'} delete={i >= r.applied.length} style={{ fontSize: 12 }}>{withNames(a, names)}</Typography.Text>
                    </div>
                  ))}
                </div>
              ))}
            </Flex>
          ),
        }]}
      />
    </div>
  );
}
