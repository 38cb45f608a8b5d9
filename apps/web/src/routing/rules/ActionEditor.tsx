import { AutoComplete, Button, Flex, Input, InputNumber, Select, Space, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Priority } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';
import { issuesUnder, type Issue } from '../shared/issues.ts';
import { ACTION_TYPES, defaultAction, ROUTE_TYPES, type ActionDraft, type ActionType } from './ruleModel.ts';

export interface ActionOptions {
  teams: { id: string; name: string }[];
  agents: { id: string; name: string }[];
  /** Skills agents have now: the server refuses others ("define it first"). */
  skills: string[];
}

/**
 * One action of a rule, built from the contract's action union. A rule may route only once, so the other
 * routing kinds are disabled in the type list when another action of the rule already routes (`routeTaken`).
 */
export function ActionEditor(props: { value: ActionDraft; onChange: (a: ActionDraft) => void; issues: Issue[]; options: ActionOptions; routeTaken: boolean }) {
  const { t } = useI18n();
  const a = props.value;
  const bad = (path: string): 'error' | undefined => (issuesUnder(props.issues, path).length ? 'error' : undefined);
  const teamOptions = props.options.teams.map((x) => ({ value: x.id, label: x.name }));

  const body = (() => {
    switch (a.type) {
      case 'route_team':
        return <Select value={a.teamId} onChange={(v: string) => props.onChange({ ...a, teamId: v })} status={bad('teamId')} placeholder={t('routing.action.pickTeam')} options={teamOptions} style={{ minWidth: 220, flex: 1 }} data-testid="routing-action-team" />;
      case 'route_agent':
        return (
          <>
            <Select showSearch={{ optionFilterProp: 'label' }} value={a.agentId} onChange={(v: string) => props.onChange({ ...a, agentId: v })} status={bad('agentId')} placeholder={t('routing.action.pickAgent')} style={{ minWidth: 180, flex: 1 }}
              options={props.options.agents.map((x) => ({ value: x.id, label: x.name }))} data-testid="routing-action-agent" />
            <Space.Compact style={{ flex: 1, minWidth: 240 }}>
              <Space.Addon>{t('routing.action.fallback')}</Space.Addon>
              <Select allowClear value={a.fallbackTeamId} onChange={(v: string | undefined) => props.onChange({ ...a, fallbackTeamId: v })} status={bad('fallbackTeamId')} placeholder={t('routing.action.noFallback')} options={teamOptions} style={{ width: '100%' }} data-testid="routing-action-fallback" />
            </Space.Compact>
          </>
        );
      case 'route_skills':
        return (
          <Flex vertical gap={6} style={{ flex: 1 }}>
            {a.skills.map((s, i) => (
              <Flex key={i} gap={6} align="center">
                <AutoComplete
                  value={s.skill}
                  options={props.options.skills.filter((k) => k.toLowerCase().includes(s.skill.toLowerCase())).map((k) => ({ value: k }))}
                  onChange={(v: string) => props.onChange({ ...a, skills: a.skills.map((x, j) => (j === i ? { ...x, skill: v } : x)) })}
                  status={bad(`skills.${i}.skill`)}
                  placeholder={t('routing.action.skill')}
                  style={{ width: 180 }}
                  data-testid="routing-action-skill"
                />
                <Space.Compact>
                  <Space.Addon>{t('routing.action.minLevel')}</Space.Addon>
                  <InputNumber min={1} max={10} precision={0} value={s.minLevel ?? 1} onChange={(v) => props.onChange({ ...a, skills: a.skills.map((x, j) => (j === i ? { ...x, minLevel: v ?? 1 } : x)) })} status={bad(`skills.${i}.minLevel`)} style={{ width: 70 }} />
                </Space.Compact>
                <Button type="text" size="small" icon={<DeleteOutlined />} disabled={a.skills.length === 1} aria-label={t('common.delete')} onClick={() => props.onChange({ ...a, skills: a.skills.filter((_, j) => j !== i) })} />
              </Flex>
            ))}
            <Flex gap={8} wrap align="center">
              <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => props.onChange({ ...a, skills: [...a.skills, { skill: '', minLevel: 1 }] })}>{t('routing.action.addSkill')}</Button>
              <Space.Compact style={{ minWidth: 260 }}>
                <Space.Addon>{t('routing.action.onlyTeam')}</Space.Addon>
                <Select allowClear value={a.teamId} onChange={(v: string | undefined) => props.onChange({ ...a, teamId: v })} status={bad('teamId')} placeholder={t('routing.action.anyTeam')} options={teamOptions} style={{ width: '100%' }} />
              </Space.Compact>
            </Flex>
          </Flex>
        );
      case 'set_priority':
        return <Select value={a.priority} onChange={(v: typeof a.priority) => props.onChange({ ...a, priority: v })} options={Priority.options.map((p) => ({ value: p, label: t(`routing.priority.${p}`) }))} style={{ width: 160 }} data-testid="routing-action-priority" />;
      case 'set_sla':
        return <Input value={a.slaPolicyId} onChange={(e) => props.onChange({ ...a, slaPolicyId: e.target.value })} status={bad('slaPolicyId')} placeholder={t('routing.action.slaPlaceholder')} style={{ width: 220 }} data-testid="routing-action-sla" />;
      case 'add_tags':
        return <Select mode="tags" value={a.tags} onChange={(v: string[]) => props.onChange({ ...a, tags: v })} status={bad('tags')} placeholder={t('routing.action.tagsPlaceholder')} tokenSeparators={[',', '，']} open={false} suffixIcon={null} style={{ minWidth: 240, flex: 1 }} data-testid="routing-action-tags" />;
    }
  })();

  const messages = issuesUnder(props.issues, '');
  return (
    <div style={{ flex: 1, minWidth: 0 }} data-testid="routing-action-row">
      <Flex gap={8} wrap align="flex-start">
        <Select<ActionType>
          value={a.type}
          onChange={(type) => props.onChange(defaultAction(type))}
          style={{ width: 170 }}
          status={bad('type')}
          popupMatchSelectWidth={false}
          options={ACTION_TYPES.map((type) => ({
            value: type,
            label: t(`routing.actionType.${type}`),
            disabled: props.routeTaken && ROUTE_TYPES.includes(type) && !ROUTE_TYPES.includes(a.type),
          }))}
          data-testid="routing-action-type"
        />
        {body}
      </Flex>
      {a.type === 'set_sla' && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('routing.action.slaHelp')}</Typography.Text>}
      {messages.length > 0 && (
        <div style={{ marginTop: 4 }} data-testid="routing-action-error">
          {messages.map((m, i) => <Typography.Text key={i} type="danger" style={{ display: 'block', fontSize: 13 }}>{m}</Typography.Text>)}
        </div>
      )}
    </div>
  );
}
