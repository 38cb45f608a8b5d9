import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { Button, Flex, Tag, Tooltip, Typography } from 'antd';
import { ApiOutlined, BranchesOutlined, CustomerServiceOutlined, EditOutlined, FlagOutlined, MessageOutlined, QuestionCircleOutlined, StopOutlined, ThunderboltOutlined, WarningOutlined } from '@ant-design/icons';
import type { FlowDocument } from '@huiliu/contracts/bot';
import { useI18n } from '../../lib/i18n.tsx';
import { STEP_COLOR, STEP_TYPES, layoutOrder, transitions, type Step, type StepType } from './flowModel.ts';

export const TRIGGERS = '__triggers__';

export const STEP_ICON: Record<StepType, ReactNode> = {
  message: <MessageOutlined />,
  ask: <QuestionCircleOutlined />,
  http: <ApiOutlined />,
  branch: <BranchesOutlined />,
  set: <EditOutlined />,
  handoff: <CustomerServiceOutlined />,
  end: <StopOutlined />,
};

/** Width kept right of the cards for the arrows of jumps (transitions to a step that is not drawn next). */
const GUTTER = 64;
const LANE = 9;
const MAX_LANE = Math.floor((GUTTER - 16) / LANE);

interface Edge {
  key: string;
  d: string;
  active: boolean;
}

/**
 * The visual flow: the trigger, then the steps as cards in reading order (depth-first from the start; see
 * layoutOrder). A straight arrow joins a card to the one under it when that is where it goes; any other
 * transition is drawn as an arrow in the right-hand gutter from its label to the target card. Clicking a
 * card selects it for the side form; clicking a transition label selects its target.
 */
export function FlowCanvas(props: {
  doc: FlowDocument;
  selected: string | null;
  issueSteps: Set<string>;
  onSelect: (id: string) => void;
  onAdd: (type: StepType) => void;
}) {
  const { t } = useI18n();
  const { order, reachable } = layoutOrder(props.doc);
  const ids = new Set(props.doc.steps.map((s) => s.id));
  const root = useRef<HTMLDivElement>(null);
  const [edges, setEdges] = useState<Edge[]>([]);

  // Arrows are measured from the rendered cards: their heights depend on the text they show.
  useLayoutEffect(() => {
    const el = root.current;
    if (!el) return;
    const measure = () => {
      const base = el.getBoundingClientRect();
      const cards = new Map<string, DOMRect>();
      el.querySelectorAll<HTMLElement>('[data-flow-card]').forEach((c) => cards.set(c.dataset.stepId!, c.getBoundingClientRect()));
      const raw: { key: string; y1: number; y2: number; x: number; active: boolean }[] = [];
      el.querySelectorAll<HTMLElement>('[data-edge-target]').forEach((chip, n) => {
        const from = chip.dataset.edgeFrom!;
        const target = chip.dataset.edgeTarget!;
        const to = cards.get(target);
        const card = cards.get(from);
        if (!to || !card || chip.dataset.adjacent === 'true') return;
        const c = chip.getBoundingClientRect();
        raw.push({ key: `${from}:${n}`, y1: c.top + c.height / 2 - base.top, y2: to.top + 16 - base.top, x: card.right - base.left, active: from === props.selected || target === props.selected });
      });
      // Lanes: an arrow takes the innermost lane free over its whole vertical extent.
      const lanes: { lo: number; hi: number }[][] = [];
      const placed = raw
        .sort((a, b) => Math.abs(a.y2 - a.y1) - Math.abs(b.y2 - b.y1))
        .map((e) => {
          const lo = Math.min(e.y1, e.y2) - 4;
          const hi = Math.max(e.y1, e.y2) + 4;
          const free = lanes.findIndex((l) => l.every((r) => r.hi < lo || r.lo > hi));
          // More overlapping jumps than the gutter holds share its outermost lane.
          const lane = Math.min(free < 0 ? lanes.length : free, MAX_LANE);
          (lanes[lane] ??= []).push({ lo, hi });
          const gx = e.x + 12 + lane * LANE;
          const d = `M ${e.x} ${e.y1} H ${gx} V ${e.y2} H ${e.x + 2}`;
          return { key: e.key, d, active: e.active };
        });
      setEdges((prev) => (JSON.stringify(prev) === JSON.stringify(placed) ? prev : placed));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  });

  return (
    <div>
      <Flex gap={6} wrap style={{ marginBottom: 12 }} data-testid="flow-palette">
        {STEP_TYPES.map((type) => (
          <Tooltip key={type} title={t(`flows.type.${type}.hint`)}>
            <Button size="small" icon={STEP_ICON[type]} onClick={() => props.onAdd(type)} data-testid={`flow-add-${type}`}>
              {t(`flows.type.${type}`)}
            </Button>
          </Tooltip>
        ))}
      </Flex>
      <Typography.Text type="secondary" style={{ fontSize: 12, display: 'block', marginBottom: 8 }}>{t('flows.canvas.addHint')}</Typography.Text>
      <div ref={root} style={{ position: 'relative', paddingRight: GUTTER }} data-testid="flow-canvas">
        <svg style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', pointerEvents: 'none', overflow: 'visible' }} aria-hidden>
          <defs>
            {(['#bfbfbf', '#1677ff'] as const).map((c) => (
              <marker key={c} id={`flow-arrow-${c.slice(1)}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" fill={c} />
              </marker>
            ))}
          </defs>
          {edges.map((e) => (
            <path key={e.key} d={e.d} fill="none" stroke={e.active ? '#1677ff' : '#bfbfbf'} strokeWidth={e.active ? 1.8 : 1.3} markerEnd={`url(#flow-arrow-${e.active ? '1677ff' : 'bfbfbf'})`} />
          ))}
        </svg>
        <TriggerCard doc={props.doc} selected={props.selected === TRIGGERS} onSelect={() => props.onSelect(TRIGGERS)} />
        <Connector />
        {order.map((step, i) => {
          const below = order[i + 1]?.id;
          const goesBelow = below !== undefined && transitions(step).some((tr) => tr.target === below);
          return (
            <div key={step.id}>
              <StepCard
                step={step}
                below={below}
                isStart={props.doc.start === step.id}
                unreachable={!reachable.has(step.id)}
                selected={props.selected === step.id}
                hasIssue={props.issueSteps.has(step.id)}
                ids={ids}
                onSelect={props.onSelect}
              />
              {i < order.length - 1 && (goesBelow ? <Connector /> : <div style={{ height: 18 }} />)}
            </div>
          );
        })}
      </div>
    </div>
  );
}

function Connector() {
  return (
    <div style={{ display: 'flex', justifyContent: 'center', height: 22 }} aria-hidden>
      <svg width="12" height="22">
        <line x1="6" y1="0" x2="6" y2="16" stroke="#bfbfbf" strokeWidth="1.5" />
        <path d="M 1 14 L 6 21 L 11 14 z" fill="#bfbfbf" />
      </svg>
    </div>
  );
}

const cardStyle = (selected: boolean, hasIssue: boolean, dashed = false) => ({
  background: '#fff',
  borderRadius: 8,
  padding: '10px 12px',
  cursor: 'pointer',
  border: `${selected ? 2 : 1}px ${dashed ? 'dashed' : 'solid'} ${hasIssue ? '#ff4d4f' : selected ? '#1677ff' : '#e5e5e5'}`,
  boxShadow: selected ? '0 2px 8px rgba(22,119,255,0.15)' : '0 1px 2px rgba(0,0,0,0.04)',
  margin: selected ? 0 : 1,
});

function TriggerCard(props: { doc: FlowDocument; selected: boolean; onSelect: () => void }) {
  const { t } = useI18n();
  const { intents, phrases } = props.doc.triggers;
  return (
    <div style={{ ...cardStyle(props.selected, false), background: '#f6ffed' }} onClick={props.onSelect} data-testid="flow-trigger-card">
      <Flex gap={8} align="center" style={{ marginBottom: 4 }}>
        <Tag color="green" icon={<ThunderboltOutlined />}>{t('flows.triggers')}</Tag>
        {intents.length === 0 && phrases.length === 0 && <Typography.Text type="warning" style={{ fontSize: 12 }}>{t('flows.canvas.noTriggers')}</Typography.Text>}
      </Flex>
      <Flex gap={4} wrap>
        {intents.map((i) => <Tag key={`i:${i}`} color="purple">{t('flows.canvas.intent')}: {i}</Tag>)}
        {phrases.map((p) => <Tag key={`p:${p}`}>“{p}”</Tag>)}
      </Flex>
    </div>
  );
}

function summary(step: Step, t: (k: string, v?: Record<string, string | number>) => string): ReactNode {
  const clip = (s: string) => (s.length > 140 ? `${s.slice(0, 140)}…` : s);
  switch (step.type) {
    case 'message':
      return (
        <>
          {step.text ? clip(step.text) : <Typography.Text type="secondary" italic>{t('flows.canvas.emptyText')}</Typography.Text>}
          {step.quickReplies?.length ? <div style={{ marginTop: 4 }}>{step.quickReplies.map((q) => <Tag key={q} bordered={false} color="blue" style={{ fontSize: 11 }}>{q}</Tag>)}</div> : null}
          {step.card ? <div style={{ marginTop: 4 }}><Tag style={{ fontSize: 11 }}>▣ {step.card.title}</Tag></div> : null}
        </>
      );
    case 'ask':
      return (
        <>
          <Typography.Text code>{step.slot}</Typography.Text>
          {step.entity && <> ← <Typography.Text type="secondary">{step.entity}</Typography.Text></>}
          <div>{step.prompt ? clip(step.prompt) : <Typography.Text type="secondary" italic>{t('flows.canvas.emptyText')}</Typography.Text>}</div>
        </>
      );
    case 'http':
      return (
        <>
          <Typography.Text strong style={{ fontSize: 12 }}>{step.method}</Typography.Text>{' '}
          <Typography.Text style={{ fontFamily: 'monospace', fontSize: 12, wordBreak: 'break-all' }}>{clip(step.url)}</Typography.Text>
          {Object.keys(step.responseMap ?? {}).length > 0 && (
            <div style={{ fontSize: 12 }}>
              <Typography.Text type="secondary">{Object.entries(step.responseMap ?? {}).map(([k, v]) => `${k} ← ${v}`).join(', ')}</Typography.Text>
            </div>
          )}
        </>
      );
    case 'branch':
      return null;
    case 'set':
      return <Typography.Text style={{ fontSize: 12 }}>{Object.entries(step.assign).map(([k, v]) => `${k} = ${v}`).join(', ') || '—'}</Typography.Text>;
    case 'handoff':
      return <>{step.reason}{step.message && <div><Typography.Text type="secondary">{clip(step.message)}</Typography.Text></div>}</>;
    case 'end':
      return step.message ? clip(step.message) : <Typography.Text type="secondary">{t('flows.canvas.ends')}</Typography.Text>;
  }
}

function StepCard(props: { step: Step; below: string | undefined; isStart: boolean; unreachable: boolean; selected: boolean; hasIssue: boolean; ids: Set<string>; onSelect: (id: string) => void }) {
  const { t } = useI18n();
  const { step } = props;
  const trs = transitions(step);
  const body = summary(step, t);
  return (
    <div
      style={cardStyle(props.selected, props.hasIssue, props.unreachable)}
      onClick={() => props.onSelect(step.id)}
      data-flow-card
      data-testid="flow-step-card"
      data-step-id={step.id}
      data-step-type={step.type}
      data-selected={props.selected}
      data-has-issue={props.hasIssue}
    >
      <Flex gap={6} align="center" wrap>
        <Tag color={STEP_COLOR[step.type]} icon={STEP_ICON[step.type]} style={{ marginInlineEnd: 0 }}>{t(`flows.type.${step.type}`)}</Tag>
        <Typography.Text strong style={{ fontFamily: 'monospace' }}>{step.id}</Typography.Text>
        {props.isStart && <Tag color="green" icon={<FlagOutlined />} style={{ marginInlineEnd: 0 }}>{t('flows.start')}</Tag>}
        {props.unreachable && <Tag color="warning" icon={<WarningOutlined />} style={{ marginInlineEnd: 0 }}>{t('flows.canvas.unreachable')}</Tag>}
        {props.hasIssue && <WarningOutlined style={{ color: '#ff4d4f' }} />}
      </Flex>
      {body && <div style={{ marginTop: 6, fontSize: 13, lineHeight: 1.5, wordBreak: 'break-word' }}>{body}</div>}
      {trs.length > 0 && (
        <Flex vertical gap={2} style={{ marginTop: 8, borderTop: '1px dashed #f0f0f0', paddingTop: 6 }}>
          {trs.map((tr) => {
            const missing = tr.target === '' || (tr.target !== null && !props.ids.has(tr.target));
            return (
              <Flex key={tr.field} justify="space-between" align="center" gap={8} style={{ fontSize: 12 }}>
                <Typography.Text type="secondary" ellipsis style={{ fontSize: 12, minWidth: 0 }}>{t(tr.label, tr.vars)}</Typography.Text>
                {tr.target === null ? (
                  <Tag style={{ marginInlineEnd: 0, fontSize: 11 }}>{t('flows.canvas.ends')}</Tag>
                ) : missing ? (
                  <Tag color="error" style={{ marginInlineEnd: 0, fontSize: 11 }} data-testid="flow-missing-target">{tr.target ? `${tr.target} ?` : t('flows.form.chooseStep')}</Tag>
                ) : (
                  <Tag
                    color="processing"
                    style={{ marginInlineEnd: 0, fontSize: 11, cursor: 'pointer', fontFamily: 'monospace' }}
                    data-edge-from={step.id}
                    data-edge-target={tr.target}
                    data-adjacent={tr.target === props.below}
                    onClick={(e) => {
                      e.stopPropagation();
                      props.onSelect(tr.target!);
                    }}
                  >
                    {tr.target === props.below ? '↓' : '↪'} {tr.target}
                  </Tag>
                )}
              </Flex>
            );
          })}
        </Flex>
      )}
    </div>
  );
}
