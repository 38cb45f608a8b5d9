import { useMemo, useState } from 'react';
import { Alert, Empty, Flex, Spin } from 'antd';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { useSchedules, useTeams } from './shared/directory.ts';
import { splitApiError } from './shared/issues.ts';
import { RoutingPage } from './shared/RoutingPage.tsx';
import { loadTeamSettings, type CachedTeamSettings } from './teams/teamCache.ts';
import { TeamRoutingCard } from './teams/TeamRoutingCard.tsx';

/** How each team hands out its conversations, how long they may wait, and when the team is open. */
export default function RoutingTeamsPage() {
  const { t } = useI18n();
  const session = useSession();
  const teams = useTeams();
  const schedules = useSchedules();
  const workspaceId = session.workspace.id;
  // Bumped when a card saved: re-reads the remembered settings of that team.
  const [cacheVersion, setCacheVersion] = useState(0);
  const cached = useMemo(() => {
    const m = new Map<string, CachedTeamSettings | null>();
    for (const team of teams.data ?? []) m.set(team.id, loadTeamSettings(workspaceId, team.id));
    return m;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [teams.data, workspaceId, cacheVersion]);

  const error = teams.error ?? schedules.error;
  return (
    <RoutingPage title={t('nav.routingTeams')} description={t('routing.teams.description')} error={error ? splitApiError(error).rest : null} maxWidth={1300}>
      <Alert type="info" showIcon title={t('routing.teams.readGap')} style={{ marginBottom: 16 }} data-testid="routing-team-read-gap" />
      {teams.data === undefined ? (
        <Flex justify="center" style={{ padding: 48 }}><Spin /></Flex>
      ) : teams.data.length === 0 ? (
        <Empty description={t('routing.teams.empty')} />
      ) : (
        <Flex vertical gap={16}>
          {teams.data.map((team) => (
            <TeamRoutingCard
              // A new key after a save resets the card's draft to the values the server confirmed.
              key={`${team.id}:${cached.get(team.id)?.savedAt ?? ''}`}
              team={team}
              teams={teams.data ?? []}
              schedules={schedules.data ?? []}
              workspaceId={workspaceId}
              cached={cached.get(team.id) ?? null}
              onCached={() => setCacheVersion((v) => v + 1)}
            />
          ))}
        </Flex>
      )}
    </RoutingPage>
  );
}
