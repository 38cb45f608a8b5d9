-- Queue timeout and overflow per team (routing/overflow.ts), the offer-to-all strategy, and the decision
-- outcomes they record.
ALTER TABLE team_routing DROP CONSTRAINT IF EXISTS team_routing_strategy_check;
ALTER TABLE team_routing ADD CONSTRAINT team_routing_strategy_check
  CHECK (strategy IN ('least_busy', 'round_robin', 'least_recently_routed', 'sticky', 'manual', 'offer_all'));
-- NULL: no timeout (wait until an agent is free). The overflow action is {"action": "<kind>", ...params}.
ALTER TABLE team_routing ADD COLUMN queue_timeout_seconds integer CHECK (queue_timeout_seconds BETWEEN 10 AND 86400);
ALTER TABLE team_routing ADD COLUMN overflow jsonb;

ALTER TABLE routing_decisions DROP CONSTRAINT IF EXISTS routing_decisions_outcome_check;
ALTER TABLE routing_decisions ADD CONSTRAINT routing_decisions_outcome_check
  CHECK (outcome IN ('assigned', 'queued', 'claimed', 'requeued', 'overflow', 'offered'));
