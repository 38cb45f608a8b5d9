import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Card, Col, Flex, Form, Input, InputNumber, Row, Segmented, Select, Space, Typography } from 'antd';
import { DeleteOutlined, ExperimentOutlined, PlusOutlined } from '@ant-design/icons';
import { ChannelType, type Inbox } from '@huiliu/contracts';
import type { RuleEvaluation, RuleSetWarning } from '@huiliu/contracts/routing-rules';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { TimeZoneSelect } from '../shared/TimeZoneSelect.tsx';
import { fieldStatus, splitApiError, type Issue } from '../shared/issues.ts';
import { localizeIssues } from '../shared/serverText.ts';
import { coerceScalar, type RuleDraft } from './ruleModel.ts';
import { TestResult } from './TestResult.tsx';
import type { RuleContext } from './summary.tsx';

export type TestResponse = RuleEvaluation & { warnings: RuleSetWarning[] };

interface Sample {
  channelType: string;
  inboxId?: string;
  attrMode: 'pairs' | 'json';
  pairs: { key: string; value: string }[];
  json: string;
  tags: string[];
  language: string;
  timeZone?: string;
  intent: string;
  intentConfidence: number | null;
  messageText: string;
  /** datetime-local value; empty = now. */
  at: string;
}

const SAMPLE_KEY = 'huiliu.routing.testSample';
const EMPTY: Sample = { channelType: 'web', attrMode: 'pairs', pairs: [{ key: '', value: '' }], json: '{}', tags: [], language: '', intent: '', intentConfidence: 0.9, messageText: '', at: '' };

/** The sample is kept between visits: testing is iterative (edit a rule, test again with the same customer). */
function loadSample(): Sample {
  try {
    return { ...EMPTY, ...(JSON.parse(localStorage.getItem(SAMPLE_KEY) ?? '{}') as Partial<Sample>) };
  } catch {
    return EMPTY;
  }
}

function pairsToObject(pairs: Sample['pairs']): Record<string, unknown> {
  return Object.fromEntries(pairs.filter((p) => p.key.trim()).map((p) => [p.key.trim(), coerceScalar(p.value)]));
}

/**
 * "Test against a sample conversation": POST /routing/rules/test with the rules *as edited* (saved or not),
 * or only the one rule chosen, so an admin sees what a rule does before putting it into effect.
 */
export function TestPanel(props: {
  rules: { key: string; rule: RuleDraft }[];
  scope: string;
  onScope: (key: string) => void;
  inboxes: Inbox[];
  ctx: RuleContext;
  onResult: (r: TestResponse | null, testedKeys: string[]) => void;
  onRuleIssues: (issues: Issue[], testedKeys: string[]) => void;
}) {
  const { t } = useI18n();
  const [sample, setSample] = useState<Sample>(loadSample);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<TestResponse | null>(null);
  const set = (patch: Partial<Sample>) => setSample((s) => ({ ...s, ...patch }));

  useEffect(() => {
    try {
      localStorage.setItem(SAMPLE_KEY, JSON.stringify(sample));
    } catch {
      /* storage disabled */
    }
  }, [sample]);

  // An inbox is required by the facts; default to the first one of the chosen channel.
  const inboxesOfChannel = useMemo(() => props.inboxes.filter((i) => i.channelType === sample.channelType), [props.inboxes, sample.channelType]);
  useEffect(() => {
    if (props.inboxes.length && !props.inboxes.some((i) => i.id === sample.inboxId)) {
      set({ inboxId: (inboxesOfChannel[0] ?? props.inboxes[0])?.id });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.inboxes]);

  const switchAttrMode = (mode: 'pairs' | 'json') => {
    if (mode === sample.attrMode) return;
    if (mode === 'json') set({ attrMode: mode, json: JSON.stringify(pairsToObject(sample.pairs), null, 2) });
    else {
      try {
        const obj = JSON.parse(sample.json || '{}') as Record<string, unknown>;
        const pairs = Object.entries(obj).map(([key, value]) => ({ key, value: typeof value === 'string' ? value : JSON.stringify(value) }));
        set({ attrMode: mode, pairs: pairs.length ? pairs : [{ key: '', value: '' }] });
        setIssues([]);
      } catch {
        setIssues([{ path: 'facts.contact.attributes', message: t('routing.test.badJson') }]);
      }
    }
  };

  const run = async () => {
    setError(null);
    let attributes: Record<string, unknown>;
    if (sample.attrMode === 'json') {
      try {
        const parsed: unknown = JSON.parse(sample.json || '{}');
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        attributes = parsed as Record<string, unknown>;
      } catch {
        setIssues([{ path: 'facts.contact.attributes', message: t('routing.test.badJson') }]);
        return;
      }
    } else attributes = pairsToObject(sample.pairs);
    if (!sample.inboxId) {
      setIssues([{ path: 'facts.inboxId', message: t('routing.required') }]);
      return;
    }
    setIssues([]);
    const tested = props.scope === 'all' ? props.rules : props.rules.filter((r) => r.key === props.scope);
    const testedKeys = tested.map((r) => r.key);
    const body = {
      rules: tested.map((r) => r.rule),
      facts: {
        channelType: sample.channelType,
        inboxId: sample.inboxId,
        contact: { attributes, tags: sample.tags },
        ...(sample.language.trim() ? { language: sample.language.trim() } : {}),
        ...(sample.timeZone ? { timeZone: sample.timeZone } : {}),
        ...(sample.intent.trim() ? { intent: { name: sample.intent.trim(), confidence: sample.intentConfidence ?? 1 } } : {}),
        ...(sample.messageText ? { messageText: sample.messageText } : {}),
      },
      ...(sample.at ? { at: new Date(sample.at).toISOString() } : {}),
    };
    setRunning(true);
    try {
      const r = await api<TestResponse>('POST', '/routing/rules/test', body);
      setResult(r);
      props.onResult(r, testedKeys);
      props.onRuleIssues([], testedKeys);
    } catch (err) {
      const { issues: server, rest } = splitApiError(err);
      // Problems of the rules belong on their rows in the list; problems of the sample stay here.
      props.onRuleIssues(server.filter((i) => i.path.startsWith('rules.')), testedKeys);
      setIssues(localizeIssues(server, t).filter((i) => !i.path.startsWith('rules.')).map((i) => ({ ...i, path: `facts.${i.path.replace(/^facts\./, '')}` })));
      const ruleProblems = server.filter((i) => i.path.startsWith('rules.')).length;
      setError([rest, ruleProblems ? t('routing.test.rulesInvalid', { n: ruleProblems }) : null].filter(Boolean).join(' ') || null);
      setResult(null);
      props.onResult(null, testedKeys);
    } finally {
      setRunning(false);
    }
  };

  const f = (path: string) => fieldStatus(issues, `facts.${path}`, true);
  return (
    <Card size="small" title={<Space><ExperimentOutlined />{t('routing.test.title')}</Space>} data-testid="routing-test-panel">
      <Form layout="vertical" component="div" size="small">
        <Form.Item label={t('routing.test.scope')} style={{ marginBottom: 8 }}>
          <Select
            value={props.scope}
            onChange={props.onScope}
            options={[{ value: 'all', label: t('routing.test.allRules') }, ...props.rules.map((r, i) => ({ value: r.key, label: t('routing.test.onlyRule', { n: i + 1, name: r.rule.name }) }))]}
            data-testid="routing-test-scope"
          />
        </Form.Item>
        <Row gutter={8}>
          <Col span={10}>
            <Form.Item label={t('routing.test.channel')} style={{ marginBottom: 8 }} {...f('channelType')}>
              <Select value={sample.channelType} onChange={(v: string) => set({ channelType: v, inboxId: props.inboxes.find((i) => i.channelType === v)?.id ?? sample.inboxId })}
                options={ChannelType.options.map((c) => ({ value: c, label: t(`routing.channel.${c}`) }))} data-testid="routing-test-channel" />
            </Form.Item>
          </Col>
          <Col span={14}>
            <Form.Item label={t('routing.test.inbox')} style={{ marginBottom: 8 }} {...f('inboxId')}>
              <Select value={sample.inboxId} onChange={(v: string) => set({ inboxId: v })} options={props.inboxes.map((i) => ({ value: i.id, label: i.name }))} data-testid="routing-test-inbox" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          style={{ marginBottom: 8 }}
          label={
            <Flex gap={8} align="center">
              {t('routing.test.attributes')}
              <Segmented<'pairs' | 'json'> size="small" value={sample.attrMode} onChange={switchAttrMode} options={[{ value: 'pairs', label: t('routing.test.pairs') }, { value: 'json', label: 'JSON' }]} />
            </Flex>
          }
          {...f('contact.attributes')}
        >
          {sample.attrMode === 'json' ? (
            <Input.TextArea value={sample.json} onChange={(e) => set({ json: e.target.value })} autoSize={{ minRows: 3, maxRows: 8 }} style={{ fontFamily: 'ui-monospace, monospace', fontSize: 12 }} data-testid="routing-test-json" />
          ) : (
            <Flex vertical gap={4}>
              {sample.pairs.map((p, i) => (
                <Space.Compact key={i} style={{ width: '100%' }}>
                  <Input value={p.key} placeholder={t('routing.test.key')} onChange={(e) => set({ pairs: sample.pairs.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)) })} style={{ width: '40%' }} data-testid="routing-test-attr-key" />
                  <Input value={p.value} placeholder={t('routing.test.value')} onChange={(e) => set({ pairs: sample.pairs.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) })} style={{ width: '60%' }} data-testid="routing-test-attr-value" />
                  <Button icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => set({ pairs: sample.pairs.length === 1 ? [{ key: '', value: '' }] : sample.pairs.filter((_, j) => j !== i) })} />
                </Space.Compact>
              ))}
              <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => set({ pairs: [...sample.pairs, { key: '', value: '' }] })}>{t('routing.test.addAttr')}</Button>
            </Flex>
          )}
        </Form.Item>
        <Form.Item label={t('routing.test.tags')} style={{ marginBottom: 8 }} {...f('contact.tags')}>
          <Select mode="tags" value={sample.tags} onChange={(v: string[]) => set({ tags: v })} tokenSeparators={[',', '，']} open={false} suffixIcon={null} placeholder={t('routing.test.tagsPlaceholder')} data-testid="routing-test-tags" />
        </Form.Item>
        <Row gutter={8}>
          <Col span={10}>
            <Form.Item label={t('routing.test.language')} style={{ marginBottom: 8 }} {...f('language')}>
              <Input value={sample.language} onChange={(e) => set({ language: e.target.value })} placeholder="zh-CN" data-testid="routing-test-language" />
            </Form.Item>
          </Col>
          <Col span={14}>
            <Form.Item label={t('routing.test.timeZone')} style={{ marginBottom: 8 }} {...f('timeZone')}>
              <TimeZoneSelect allowClear value={sample.timeZone} onChange={(v) => set({ timeZone: v })} placeholder={t('routing.test.unknownZone')} testId="routing-test-tz" />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={8}>
          <Col span={14}>
            <Form.Item label={t('routing.test.intent')} style={{ marginBottom: 8 }} {...f('intent')}>
              <Input value={sample.intent} onChange={(e) => set({ intent: e.target.value })} placeholder={t('routing.test.intentPlaceholder')} />
            </Form.Item>
          </Col>
          <Col span={10}>
            <Form.Item label={t('routing.test.confidence')} style={{ marginBottom: 8 }}>
              <InputNumber min={0} max={1} step={0.05} value={sample.intentConfidence} onChange={(v) => set({ intentConfidence: v })} disabled={!sample.intent.trim()} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item label={t('routing.test.message')} style={{ marginBottom: 8 }} {...f('messageText')}>
          <Input.TextArea value={sample.messageText} onChange={(e) => set({ messageText: e.target.value })} autoSize={{ minRows: 2, maxRows: 5 }} placeholder={t('routing.test.messagePlaceholder')} data-testid="routing-test-message" />
        </Form.Item>
        <Form.Item label={t('routing.test.at')} extra={t('routing.test.atHelp')} style={{ marginBottom: 12 }} {...fieldStatus(issues, 'facts.at')}>
          <Input type="datetime-local" value={sample.at} onChange={(e) => set({ at: e.target.value })} style={{ width: '100%' }} data-testid="routing-test-at" />
        </Form.Item>
        <Button type="primary" block icon={<ExperimentOutlined />} loading={running} onClick={() => void run()} disabled={props.rules.length === 0} data-testid="routing-rule-test">
          {props.scope === 'all' ? t('routing.test.run') : t('routing.test.runOne')}
        </Button>
      </Form>
      {error && <Alert type="error" showIcon title={error} style={{ marginTop: 12 }} data-testid="routing-test-error" />}
      {result && <TestResult result={result} ctx={props.ctx} />}
      {props.rules.length === 0 && <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>{t('routing.test.noRules')}</Typography.Paragraph>}
    </Card>
  );
}
