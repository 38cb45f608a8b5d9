import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { Button, Tag, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowRightOutlined, ArrowUpOutlined, BookOutlined, BulbOutlined, ReloadOutlined, RobotOutlined, ThunderboltOutlined, UpOutlined, DownOutlined } from '@ant-design/icons';
import type { BotConversationState, ReplySuggestion } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';

/**
 * Agent assist (issue 7), two small pieces of the workbench:
 * - `BotSuggestions` above the composer: answers from the knowledge base, canned responses and (when
 *   configured) the LLM for the open conversation; a click puts the text into the composer. Fetched when
 *   the conversation opens and again when the customer writes.
 * - `BotSection` in the profile panel: what the bot knows — who is talking (bot or handed off), the
 *   detected intent and its confidence, collected slots, sentiment and its trend, why it handed over and
 *   its summary.
 * Both stay quiet when the server has nothing (no bot on this inbox, no suggestions, or a failed read):
 * assist must never get in the agent's way.
 */

/** Calls `load` now and whenever the customer sends a message in this conversation. */
function useOnCustomerMessage(conversationId: string, load: () => void) {
  const { chat } = useSession();
  useEffect(() => {
    load();
    const off = chat.on('message', (m) => {
      if (m.conversationId === conversationId && m.direction === 'incoming' && !m.private) load();
    });
    return off;
  }, [chat, conversationId, load]);
}

const KIND_ICON: Record<ReplySuggestion['kind'], ReactNode> = {
  knowledge: <BookOutlined />,
  canned: <ThunderboltOutlined />,
  llm: <BulbOutlined />,
};
const COLLAPSE_KEY = 'huiliu.assist.collapsed';

export function BotSuggestions({ conversationId, onInsert }: { conversationId: string; onInsert: (text: string) => void }) {
  const { t } = useI18n();
  const [items, setItems] = useState<ReplySuggestion[]>([]);
  const [loading, setLoading] = useState(false);
  const [collapsed, setCollapsed] = useState(() => localStorage.getItem(COLLAPSE_KEY) === '1');
  const seq = useRef(0);

  const load = useCallback(() => {
    const mine = ++seq.current;
    setLoading(true);
    api<ReplySuggestion[]>('GET', `/conversations/${conversationId}/suggestions`)
      .then((s) => mine === seq.current && setItems(s))
      .catch(() => mine === seq.current && setItems([]))
      .finally(() => mine === seq.current && setLoading(false));
  }, [conversationId]);
  useOnCustomerMessage(conversationId, load);
  useEffect(() => () => void seq.current++, []);

  if (items.length === 0) return null;
  const toggle = () => {
    localStorage.setItem(COLLAPSE_KEY, collapsed ? '0' : '1');
    setCollapsed(!collapsed);
  };
  return (
    <div className="wb-assist" data-testid="bot-suggestions" style={{ marginBottom: 6 }}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 6, fontSize: 12, color: 'rgba(0,0,0,.45)', marginBottom: collapsed ? 0 : 4 }}>
        <RobotOutlined />
        <span>{t('assist.suggestions', { n: items.length })}</span>
        <Tooltip title={t('assist.refresh')}>
          <Button size="small" type="text" icon={<ReloadOutlined spin={loading} />} onClick={load} aria-label={t('assist.refresh')} />
        </Tooltip>
        <Button size="small" type="text" icon={collapsed ? <UpOutlined /> : <DownOutlined />} onClick={toggle} aria-label={t(collapsed ? 'assist.show' : 'assist.hide')} style={{ marginLeft: 'auto' }} />
      </div>
      {!collapsed && (
        <div style={{ display: 'flex', gap: 6, overflowX: 'auto', paddingBottom: 2 }}>
          {items.slice(0, 6).map((s, i) => (
            <Tooltip key={`${s.kind}:${s.entryId ?? i}:${s.title}`} title={<div style={{ whiteSpace: 'pre-wrap', maxHeight: 240, overflow: 'auto' }}>{s.text}</div>} placement="top" mouseEnterDelay={0.4}>
              <button
                type="button"
                className="wb-assist-item"
                data-testid="bot-suggestion"
                data-kind={s.kind}
                // mousedown keeps the textarea's caret where the agent left it.
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => onInsert(s.text)}
                style={{ flex: '0 0 auto', maxWidth: 260, textAlign: 'left', border: '1px solid #d6e4ff', background: '#f0f5ff', borderRadius: 8, padding: '4px 10px', cursor: 'pointer', font: 'inherit', fontSize: 12.5, lineHeight: 1.45 }}
              >
                <div style={{ display: 'flex', alignItems: 'center', gap: 4, color: '#1d39c4', fontWeight: 500, overflow: 'hidden', whiteSpace: 'nowrap', textOverflow: 'ellipsis' }}>
                  {KIND_ICON[s.kind]} <span style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>{s.title}</span>
                </div>
                <div style={{ color: 'rgba(0,0,0,.6)', overflow: 'hidden', whiteSpace: 'nowrap', textOverflow: 'ellipsis' }}>{s.text}</div>
              </button>
            </Tooltip>
          ))}
        </div>
      )}
    </div>
  );
}

const TREND = {
  improving: { icon: <ArrowUpOutlined />, color: '#389e0d' },
  worsening: { icon: <ArrowDownOutlined />, color: '#cf1322' },
  stable: { icon: <ArrowRightOutlined />, color: 'rgba(0,0,0,.45)' },
} as const;

const show = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function BotSection({ conversationId }: { conversationId: string }) {
  const { t } = useI18n();
  const { chat } = useSession();
  const [state, setState] = useState<BotConversationState | null>(null);
  const seq = useRef(0);

  const load = useCallback(() => {
    const mine = ++seq.current;
    api<BotConversationState>('GET', `/conversations/${conversationId}/bot`)
      .then((s) => mine === seq.current && setState(s))
      .catch(() => undefined);
  }, [conversationId]);
  useOnCustomerMessage(conversationId, load);
  // A handoff changes the conversation (status, assignee): read the bot's state again then.
  useEffect(() => chat.on('conversation', (c) => void (c.id === conversationId && load())), [chat, conversationId, load]);
  useEffect(() => () => void seq.current++, []);

  if (!state || state.status === 'none') return null;
  const reasonKey = state.handoffReason ? `bot.reason.${state.handoffReason}` : '';
  const reason = state.handoffReason ? (t(reasonKey) === reasonKey ? state.handoffReason : t(reasonKey)) : null;
  const slots = Object.entries(state.slots).filter(([, v]) => v !== null && v !== undefined && v !== '');
  const s = state.sentiment;
  return (
    <div className="wb-profile-section" data-testid="bot-state" data-status={state.status}>
      <h5><RobotOutlined /> {t('assist.bot')}</h5>
      <dl className="wb-kv">
        <dt>{t('assist.status')}</dt>
        <dd>
          <Tag color={state.status === 'bot' ? 'blue' : 'orange'} style={{ marginInlineEnd: 0 }}>{t(state.status === 'bot' ? 'assist.status.bot' : 'assist.status.handedOff')}</Tag>
        </dd>
        <dt>{t('assist.intent')}</dt>
        <dd data-testid="bot-state-intent">
          {state.intent ?? <Typography.Text type="secondary">{t('assist.noIntent')}</Typography.Text>}
          {state.intent && state.confidence !== null && <Typography.Text type="secondary"> · {Math.round(state.confidence * 100)}%</Typography.Text>}
        </dd>
        {s && (
          <>
            <dt>{t('assist.sentiment')}</dt>
            <dd data-testid="bot-state-sentiment" data-trend={s.trend}>
              <span style={{ color: s.score <= -0.3 ? '#cf1322' : s.score >= 0.3 ? '#389e0d' : undefined }}>{s.score.toFixed(2)}</span>{' '}
              <Tooltip title={t(`assist.trend.${s.trend}`)}>
                <span style={{ color: TREND[s.trend].color }}>{TREND[s.trend].icon}</span>
              </Tooltip>
            </dd>
          </>
        )}
        {state.flowStep && (
          <>
            <dt>{t('assist.flow')}</dt>
            <dd><Typography.Text code>{state.flowStep}</Typography.Text></dd>
          </>
        )}
        {reason && (
          <>
            <dt>{t('assist.reason')}</dt>
            <dd data-testid="bot-state-reason">{reason}</dd>
          </>
        )}
        {slots.map(([k, v]) => (
          <div key={k} style={{ display: 'contents' }}>
            <dt title={k}>{k}</dt>
            <dd data-testid="bot-state-slot" data-slot={k}>{show(v)}</dd>
          </div>
        ))}
      </dl>
      {state.summary && (
        <div data-testid="bot-state-summary" style={{ marginTop: 8, background: '#fafafa', border: '1px solid #f0f0f0', borderRadius: 6, padding: '6px 10px', fontSize: 13, whiteSpace: 'pre-wrap' }}>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('assist.summary')}</Typography.Text>
          <div>{state.summary}</div>
        </div>
      )}
    </div>
  );
}
