import { useEffect, useState } from 'react';
import { Popover, Typography } from 'antd';
import { BranchesOutlined } from '@ant-design/icons';
import type { Conversation } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { useDirectory } from './hooks/useDirectory.tsx';

/** A row of GET /conversations/:id/routing-decisions. */
export interface RoutingDecision {
  id: string;
  agentId: string | null;
  strategy: string;
  outcome: 'assigned' | 'queued' | 'claimed' | 'requeued' | 'overflow' | 'offered';
  reason: Record<string, unknown>;
  createdAt: string;
}

/**
 * Supervisors (routing.manage) see every routing decision of the open conversation on its timeline: why
 * it went to this agent (rule, strategy, load), why it waits, overflows and re-queues. Re-read when the
 * conversation's assignment, team, status or newest message changes — each of those can follow a decision.
 */
export function useRoutingDecisions(conversation: Conversation): RoutingDecision[] {
  const { can } = useSession();
  const allowed = can('routing.manage');
  const [decisions, setDecisions] = useState<RoutingDecision[]>([]);
  const { id, assigneeId, teamId, status, lastSeq } = conversation;
  useEffect(() => {
    if (!allowed) return;
    let live = true;
    // Decisions are written just after the change that announces them: read again shortly after.
    const timer = setTimeout(() => {
      api<RoutingDecision[]>('GET', `/conversations/${id}/routing-decisions`).then(
        (d) => live && setDecisions(d),
        () => undefined,
      );
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [allowed, id, assigneeId, teamId, status, lastSeq]);
  return allowed ? decisions : [];
}

export function RoutingDecisionLine({ d }: { d: RoutingDecision }) {
  const { t } = useI18n();
  const dir = useDirectory();
  const agent = d.agentId ? (dir.userById.get(d.agentId)?.name ?? t('timeline.agent')) : '';
  const strategy = t(`routing.strategy.${d.strategy}`);
  const why = typeof d.reason.why === 'string' ? d.reason.why : '';
  const text = t(`routingLine.${d.outcome}`, { agent, strategy, why });
  const details = (
    <pre style={{ maxWidth: 520, maxHeight: 360, overflow: 'auto', fontSize: 12, margin: 0 }}>{JSON.stringify(d.reason, null, 2)}</pre>
  );
  return (
    <div className="wb-day" data-testid="routing-decision" data-outcome={d.outcome} style={{ textAlign: 'center' }}>
      <Popover content={details} title={t('routingLine.details')} trigger="click">
        <Typography.Text type="secondary" style={{ fontSize: 12, cursor: 'pointer' }}>
          <BranchesOutlined /> {text} · {new Date(d.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
        </Typography.Text>
      </Popover>
    </div>
  );
}
