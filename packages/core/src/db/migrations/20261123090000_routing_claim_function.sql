-- Routing's atomic claim (conversation service `claimUnassigned`) as ONE autocommit call instead of a
-- transaction of ~7 round trips: on a busy 2-core machine every round trip held the agent's presence lock
-- longer and cost a scheduling delay (docs/benchmarks.md, routing). Same rules as before:
--  * lock order presence row → conversation row; SKIP LOCKED for routing (a busy agent is skipped: the
--    caller tries its next candidate), waiting for a person's own claim; a missing presence row is created
--    (defaults) and locked;
--  * the load is counted by a statement that starts after the lock is held: a VOLATILE plpgsql function
--    under READ COMMITTED takes a fresh snapshot per statement, so it sees every claim for this agent that
--    committed before ours (they held the same lock until their COMMIT);
--  * the conversation is assigned only if it is still unassigned and open / pending (0 rows: taken), and
--    its activity line gets the next seq in the same UPDATE (the pipeline's rule for an activity message:
--    last_seq + 1, last_activity_at, nothing else);
--  * the routing decision, the agent's last-routed time and the team's round-robin cursor commit with it.
-- The caller computes the message id and the search document (jieba, in JS) beforehand and publishes the
-- events after the call returns (= after COMMIT).
--
-- guard:    NULL (no capacity check) or {"skip_locked": bool, "require_online": bool, "channel_type": text}
-- decision: NULL or {"strategy": text, "outcome": text, "reason": {...}, "team_id": uuid | null}
-- Returns {"ok": false, "reason": "busy" | "not_online" | "at_capacity" | "at_channel_capacity" | "taken"}
-- or {"ok": true, "conversation": {...}, "message": {...}}, both with "timings" (ms spent per step inside
-- the call, for `npm run bench -- routing` and slow-claim diagnosis).
CREATE FUNCTION huiliu_routing_claim(
  p_workspace_id uuid,
  p_conversation_id uuid,
  p_assignee_id uuid,
  guard jsonb,
  p_message_id uuid,
  p_sender_type text,
  p_sender_id uuid,
  p_text text,
  p_search_doc text,
  decision jsonb
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  t timestamptz := t0;
  -- startup: from the statement's arrival to here (parse, plan, executor start).
  timings jsonb := jsonb_build_object('startup', (extract(epoch FROM t0 - statement_timestamp()) * 1000)::numeric(12, 3));
  refusal text;
  presence record;
  counted record;
  channel_cap numeric;
  conv record;
  msg record;
BEGIN
  <<claim>>
  BEGIN
    IF guard IS NOT NULL THEN
      IF (guard->>'skip_locked')::boolean THEN
        SELECT p.status, p.capacity, p.channel_capacities INTO presence FROM agent_presence p
          WHERE p.user_id = p_assignee_id AND p.workspace_id = p_workspace_id FOR UPDATE SKIP LOCKED;
      ELSE
        SELECT p.status, p.capacity, p.channel_capacities INTO presence FROM agent_presence p
          WHERE p.user_id = p_assignee_id AND p.workspace_id = p_workspace_id FOR UPDATE;
      END IF;
      IF NOT FOUND THEN
        -- Locked by another claim (routing skips it), or no presence row yet (an agent who never set one
        -- claims by hand): create it and lock it.
        IF EXISTS (SELECT 1 FROM agent_presence p WHERE p.user_id = p_assignee_id) THEN
          refusal := 'busy';
        ELSE
          INSERT INTO agent_presence (user_id, workspace_id) VALUES (p_assignee_id, p_workspace_id) ON CONFLICT (user_id) DO NOTHING;
          SELECT p.status, p.capacity, p.channel_capacities INTO presence FROM agent_presence p
            WHERE p.user_id = p_assignee_id AND p.workspace_id = p_workspace_id FOR UPDATE;
          IF NOT FOUND THEN refusal := 'busy'; END IF;
        END IF;
      END IF;
      timings := timings || jsonb_build_object('lock', (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric(12, 3));
      t := clock_timestamp();
      EXIT claim WHEN refusal IS NOT NULL;
      IF (guard->>'require_online')::boolean AND presence.status <> 'online' THEN
        refusal := 'not_online';
        EXIT claim;
      END IF;
      -- A statement that starts now, with the lock held: its snapshot includes every earlier claim for this agent.
      SELECT count(*) AS total, count(*) FILTER (WHERE i.channel_type = guard->>'channel_type') AS channel INTO counted
        FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
        WHERE c.workspace_id = p_workspace_id AND c.assignee_id = p_assignee_id AND c.status IN ('open', 'pending');
      timings := timings || jsonb_build_object('check', (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric(12, 3));
      t := clock_timestamp();
      IF counted.total >= presence.capacity THEN
        refusal := 'at_capacity';
        EXIT claim;
      END IF;
      channel_cap := (presence.channel_capacities ->> (guard->>'channel_type'))::numeric;
      IF channel_cap IS NOT NULL AND counted.channel >= channel_cap THEN
        refusal := 'at_channel_capacity';
        EXIT claim;
      END IF;
    END IF;

    UPDATE conversations c SET assignee_id = p_assignee_id, queued_at = NULL, assigned_at = now(), updated_at = now(),
        last_seq = c.last_seq + 1, last_activity_at = now()
      WHERE c.id = p_conversation_id AND c.workspace_id = p_workspace_id AND c.assignee_id IS NULL AND c.status IN ('open', 'pending')
      RETURNING c.* INTO conv;
    IF NOT FOUND THEN refusal := 'taken'; END IF;
    timings := timings || jsonb_build_object('update', (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric(12, 3));
    t := clock_timestamp();
    EXIT claim WHEN refusal IS NOT NULL;

    -- The activity line, with every column the message pipeline sets for one (pipeline.ts APPEND_SQL).
    INSERT INTO messages (id, workspace_id, inbox_id, conversation_id, seq, direction, private, sender_type, sender_id,
                          identity_id, content_type, text, content, client_id, external_id, delivery_status, search)
      VALUES (p_message_id, p_workspace_id, conv.inbox_id, conv.id, conv.last_seq, 'activity', false, p_sender_type, p_sender_id,
              NULL, 'text', p_text, '{}'::jsonb, NULL, NULL, 'sent', to_tsvector('simple', p_search_doc))
      RETURNING * INTO msg;
    timings := timings || jsonb_build_object('message', (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric(12, 3));
    t := clock_timestamp();

    IF decision IS NOT NULL THEN
      INSERT INTO routing_decisions (workspace_id, conversation_id, agent_id, strategy, outcome, reason)
        VALUES (p_workspace_id, p_conversation_id, p_assignee_id, decision->>'strategy', decision->>'outcome', COALESCE(decision->'reason', '{}'::jsonb));
      UPDATE agent_presence p SET last_routed_at = now() WHERE p.user_id = p_assignee_id AND p.workspace_id = p_workspace_id;
      IF decision->>'team_id' IS NOT NULL THEN
        UPDATE team_routing tr SET last_agent_id = p_assignee_id WHERE tr.team_id = (decision->>'team_id')::uuid AND tr.workspace_id = p_workspace_id;
      END IF;
      timings := timings || jsonb_build_object('record', (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric(12, 3));
    END IF;
  END claim;

  timings := timings || jsonb_build_object('total', (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric(12, 3));
  IF refusal IS NOT NULL THEN
    RETURN jsonb_build_object('ok', false, 'reason', refusal, 'timings', timings);
  END IF;
  RETURN jsonb_build_object('ok', true, 'conversation', to_jsonb(conv), 'message', to_jsonb(msg) - 'search' - 'tx', 'timings', timings);
END;
$$;
