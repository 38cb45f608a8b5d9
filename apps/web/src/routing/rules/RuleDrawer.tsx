import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Card, Col, Collapse, Divider, Drawer, Flex, Form, Input, Row, Segmented, Select, Switch, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { RoutingRule } from '@huiliu/contracts/routing-rules';
import { useI18n } from '../../lib/i18n.tsx';
import { fieldStatus, fromZod, issuesAt, localizeEmpty, relativeTo, type Issue } from '../shared/issues.ts';
import { localizeIssues } from '../shared/serverText.ts';
import { ActionEditor, type ActionOptions } from './ActionEditor.tsx';
import { ConditionEditor, type ConditionOptions } from './ConditionEditor.tsx';
import { defaultAction, defaultCondition, newRuleId, normalizeRule, ROUTE_TYPES, ruleStops, type RuleDraft } from './ruleModel.ts';

type StopChoice = 'auto' | 'stop' | 'continue';

/** Paths the drawer shows next to a field; anything else goes to the alert at the top (never silently lost). */
function placed(path: string): boolean {
  return (
    ['id', 'name', 'enabled', 'stop', 'conditions', 'actions'].includes(path) ||
    /^conditions\.\d+(\.(match|conditions))?$/.test(path) ||
    /^conditions\.\d+\.conditions\.\d+(\.|$)/.test(path) ||
    /^actions\.\d+(\.|$)/.test(path)
  );
}

/**
 * The form editor of one rule. "Apply" checks the rule with the contract (same schema and messages as the
 * server) and puts it into the working list; the list is saved as a whole from the page, where the server
 * also checks what only it knows (do the teams / agents / skills exist, is a rule unreachable).
 */
export function RuleDrawer(props: {
  open: boolean;
  rule: RuleDraft | null;
  /** Issues the server reported for this rule at the last save, relative to the rule. */
  serverIssues: Issue[];
  takenIds: ReadonlySet<string>;
  conditionOptions: ConditionOptions;
  actionOptions: ActionOptions;
  onApply: (rule: RuleDraft) => void;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const [draft, setDraft] = useState<RuleDraft | null>(null);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [idTouched, setIdTouched] = useState(false);

  useEffect(() => {
    if (!props.open) return;
    setDraft(props.rule ? structuredClone(props.rule) : { id: '', name: '', enabled: true, conditions: [], actions: [defaultAction('route_team')] });
    setIssues(props.serverIssues);
    setIdTouched(Boolean(props.rule?.id));
    // Only when (re)opened: edits must not be reset by a parent re-render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.open]);

  const groups = draft?.conditions ?? [];
  const routeIndex = useMemo(() => draft?.actions.findIndex((a) => ROUTE_TYPES.includes(a.type)) ?? -1, [draft]);
  if (!draft) return null;

  const update = (patch: Partial<RuleDraft>) => setDraft((d) => (d ? { ...d, ...patch } : d));
  const setGroups = (next: NonNullable<RuleDraft['conditions']>) => update({ conditions: next });

  const apply = () => {
    const withId = draft.id.trim() ? draft : { ...draft, id: newRuleId(draft.name, props.takenIds) };
    const normalized = normalizeRule(withId);
    const parsed = RoutingRule.safeParse(normalized);
    const found = parsed.success ? [] : localizeIssues(localizeEmpty(fromZod(parsed.error), normalized, t), t);
    if (props.takenIds.has(normalized.id)) found.push({ path: 'id', message: t('routing.rules.idTaken', { id: normalized.id }) });
    setDraft(withId);
    setIssues(found);
    if (found.length === 0) props.onApply(normalized);
  };

  const stopChoice: StopChoice = draft.stop === undefined ? 'auto' : draft.stop ? 'stop' : 'continue';
  const unplaced = issues.filter((i) => !placed(i.path));

  return (
    <Drawer
      open={props.open}
      onClose={props.onClose}
      size={860}
      title={props.rule ? t('routing.rules.editTitle', { name: props.rule.name }) : t('routing.rules.newTitle')}
      destroyOnHidden
      footer={
        <Flex justify="space-between" align="center">
          <Typography.Text type="secondary">{t('routing.rules.applyHint')}</Typography.Text>
          <Flex gap={8}>
            <Button onClick={props.onClose}>{t('common.cancel')}</Button>
            <Button type="primary" onClick={apply} data-testid="routing-rule-apply">{t('routing.rules.apply')}</Button>
          </Flex>
        </Flex>
      }
    >
      <Form layout="vertical" component="div" data-testid="routing-rule-form">
        {unplaced.length > 0 && <Alert type="error" showIcon style={{ marginBottom: 16 }} title={unplaced.map((i) => `${i.path}: ${i.message}`).join('; ')} />}
        <Row gutter={16}>
          <Col span={14}>
            <Form.Item label={t('routing.rules.name')} required {...fieldStatus(issues, 'name')}>
              <Input
                value={draft.name}
                maxLength={100}
                onChange={(e) => update({ name: e.target.value, ...(idTouched ? {} : { id: '' }) })}
                placeholder={t('routing.rules.namePlaceholder')}
                data-testid="routing-rule-name"
              />
            </Form.Item>
          </Col>
          <Col span={4}>
            <Form.Item label={t('routing.rules.enabled')}>
              <Switch checked={draft.enabled ?? true} onChange={(v) => update({ enabled: v })} />
            </Form.Item>
          </Col>
          <Col span={6}>
            <Form.Item label={t('routing.rules.afterMatch')} {...fieldStatus(issues, 'stop')} tooltip={t('routing.rules.stopHelp')}>
              <Select<StopChoice>
                value={stopChoice}
                onChange={(v) => update({ stop: v === 'auto' ? undefined : v === 'stop' })}
                popupMatchSelectWidth={false}
                options={[
                  { value: 'auto', label: t(ruleStops({ ...draft, stop: undefined }) ? 'routing.rules.stopAutoStops' : 'routing.rules.stopAutoContinues') },
                  { value: 'stop', label: t('routing.rules.stop') },
                  { value: 'continue', label: t('routing.rules.continue') },
                ]}
              />
            </Form.Item>
          </Col>
        </Row>
        <Collapse
          size="small"
          ghost
          style={{ marginTop: -12, marginBottom: 8 }}
          defaultActiveKey={issuesAt(issues, 'id').length ? ['id'] : []}
          items={[{
            key: 'id',
            label: <Typography.Text type="secondary">{t('routing.rules.advanced')}</Typography.Text>,
            children: (
              <Form.Item label={t('routing.rules.id')} extra={t('routing.rules.idHelp')} {...fieldStatus(issues, 'id')} style={{ marginBottom: 0 }}>
                <Input
                  value={draft.id}
                  maxLength={64}
                  placeholder={newRuleId(draft.name, props.takenIds)}
                  onChange={(e) => {
                    setIdTouched(true);
                    update({ id: e.target.value });
                  }}
                  style={{ maxWidth: 320 }}
                  data-testid="routing-rule-id"
                />
              </Form.Item>
            ),
          }]}
        />

        <Divider titlePlacement="start" style={{ marginTop: 0 }}>{t('routing.rules.when')}</Divider>
        {issuesAt(issues, 'conditions').map((m) => <Alert key={m} type="error" title={m} style={{ marginBottom: 8 }} />)}
        {groups.length === 0 && <Typography.Paragraph type="secondary">{t('routing.rules.noConditions')}</Typography.Paragraph>}
        <Flex vertical gap={12}>
          {groups.map((g, gi) => {
            const gIssues = relativeTo(issues, `conditions.${gi}`);
            return (
              <div key={gi}>
                {gi > 0 && <Typography.Text strong type="secondary" style={{ display: 'block', margin: '0 0 8px 4px' }}>{t('routing.rules.andAlso')}</Typography.Text>}
                <Card
                  size="small"
                  data-testid="routing-cond-group"
                  title={
                    <Flex align="center" gap={8} style={{ fontWeight: 'normal' }}>
                      {t('routing.rules.groupMatch')}
                      <Segmented<'all' | 'any'>
                        size="small"
                        value={g.match}
                        onChange={(m) => setGroups(groups.map((x, j) => (j === gi ? { ...x, match: m } : x)))}
                        options={[{ value: 'all', label: t('routing.rules.matchAll') }, { value: 'any', label: t('routing.rules.matchAny') }]}
                      />
                      {t('routing.rules.groupMatchTail')}
                    </Flex>
                  }
                  extra={<Button type="text" size="small" danger icon={<DeleteOutlined />} onClick={() => setGroups(groups.filter((_, j) => j !== gi))}>{t('routing.rules.removeGroup')}</Button>}
                >
                  {[...issuesAt(gIssues, ''), ...issuesAt(gIssues, 'conditions'), ...issuesAt(gIssues, 'match')].map((m) => (
                    <Typography.Text key={m} type="danger" style={{ display: 'block', marginBottom: 8 }}>{m}</Typography.Text>
                  ))}
                  <Flex vertical gap={10}>
                    {g.conditions.map((c, ci) => (
                      <Flex key={ci} gap={8} align="flex-start">
                        <ConditionEditor
                          index={ci}
                          value={c}
                          options={props.conditionOptions}
                          issues={relativeTo(gIssues, `conditions.${ci}`)}
                          onChange={(next) => setGroups(groups.map((x, j) => (j === gi ? { ...x, conditions: x.conditions.map((y, k) => (k === ci ? next : y)) } : x)))}
                        />
                        <Button type="text" icon={<DeleteOutlined />} aria-label={t('common.delete')}
                          onClick={() => setGroups(g.conditions.length === 1 ? groups.filter((_, j) => j !== gi) : groups.map((x, j) => (j === gi ? { ...x, conditions: x.conditions.filter((_, k) => k !== ci) } : x)))} />
                      </Flex>
                    ))}
                  </Flex>
                  <Button size="small" type="dashed" icon={<PlusOutlined />} style={{ marginTop: 10 }} data-testid="routing-cond-add"
                    onClick={() => setGroups(groups.map((x, j) => (j === gi ? { ...x, conditions: [...x.conditions, defaultCondition('channel')] } : x)))}>
                    {t('routing.rules.addCondition')}
                  </Button>
                </Card>
              </div>
            );
          })}
        </Flex>
        <Button type="dashed" icon={<PlusOutlined />} style={{ marginTop: 12 }} data-testid="routing-group-add"
          onClick={() => setGroups([...groups, { match: 'all', conditions: [defaultCondition('channel')] }])}>
          {groups.length === 0 ? t('routing.rules.addCondition') : t('routing.rules.addGroup')}
        </Button>

        <Divider titlePlacement="start">{t('routing.rules.then')}</Divider>
        {issuesAt(issues, 'actions').map((m) => <Alert key={m} type="error" title={m} style={{ marginBottom: 8 }} />)}
        <Flex vertical gap={12}>
          {draft.actions.map((a, ai) => (
            <Flex key={ai} gap={8} align="flex-start">
              <ActionEditor
                value={a}
                options={props.actionOptions}
                routeTaken={routeIndex >= 0 && routeIndex !== ai}
                issues={relativeTo(issues, `actions.${ai}`)}
                onChange={(next) => update({ actions: draft.actions.map((x, j) => (j === ai ? next : x)) })}
              />
              <Button type="text" icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => update({ actions: draft.actions.filter((_, j) => j !== ai) })} />
            </Flex>
          ))}
        </Flex>
        <Button type="dashed" icon={<PlusOutlined />} style={{ marginTop: 12 }} data-testid="routing-action-add"
          onClick={() => update({ actions: [...draft.actions, defaultAction(routeIndex >= 0 ? 'set_priority' : 'route_team')] })}>
          {t('routing.rules.addAction')}
        </Button>
      </Form>
    </Drawer>
  );
}
