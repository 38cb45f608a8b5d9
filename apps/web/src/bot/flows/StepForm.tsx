import { useEffect, useState } from 'react';
import { Alert, AutoComplete, Button, Card, Divider, Flex, Form, Input, InputNumber, Popconfirm, Select, Space, Switch, Tag, Typography } from 'antd';
import { DeleteOutlined, FlagOutlined, PlusOutlined } from '@ant-design/icons';
import type { FlowDocument } from '@huiliu/contracts/bot';
import { useI18n } from '../../lib/i18n.tsx';
import { KeyValueRows, StepSelect, TagsInput, TemplateInput } from './fields.tsx';
import { BUILTIN_ENTITIES, CONDITION_OPS, STEP_COLOR, isValidStepId, knownVariables, type Condition, type ConditionOp, type Step, type StepOf } from './flowModel.ts';

export interface StepFormProps {
  step: Step;
  doc: FlowDocument;
  issues: { path: string; message: string; severity: 'error' | 'warning' }[];
  entities: string[];
  teams: { id: string; name: string }[];
  onChange: (step: Step) => void;
  /** Returns an error text when the id is invalid or taken. */
  onRename: (to: string) => string | null;
  onDelete: () => void;
  onSetStart: () => void;
}

/** The side form of the selected step: the right fields for its type, its transitions, rename / delete / start. */
export function StepForm(props: StepFormProps) {
  const { t } = useI18n();
  const { step } = props;
  const [id, setId] = useState(step.id);
  const [idError, setIdError] = useState<string | null>(null);
  useEffect(() => {
    setId(step.id);
    setIdError(null);
  }, [step.id]);

  const commitId = () => {
    if (id === step.id) return setIdError(null);
    if (!isValidStepId(id)) return setIdError(t('flows.form.idInvalid'));
    setIdError(props.onRename(id));
  };
  const isStart = props.doc.start === step.id;
  const stepIds = props.doc.steps.map((s) => s.id);
  const variables = knownVariables(props.doc);
  const common = { stepIds, variables, self: step.id };

  return (
    <Card
      size="small"
      data-testid="flow-step-form"
      data-step-id={step.id}
      title={
        <Space>
          <Tag color={STEP_COLOR[step.type]}>{t(`flows.type.${step.type}`)}</Tag>
          <span>{step.id}</span>
          {isStart && <Tag color="green" icon={<FlagOutlined />}>{t('flows.start')}</Tag>}
        </Space>
      }
      extra={
        <Space size={4}>
          {!isStart && (
            <Button size="small" icon={<FlagOutlined />} onClick={props.onSetStart} data-testid="flow-step-set-start">
              {t('flows.form.setStart')}
            </Button>
          )}
          <Popconfirm title={t('flows.form.confirmDelete', { id: step.id })} onConfirm={props.onDelete} okButtonProps={{ 'data-testid': 'flow-step-delete-ok' }}>
            <Button size="small" danger icon={<DeleteOutlined />} data-testid="flow-step-delete" aria-label={t('common.delete')} />
          </Popconfirm>
        </Space>
      }
    >
      {props.issues.length > 0 && (
        <Alert
          type={props.issues.some((i) => i.severity === 'error') ? 'error' : 'warning'}
          showIcon
          style={{ marginBottom: 12 }}
          data-testid="flow-step-issues"
          title={props.issues.map((i, n) => <div key={n}>{i.path ? <Typography.Text code>{i.path}</Typography.Text> : null} {i.message}</div>)}
        />
      )}
      <Form layout="vertical" size="middle" component="div">
        <Form.Item label={t('flows.form.id')} validateStatus={idError ? 'error' : undefined} help={idError ?? undefined} extra={t('flows.form.idHelp')}>
          <Input value={id} onChange={(e) => setId(e.target.value)} onBlur={commitId} onPressEnter={commitId} maxLength={40} data-testid="flow-step-id" />
        </Form.Item>
        {step.type === 'message' && <MessageFields step={step} onChange={props.onChange} {...common} />}
        {step.type === 'ask' && <AskFields step={step} onChange={props.onChange} entities={props.entities} {...common} />}
        {step.type === 'http' && <HttpFields step={step} onChange={props.onChange} {...common} />}
        {step.type === 'branch' && <BranchFields step={step} onChange={props.onChange} {...common} />}
        {step.type === 'set' && <SetFields step={step} onChange={props.onChange} {...common} />}
        {step.type === 'handoff' && <HandoffFields step={step} onChange={props.onChange} teams={props.teams} {...common} />}
        {step.type === 'end' && (
          <Form.Item label={t('flows.form.endMessage')} extra={t('flows.form.optional')}>
            <TemplateInput value={step.message ?? ''} onChange={(v) => props.onChange(withOptional(step, 'message', v))} variables={variables} testId="flow-field-message" />
          </Form.Item>
        )}
      </Form>
    </Card>
  );
}

/** Sets an optional text field, leaving it out when empty (the contract treats absent and empty differently). */
function withOptional<S extends Step, K extends keyof S>(step: S, key: K, value: string): S {
  const next = { ...step } as S;
  if (value === '') delete next[key];
  else (next as Record<K, unknown>)[key] = value;
  return next;
}

interface Common {
  stepIds: string[];
  variables: string[];
  self: string;
}

function MessageFields({ step, onChange, stepIds, variables, self }: Common & { step: StepOf<'message'>; onChange: (s: Step) => void }) {
  const { t } = useI18n();
  const card = step.card;
  return (
    <>
      <Form.Item label={t('flows.form.text')} extra={t('flows.form.templateHelp')}>
        <TemplateInput value={step.text} onChange={(v) => onChange({ ...step, text: v })} variables={variables} rows={3} testId="flow-field-text" />
      </Form.Item>
      <Form.Item label={t('flows.form.quickReplies')} extra={t('flows.form.quickRepliesHelp')}>
        <TagsInput value={step.quickReplies ?? []} onChange={(v) => onChange(v.length ? { ...step, quickReplies: v } : dropKey(step, 'quickReplies'))} max={10} maxLength={40} testId="flow-field-quick-replies" />
      </Form.Item>
      <Form.Item label={t('flows.form.card')}>
        <Switch size="small" checked={!!card} onChange={(on) => onChange(on ? { ...step, card: { title: '' } } : dropKey(step, 'card'))} data-testid="flow-field-card" />
      </Form.Item>
      {card && (
        <div style={{ padding: '8px 12px', background: '#fafafa', borderRadius: 6, marginBottom: 16 }}>
          <Form.Item label={t('flows.form.cardTitle')} style={{ marginBottom: 8 }}>
            <Input value={card.title} onChange={(e) => onChange({ ...step, card: { ...card, title: e.target.value } })} />
          </Form.Item>
          <Form.Item label={t('flows.form.cardDescription')} style={{ marginBottom: 8 }}>
            <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} value={card.description ?? ''} onChange={(e) => onChange({ ...step, card: withOptional(card as never, 'description' as never, e.target.value) })} />
          </Form.Item>
          <Form.Item label={t('flows.form.cardImage')} style={{ marginBottom: 8 }}>
            <Input value={card.imageUrl ?? ''} placeholder="https://…" onChange={(e) => onChange({ ...step, card: withOptional(card as never, 'imageUrl' as never, e.target.value) })} />
          </Form.Item>
          <Form.Item label={t('flows.form.cardUrl')} style={{ marginBottom: 0 }}>
            <Input value={card.url ?? ''} placeholder="https://…" onChange={(e) => onChange({ ...step, card: withOptional(card as never, 'url' as never, e.target.value) })} />
          </Form.Item>
        </div>
      )}
      <Divider plain style={{ margin: '8px 0 12px' }}>{t('flows.form.transitions')}</Divider>
      <Form.Item label={t('flows.tr.next')}>
        <StepSelect value={step.next} onChange={(v) => onChange({ ...step, next: v ?? null })} stepIds={stepIds} self={self} special="end" testId="flow-field-next" />
      </Form.Item>
    </>
  );
}

function dropKey<S extends object, K extends keyof S>(obj: S, key: K): S {
  const next = { ...obj };
  delete next[key];
  return next;
}

function AskFields({ step, onChange, stepIds, variables, self, entities }: Common & { step: StepOf<'ask'>; onChange: (s: Step) => void; entities: string[] }) {
  const { t } = useI18n();
  const entityOptions = [
    { label: t('flows.form.entityBuiltin'), options: BUILTIN_ENTITIES.map((e) => ({ value: e, label: `${e} · ${t(`flows.entity.${e}`)}` })) },
    ...(entities.length ? [{ label: t('flows.form.entityWorkspace'), options: entities.map((e) => ({ value: e, label: e })) }] : []),
  ];
  return (
    <>
      <Form.Item label={t('flows.form.slot')} extra={t('flows.form.slotHelp')}>
        <Input value={step.slot} onChange={(e) => onChange({ ...step, slot: e.target.value })} maxLength={40} data-testid="flow-field-slot" />
      </Form.Item>
      <Form.Item label={t('flows.form.prompt')}>
        <TemplateInput value={step.prompt} onChange={(v) => onChange({ ...step, prompt: v })} variables={variables} testId="flow-field-prompt" />
      </Form.Item>
      <Form.Item label={t('flows.form.entity')} extra={t('flows.form.entityHelp')}>
        <Select
          allowClear
          value={step.entity}
          placeholder={t('flows.form.entityNone')}
          options={entityOptions}
          onChange={(v: string | undefined) => onChange(v ? { ...step, entity: v } : dropKey(step, 'entity'))}
          data-testid="flow-field-entity"
        />
      </Form.Item>
      <Form.Item label={t('flows.form.pattern')} extra={t('flows.form.patternHelp')}>
        <Input value={step.pattern ?? ''} onChange={(e) => onChange(withOptional(step, 'pattern', e.target.value))} placeholder="^[A-Z]{2}\d{8}$" style={{ fontFamily: 'monospace' }} data-testid="flow-field-pattern" />
      </Form.Item>
      <Form.Item label={t('flows.form.retryPrompt')} extra={t('flows.form.retryHelp')}>
        <TemplateInput value={step.retryPrompt ?? ''} onChange={(v) => onChange(withOptional(step, 'retryPrompt', v))} variables={variables} rows={1} testId="flow-field-retry" />
      </Form.Item>
      <Form.Item label={t('flows.form.maxAttempts')}>
        <InputNumber min={1} max={10} value={step.maxAttempts} onChange={(v) => onChange({ ...step, maxAttempts: typeof v === 'number' ? v : 3 })} data-testid="flow-field-max-attempts" />
      </Form.Item>
      <Form.Item label={t('flows.form.quickReplies')}>
        <TagsInput value={step.quickReplies ?? []} onChange={(v) => onChange(v.length ? { ...step, quickReplies: v } : dropKey(step, 'quickReplies'))} max={10} maxLength={40} />
      </Form.Item>
      <Divider plain style={{ margin: '8px 0 12px' }}>{t('flows.form.transitions')}</Divider>
      <Form.Item label={t('flows.tr.answered')}>
        <StepSelect value={step.next} onChange={(v) => onChange({ ...step, next: v ?? '' })} stepIds={stepIds} self={self} testId="flow-field-next" />
      </Form.Item>
      <Form.Item label={t('flows.tr.onFail')} extra={t('flows.form.onFailHelp')}>
        <StepSelect value={step.onFail} onChange={(v) => onChange(v ? { ...step, onFail: v } : dropKey(step, 'onFail'))} stepIds={stepIds} self={self} special="default" testId="flow-field-on-fail" />
      </Form.Item>
    </>
  );
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

function HttpFields({ step, onChange, stepIds, variables, self }: Common & { step: StepOf<'http'>; onChange: (s: Step) => void }) {
  const { t } = useI18n();
  return (
    <>
      <Form.Item label={t('flows.form.request')} extra={t('flows.form.urlHelp')}>
        <Space.Compact style={{ width: '100%' }}>
          <Select value={step.method} onChange={(v) => onChange({ ...step, method: v })} options={METHODS.map((m) => ({ value: m, label: m }))} style={{ width: 100 }} data-testid="flow-field-method" />
          <Input value={step.url} onChange={(e) => onChange({ ...step, url: e.target.value })} placeholder="https://api.example.com/orders/{{order_id}}" style={{ fontFamily: 'monospace' }} data-testid="flow-field-url" />
        </Space.Compact>
        <Flex gap={4} wrap style={{ marginTop: 4 }}>
          {variables.map((v) => (
            <Tag key={v} style={{ cursor: 'pointer', fontSize: 11, marginInlineEnd: 0 }} onClick={() => onChange({ ...step, url: `${step.url}{{${v}}}` })}>{`{{${v}}}`}</Tag>
          ))}
        </Flex>
      </Form.Item>
      <Form.Item label={t('flows.form.headers')} extra={t('flows.form.headersHelp')}>
        <KeyValueRows
          key={`h:${step.id}`}
          value={step.headers ?? {}}
          onChange={(headers) => onChange({ ...step, headers })}
          keyPlaceholder="authorization"
          valuePlaceholder="Bearer {{secret.flow.order_api_token}}"
          keyOptions={['authorization', 'content-type', 'accept', 'x-api-key']}
          addLabel={t('flows.form.addHeader')}
          testId="flow-field-headers"
        />
      </Form.Item>
      {step.method !== 'GET' && (
        <Form.Item label={t('flows.form.body')} extra={t('flows.form.bodyHelp')}>
          <TemplateInput value={step.body ?? ''} onChange={(v) => onChange(withOptional(step, 'body', v))} variables={variables} rows={3} placeholder={'{"orderId": "{{order_id}}"}'} testId="flow-field-body" />
        </Form.Item>
      )}
      <Form.Item label={t('flows.form.timeout')}>
        <InputNumber min={100} max={30000} step={500} value={step.timeoutMs} onChange={(v) => onChange({ ...step, timeoutMs: typeof v === 'number' ? v : 5000 })} addonAfter="ms" data-testid="flow-field-timeout" />
      </Form.Item>
      <Form.Item label={t('flows.form.responseMap')} extra={t('flows.form.responseMapHelp')}>
        <KeyValueRows
          key={`r:${step.id}`}
          value={step.responseMap ?? {}}
          onChange={(responseMap) => onChange({ ...step, responseMap })}
          keyPlaceholder={t('flows.form.variable')}
          valuePlaceholder="data.status"
          arrow="←"
          addLabel={t('flows.form.addMapping')}
          testId="flow-field-response-map"
        />
      </Form.Item>
      <Divider plain style={{ margin: '8px 0 12px' }}>{t('flows.form.transitions')}</Divider>
      <Form.Item label={t('flows.tr.ok')}>
        <StepSelect value={step.next} onChange={(v) => onChange({ ...step, next: v ?? '' })} stepIds={stepIds} self={self} testId="flow-field-next" />
      </Form.Item>
      <Form.Item label={t('flows.tr.onError')} extra={t('flows.form.onErrorHelp')}>
        <StepSelect value={step.onError} onChange={(v) => onChange(v ? { ...step, onError: v } : dropKey(step, 'onError'))} stepIds={stepIds} self={self} special="default" testId="flow-field-on-error" />
      </Form.Item>
    </>
  );
}

/** A condition's value as the operator needs it: none, a number, a list, or text. */
function convertValue(op: ConditionOp, value: Condition['value']): Condition['value'] {
  if (op === 'exists' || op === 'not_exists') return undefined;
  if (op === 'in') return Array.isArray(value) ? value : value === undefined || value === '' ? [] : [String(value)];
  if (op === 'gt' || op === 'lt') return typeof value === 'number' ? value : Number(Array.isArray(value) ? value[0] : value) || 0;
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function ConditionRow({ c, onChange, onRemove, variables, testId }: { c: Condition; onChange: (c: Condition) => void; onRemove?: () => void; variables: string[]; testId: string }) {
  const { t } = useI18n();
  const setOp = (op: ConditionOp) => {
    const value = convertValue(op, c.value);
    const next: Condition = { variable: c.variable, op };
    if (value !== undefined) next.value = value;
    onChange(next);
  };
  return (
    <Flex gap={6} align="center" data-testid={testId}>
      <AutoComplete value={c.variable} options={variables.map((v) => ({ value: v }))} onChange={(v: string) => onChange({ ...c, variable: v })} placeholder={t('flows.form.variable')} style={{ flex: '0 0 32%' }} data-testid={`${testId}-variable`} />
      <Select value={c.op} onChange={setOp} options={CONDITION_OPS.map((op) => ({ value: op, label: t(`flows.op.${op}`) }))} style={{ flex: '0 0 28%' }} data-testid={`${testId}-op`} />
      <div style={{ flex: 1, minWidth: 0 }}>
        {c.op === 'exists' || c.op === 'not_exists' ? null : c.op === 'in' ? (
          <TagsInput value={Array.isArray(c.value) ? c.value : []} onChange={(v) => onChange({ ...c, value: v })} placeholder={t('flows.form.values')} />
        ) : c.op === 'gt' || c.op === 'lt' ? (
          <InputNumber value={typeof c.value === 'number' ? c.value : 0} onChange={(v) => onChange({ ...c, value: typeof v === 'number' ? v : 0 })} style={{ width: '100%' }} />
        ) : (
          <Input value={typeof c.value === 'string' ? c.value : String(c.value ?? '')} onChange={(e) => onChange({ ...c, value: e.target.value })} placeholder={t('flows.form.value')} data-testid={`${testId}-value`} />
        )}
      </div>
      {onRemove && <Button type="text" size="small" icon={<DeleteOutlined />} onClick={onRemove} />}
    </Flex>
  );
}

function BranchFields({ step, onChange, stepIds, variables, self }: Common & { step: StepOf<'branch'>; onChange: (s: Step) => void }) {
  const { t } = useI18n();
  const setCase = (i: number, c: StepOf<'branch'>['cases'][number]) => onChange({ ...step, cases: step.cases.map((x, j) => (j === i ? c : x)) });
  return (
    <>
      <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 12 }}>{t('flows.form.branchHelp')}</Typography.Paragraph>
      {step.cases.map((c, i) => (
        <div key={i} style={{ border: '1px solid #f0f0f0', borderRadius: 6, padding: 10, marginBottom: 10 }} data-testid="flow-branch-case">
          <Flex justify="space-between" align="center" style={{ marginBottom: 6 }}>
            <Typography.Text strong>{t('flows.form.case', { n: i + 1 })}</Typography.Text>
            {step.cases.length > 1 && <Button type="text" size="small" danger icon={<DeleteOutlined />} onClick={() => onChange({ ...step, cases: step.cases.filter((_, j) => j !== i) })} />}
          </Flex>
          <Flex vertical gap={6}>
            {c.when.map((cond, k) => (
              <ConditionRow
                key={k}
                c={cond}
                variables={variables}
                testId="flow-branch-condition"
                onChange={(n) => setCase(i, { ...c, when: c.when.map((x, j) => (j === k ? n : x)) })}
                onRemove={c.when.length > 1 ? () => setCase(i, { ...c, when: c.when.filter((_, j) => j !== k) }) : undefined}
              />
            ))}
            <Button size="small" type="link" icon={<PlusOutlined />} style={{ alignSelf: 'flex-start', padding: 0 }} onClick={() => setCase(i, { ...c, when: [...c.when, { variable: '', op: 'eq', value: '' }] })}>
              {t('flows.form.addCondition')}
            </Button>
            <Flex gap={6} align="center">
              <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>{t('flows.form.goTo')}</Typography.Text>
              <StepSelect value={c.next} onChange={(v) => setCase(i, { ...c, next: v ?? '' })} stepIds={stepIds} self={self} testId="flow-branch-case-next" />
            </Flex>
          </Flex>
        </div>
      ))}
      <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => onChange({ ...step, cases: [...step.cases, { when: [{ variable: '', op: 'eq', value: '' }], next: '' }] })} style={{ marginBottom: 12 }} data-testid="flow-branch-add-case">
        {t('flows.form.addCase')}
      </Button>
      <Form.Item label={t('flows.tr.otherwise')}>
        <StepSelect value={step.otherwise} onChange={(v) => onChange({ ...step, otherwise: v ?? '' })} stepIds={stepIds} self={self} testId="flow-branch-otherwise" />
      </Form.Item>
    </>
  );
}

function SetFields({ step, onChange, stepIds, variables, self }: Common & { step: StepOf<'set'>; onChange: (s: Step) => void }) {
  const { t } = useI18n();
  return (
    <>
      <Form.Item label={t('flows.form.assign')} extra={t('flows.form.assignHelp')}>
        <KeyValueRows key={`a:${step.id}`} value={step.assign} onChange={(assign) => onChange({ ...step, assign })} keyPlaceholder={t('flows.form.variable')} valuePlaceholder="{{order_id}}" arrow="=" addLabel={t('flows.form.addAssign')} testId="flow-field-assign" keyOptions={variables} />
      </Form.Item>
      <Divider plain style={{ margin: '8px 0 12px' }}>{t('flows.form.transitions')}</Divider>
      <Form.Item label={t('flows.tr.next')}>
        <StepSelect value={step.next} onChange={(v) => onChange({ ...step, next: v ?? '' })} stepIds={stepIds} self={self} testId="flow-field-next" />
      </Form.Item>
    </>
  );
}

function HandoffFields({ step, onChange, variables, teams }: Common & { step: StepOf<'handoff'>; onChange: (s: Step) => void; teams: { id: string; name: string }[] }) {
  const { t } = useI18n();
  return (
    <>
      <Form.Item label={t('flows.form.reason')} extra={t('flows.form.reasonHelp')}>
        <Input value={step.reason} onChange={(e) => onChange({ ...step, reason: e.target.value })} maxLength={200} data-testid="flow-field-reason" />
      </Form.Item>
      <Form.Item label={t('flows.form.handoffMessage')} extra={t('flows.form.optional')}>
        <TemplateInput value={step.message ?? ''} onChange={(v) => onChange(withOptional(step, 'message', v))} variables={variables} testId="flow-field-message" />
      </Form.Item>
      <Form.Item label={t('flows.form.summary')} extra={t('flows.form.summaryHelp')}>
        <TemplateInput value={step.summary ?? ''} onChange={(v) => onChange(withOptional(step, 'summary', v))} variables={variables} testId="flow-field-summary" />
      </Form.Item>
      <Form.Item label={t('flows.form.team')}>
        <Select allowClear value={step.teamId} placeholder={t('flows.form.teamAny')} options={teams.map((tm) => ({ value: tm.id, label: tm.name }))} onChange={(v: string | undefined) => onChange(v ? { ...step, teamId: v } : dropKey(step, 'teamId'))} />
      </Form.Item>
    </>
  );
}
