import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Card, Descriptions, Empty, Flex, Input, Segmented, Space, Tag, Tooltip, Typography } from 'antd';
import { CustomerServiceOutlined, ReloadOutlined, RobotOutlined, SendOutlined } from '@ant-design/icons';
import type { BotReply, BotTurnTrace, SimulateResult } from '@huiliu/contracts/bot';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';

type Entry =
  | { kind: 'user'; text: string }
  | { kind: 'bot'; reply: BotReply }
  | { kind: 'handoff'; reason: string; summary: string }
  | { kind: 'ended' };

/**
 * Chat with the bot before customers do: POST /bot/simulate runs the whole bot (intents, entities, flows,
 * knowledge) without a real conversation. "Draft" runs this flow's saved draft, "Published" the bot as
 * customers meet it. The trace under the chat says why the bot answered as it did.
 * `beforeSend` lets the editor save unsaved changes first, so the draft simulated is the one on screen.
 */
export function FlowSimulator(props: { flowId: string; beforeSend?: () => Promise<boolean>; height?: number }) {
  const { t } = useI18n();
  const [mode, setMode] = useState<'draft' | 'published'>('draft');
  const [sessionId, setSessionId] = useState<string | undefined>();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [trace, setTrace] = useState<BotTurnTrace | null>(null);
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  useEffect(() => {
    scroller.current?.scrollTo({ top: scroller.current.scrollHeight });
  }, [entries]);

  const reset = () => {
    setSessionId(undefined);
    setEntries([]);
    setTrace(null);
    setError(null);
  };

  const send = async (message: string) => {
    const value = message.trim();
    if (!value || sending) return;
    setSending(true);
    setError(null);
    try {
      if (mode === 'draft' && props.beforeSend && !(await props.beforeSend())) return;
      setEntries((e) => [...e, { kind: 'user', text: value }]);
      setText('');
      const r = await api<SimulateResult>('POST', '/bot/simulate', { text: value, ...(sessionId ? { sessionId } : {}), ...(mode === 'draft' ? { flowId: props.flowId } : {}) });
      setSessionId(r.sessionId);
      setTrace(r.trace);
      setEntries((e) => [
        ...e,
        ...r.replies.map((reply): Entry => ({ kind: 'bot', reply })),
        ...(r.handoff ? [{ kind: 'handoff', reason: r.handoff.reason, summary: r.handoff.summary } as Entry] : []),
        ...(r.ended ? [{ kind: 'ended' } as Entry] : []),
      ]);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSending(false);
    }
  };

  // Quick replies of the bot's last message are offered until the customer says something else.
  const last = entries[entries.length - 1];
  const quick = last?.kind === 'bot' ? last.reply.quickReplies : [];

  return (
    <Card
      size="small"
      data-testid="flow-sim"
      title={<Space><RobotOutlined />{t('flows.sim.title')}</Space>}
      extra={
        <Space size={6}>
          <Segmented
            size="small"
            value={mode}
            onChange={(v) => {
              setMode(v as 'draft' | 'published');
              reset();
            }}
            options={[{ value: 'draft', label: t('flows.sim.draft') }, { value: 'published', label: t('flows.sim.published') }]}
          />
          <Tooltip title={t('flows.sim.reset')}>
            <Button size="small" icon={<ReloadOutlined />} onClick={reset} data-testid="flow-sim-reset" aria-label={t('flows.sim.reset')} />
          </Tooltip>
        </Space>
      }
      styles={{ body: { padding: 0 } }}
    >
      <div ref={scroller} style={{ height: props.height ?? 380, overflowY: 'auto', padding: 12, background: '#fafafa' }} data-testid="flow-sim-log">
        {entries.length === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t(mode === 'draft' ? 'flows.sim.emptyDraft' : 'flows.sim.emptyPublished')} />
        ) : (
          <Flex vertical gap={8}>
            {entries.map((e, i) => <EntryView key={i} entry={e} />)}
          </Flex>
        )}
      </div>
      {quick.length > 0 && (
        <Flex gap={6} wrap style={{ padding: '8px 12px 0' }}>
          {quick.map((q) => (
            <Tag key={q} color="blue" style={{ cursor: 'pointer', borderRadius: 12, padding: '2px 10px' }} onClick={() => void send(q)} data-testid="flow-sim-quick-reply">
              {q}
            </Tag>
          ))}
        </Flex>
      )}
      <div style={{ padding: 12 }}>
        {error && <Alert type="error" showIcon style={{ marginBottom: 8 }} title={error} data-testid="flow-sim-error" />}
        <Space.Compact style={{ width: '100%' }}>
          <Input
            value={text}
            onChange={(e) => setText(e.target.value)}
            onPressEnter={() => void send(text)}
            placeholder={t('flows.sim.placeholder')}
            maxLength={2000}
            data-testid="flow-sim-input"
          />
          <Button type="primary" icon={<SendOutlined />} loading={sending} onClick={() => void send(text)} data-testid="flow-sim-send" aria-label={t('flows.sim.send')} />
        </Space.Compact>
      </div>
      <TraceView trace={trace} />
    </Card>
  );
}

function EntryView({ entry }: { entry: Entry }) {
  const { t } = useI18n();
  if (entry.kind === 'user') {
    return (
      <Flex justify="flex-end">
        <div style={{ background: '#1677ff', color: '#fff', padding: '6px 10px', borderRadius: '10px 10px 2px 10px', maxWidth: '85%', whiteSpace: 'pre-wrap', wordBreak: 'break-word' }} data-testid="flow-sim-msg" data-from="user">
          {entry.text}
        </div>
      </Flex>
    );
  }
  if (entry.kind === 'bot') {
    const { reply } = entry;
    return (
      <Flex justify="flex-start">
        <div style={{ background: '#fff', border: '1px solid #f0f0f0', padding: '6px 10px', borderRadius: '10px 10px 10px 2px', maxWidth: '85%', whiteSpace: 'pre-wrap', wordBreak: 'break-word' }} data-testid="flow-sim-msg" data-from="bot">
          {reply.text}
          {reply.card && (
            <div style={{ marginTop: 6, border: '1px solid #f0f0f0', borderRadius: 6, overflow: 'hidden' }}>
              {reply.card.imageUrl && <img src={reply.card.imageUrl} alt="" style={{ width: '100%', maxHeight: 120, objectFit: 'cover', display: 'block' }} />}
              <div style={{ padding: 6 }}>
                <Typography.Text strong>{reply.card.url ? <a href={reply.card.url} target="_blank" rel="noreferrer">{reply.card.title}</a> : reply.card.title}</Typography.Text>
                {reply.card.description && <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{reply.card.description}</Typography.Text></div>}
              </div>
            </div>
          )}
          {reply.source && <div style={{ marginTop: 4 }}><Typography.Text type="secondary" style={{ fontSize: 11 }}>{t('flows.sim.source', { title: reply.source.title })}</Typography.Text></div>}
        </div>
      </Flex>
    );
  }
  if (entry.kind === 'handoff') {
    return (
      <Alert
        type="warning"
        showIcon
        icon={<CustomerServiceOutlined />}
        data-testid="flow-sim-handoff"
        title={t('flows.sim.handoff', { reason: entry.reason })}
        description={entry.summary || undefined}
      />
    );
  }
  return <Typography.Text type="secondary" style={{ textAlign: 'center', fontSize: 12 }} data-testid="flow-sim-ended">— {t('flows.sim.ended')} —</Typography.Text>;
}

function TraceView({ trace }: { trace: BotTurnTrace | null }) {
  const { t } = useI18n();
  if (!trace) return null;
  const vars = Object.entries(trace.flow?.variables ?? {});
  return (
    <div style={{ borderTop: '1px solid #f0f0f0', padding: '8px 12px 12px' }} data-testid="flow-sim-trace">
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('flows.sim.trace')}</Typography.Text>
      <Descriptions size="small" column={1} style={{ marginTop: 4 }} styles={{ label: { width: 96, fontSize: 12 }, content: { fontSize: 12 } }}>
        <Descriptions.Item label={t('flows.sim.intent')}>
          <span data-testid="flow-sim-intent">{trace.intent ?? t('flows.sim.noIntent')}</span>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}> · {Math.round(trace.confidence * 100)}%</Typography.Text>
        </Descriptions.Item>
        <Descriptions.Item label={t('flows.sim.action')}><Tag style={{ fontSize: 11 }}>{trace.action}</Tag></Descriptions.Item>
        {trace.flow && (
          <Descriptions.Item label={t('flows.sim.step')}>
            <Typography.Text code data-testid="flow-sim-step">{trace.flow.step ?? t('flows.sim.stepDone')}</Typography.Text>
          </Descriptions.Item>
        )}
        {trace.entities.length > 0 && (
          <Descriptions.Item label={t('flows.sim.entities')}>
            <Flex gap={4} wrap>{trace.entities.map((e, i) => <Tag key={i} style={{ fontSize: 11 }}>{e.entity}: {String(e.value)}</Tag>)}</Flex>
          </Descriptions.Item>
        )}
        <Descriptions.Item label={t('flows.sim.sentiment')}>{trace.sentiment.toFixed(2)}</Descriptions.Item>
        {vars.length > 0 && (
          <Descriptions.Item label={t('flows.sim.variables')}>
            <div data-testid="flow-sim-variables" style={{ fontFamily: 'monospace', fontSize: 12 }}>
              {vars.map(([k, v]) => (
                <div key={k}>
                  {k} = <span style={{ color: '#389e0d' }}>{typeof v === 'string' ? v : JSON.stringify(v)}</span>
                </div>
              ))}
            </div>
          </Descriptions.Item>
        )}
      </Descriptions>
    </div>
  );
}
