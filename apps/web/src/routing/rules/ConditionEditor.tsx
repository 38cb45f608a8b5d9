import { Flex, Input, InputNumber, Select, Space, Typography } from 'antd';
import { ChannelType } from '@huiliu/contracts';
import { WEEKDAYS } from '@huiliu/contracts/routing-rules';
import { useI18n } from '../../lib/i18n.tsx';
import { ClockInput } from '../shared/ClockInput.tsx';
import { issuesUnder, type Issue } from '../shared/issues.ts';
import { defaultCondition, FIELDS, fieldOf, operatorOf, operatorsOf, withOperator, type ConditionDraft, type Field, type Scalar } from './ruleModel.ts';

const LANGUAGE_SUGGESTIONS = ['zh', 'zh-CN', 'zh-TW', 'zh-HK', 'en', 'en-US', 'en-GB', 'ja', 'ko', 'fr', 'de', 'es', 'ru', 'ar'];

export interface ConditionOptions {
  inboxes: { id: string; name: string; channelType: string }[];
  schedules: { id: string; name: string }[];
}

/**
 * One condition as "field · operator · value". The contract's discriminated union (`type`) is what is
 * stored; field and operator are how people think about it (an attribute *equals* / *is one of* / *is set*),
 * so both selects map onto `type` (and `op` / `state`) and switching keeps what still applies.
 */
export function ConditionEditor(props: { value: ConditionDraft; onChange: (c: ConditionDraft) => void; issues: Issue[]; options: ConditionOptions; index: number }) {
  const { t } = useI18n();
  const c = props.value;
  const field = fieldOf(c.type);
  const ops = operatorsOf(field);
  const bad = (path: string): 'error' | undefined => (issuesUnder(props.issues, path).length ? 'error' : undefined);
  const set = (patch: Partial<ConditionDraft>) => props.onChange({ ...c, ...patch } as ConditionDraft);
  const text = (v: Scalar | undefined) => (v === undefined ? '' : String(v));

  const value = (() => {
    switch (c.type) {
      case 'channel':
        return (
          <Select mode="multiple" value={c.in} onChange={(v: typeof c.in) => set({ in: v })} status={bad('in')} placeholder={t('routing.cond.pickChannels')} style={{ minWidth: 260, flex: 1 }}
            options={ChannelType.options.map((ch) => ({ value: ch, label: t(`routing.channel.${ch}`) }))} data-testid="routing-cond-value" />
        );
      case 'inbox':
        return (
          <Select mode="multiple" value={c.in} onChange={(v: string[]) => set({ in: v })} status={bad('in')} placeholder={t('routing.cond.pickInboxes')} style={{ minWidth: 260, flex: 1 }}
            options={props.options.inboxes.map((i) => ({ value: i.id, label: `${i.name} · ${t(`routing.channel.${i.channelType}`)}` }))} data-testid="routing-cond-value" />
        );
      case 'attribute_equals':
        return <Input value={text(c.value)} onChange={(e) => set({ value: e.target.value })} status={bad('value')} placeholder={t('routing.cond.valuePlaceholder')} style={{ width: 200 }} data-testid="routing-cond-value" />;
      case 'attribute_in':
        return (
          <Select mode="tags" value={c.values.map(String)} onChange={(v: string[]) => set({ values: v })} status={bad('values')} placeholder={t('routing.cond.valuesPlaceholder')} style={{ minWidth: 240, flex: 1 }}
            tokenSeparators={[',', '，']} open={false} suffixIcon={null} data-testid="routing-cond-value" />
        );
      case 'attribute_exists':
        return null;
      case 'attribute_compare':
        return <InputNumber value={c.value ?? null} onChange={(v) => set({ value: v ?? (undefined as unknown as number) })} status={bad('value')} placeholder="0" style={{ width: 140 }} data-testid="routing-cond-value" />;
      case 'tag_has':
        return <Input value={c.tag} onChange={(e) => set({ tag: e.target.value })} status={bad('tag')} placeholder={t('routing.cond.tagPlaceholder')} style={{ width: 200 }} data-testid="routing-cond-value" />;
      case 'tag_has_any':
        return <Select mode="tags" value={c.tags} onChange={(v: string[]) => set({ tags: v })} status={bad('tags')} placeholder={t('routing.cond.tagsPlaceholder')} style={{ minWidth: 240, flex: 1 }} tokenSeparators={[',', '，']} open={false} suffixIcon={null} data-testid="routing-cond-value" />;
      case 'language':
        return (
          <Select mode="tags" value={c.in} onChange={(v: string[]) => set({ in: v })} status={bad('in')} placeholder={t('routing.cond.languagesPlaceholder')} style={{ minWidth: 240, flex: 1 }}
            tokenSeparators={[',', ' ']} options={LANGUAGE_SUGGESTIONS.map((l) => ({ value: l, label: l }))} data-testid="routing-cond-value" />
        );
      case 'intent':
        return (
          <>
            <Select mode="tags" value={c.in} onChange={(v: string[]) => set({ in: v })} status={bad('in')} placeholder={t('routing.cond.intentsPlaceholder')} style={{ minWidth: 200, flex: 1 }} tokenSeparators={[',', '，']} open={false} suffixIcon={null} data-testid="routing-cond-value" />
            <Space.Compact>
              <Space.Addon>{t('routing.cond.minConfidence')}</Space.Addon>
              <InputNumber min={0} max={1} step={0.05} value={c.minConfidence ?? null} onChange={(v) => set({ minConfidence: v ?? undefined })} status={bad('minConfidence')} placeholder="0" style={{ width: 80 }} />
            </Space.Compact>
          </>
        );
      case 'business_hours':
        return (
          <Select value={c.scheduleId} onChange={(v: string) => set({ scheduleId: v })} status={bad('scheduleId')} placeholder={t('routing.cond.pickSchedule')} style={{ minWidth: 220, flex: 1 }}
            options={props.options.schedules.map((s) => ({ value: s.id, label: s.name }))} notFoundContent={t('routing.cond.noSchedules')} data-testid="routing-cond-value" />
        );
      case 'local_time':
        return (
          <>
            <Space.Compact>
              <ClockInput value={c.from} onChange={(v) => set({ from: v })} status={bad('from')} />
              <Space.Addon>–</Space.Addon>
              <ClockInput value={c.to} onChange={(v) => set({ to: v })} status={bad('to')} end />
            </Space.Compact>
            <Select mode="multiple" value={c.days ?? []} onChange={(v: typeof c.days) => set({ days: v })} status={bad('days')} placeholder={t('routing.cond.anyDay')} style={{ minWidth: 200, flex: 1 }}
              options={WEEKDAYS.map((d) => ({ value: d, label: t(`routing.day.${d}`) }))} />
          </>
        );
      case 'keywords':
        return <Select mode="tags" value={c.any} onChange={(v: string[]) => set({ any: v })} status={bad('any')} placeholder={t('routing.cond.keywordsPlaceholder')} style={{ minWidth: 260, flex: 1 }} tokenSeparators={[',', '，']} open={false} suffixIcon={null} data-testid="routing-cond-value" />;
    }
  })();

  const messages = issuesUnder(props.issues, '');
  return (
    <div data-testid="routing-cond-row" style={{ flex: 1, minWidth: 0 }}>
      <Flex gap={8} wrap align="center">
        <Select<Field>
          value={field}
          onChange={(f) => props.onChange(defaultCondition(f, props.options.schedules[0]?.id))}
          style={{ width: 170 }}
          options={FIELDS.map((f) => ({ value: f, label: t(`routing.field.${f}`) }))}
          popupMatchSelectWidth={false}
          data-testid="routing-cond-field"
        />
        {(c.type === 'attribute_equals' || c.type === 'attribute_in' || c.type === 'attribute_exists' || c.type === 'attribute_compare') && (
          <Input value={c.key} onChange={(e) => set({ key: e.target.value })} status={bad('key')} placeholder={t('routing.cond.keyPlaceholder')} style={{ width: 150 }} data-testid="routing-cond-key" />
        )}
        {ops.length > 0 ? (
          <Select value={operatorOf(c)} onChange={(op: string) => props.onChange(withOperator(c, op))} style={{ width: 130 }} popupMatchSelectWidth={false}
            options={ops.map((op) => ({ value: op, label: t(`routing.op.${op}`) }))} data-testid="routing-cond-op" />
        ) : (
          <Typography.Text type="secondary" style={{ minWidth: 60 }}>{t(`routing.op.${field}`)}</Typography.Text>
        )}
        {value}
      </Flex>
      {messages.length > 0 && (
        <div style={{ marginTop: 4 }} data-testid="routing-cond-error">
          {messages.map((m, i) => <Typography.Text key={i} type="danger" style={{ display: 'block', fontSize: 13 }}>{m}</Typography.Text>)}
        </div>
      )}
      {c.type === 'local_time' && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('routing.cond.localTimeHelp')}</Typography.Text>}
    </div>
  );
}
