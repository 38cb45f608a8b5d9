import { useCallback, useEffect, useState } from 'react';
import { Empty, Flex, Spin } from 'antd';
import { api } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { useSchedules, useTeams } from './shared/directory.ts';
import { splitApiError } from './shared/issues.ts';
import { RoutingPage } from './shared/RoutingPage.tsx';
import type { TeamRouting } from './shared/types.ts';
import type { TeamSettings } from './teams/teamSettings.ts';
import { TeamRoutingCard } from './teams/TeamRoutingCard.tsx';

/** How each team hands out its conversations, how long they may wait, and when the team is open. */
export default function RoutingTeamsPage() {
  const { t } = useI18n();
  const session = useSession();
  const teams = useTeams();
  const schedules = useSchedules();
  const [settings, setSettings] = useState<{ byTeam: Map<string, TeamSettings>; version: number } | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const load = useCallback(() => {
    api<(TeamRouting & { scheduleId: string | null })[]>('GET', '/routing/teams').then(
      (rows) => setSettings((prev) => ({ byTeam: new Map(rows.map(({ scheduleId, ...routing }) => [routing.teamId, { routing, scheduleId }])), version: (prev?.version ?? 0) + 1 })),
      setLoadError,
    );
  }, []);
  useEffect(load, [load, teams.data]);

  const error = teams.error ?? schedules.error ?? loadError;
  return (
    <RoutingPage title={t('nav.routingTeams')} description={t('routing.teams.description')} error={error ? splitApiError(error).rest : null} maxWidth={1300}>
      {teams.data === undefined || settings === null ? (
        <Flex justify="center" style={{ padding: 48 }}><Spin /></Flex>
      ) : teams.data.length === 0 ? (
        <Empty description={t('routing.teams.empty')} />
      ) : (
        <Flex vertical gap={16}>
          {teams.data.map((team) => (
            <TeamRoutingCard
              // A new key after a save resets the card's draft to the values the server confirmed.
              key={`${team.id}:${settings.version}`}
              team={team}
              teams={teams.data ?? []}
              schedules={schedules.data ?? []}
              workspaceId={session.workspace.id}
              cached={settings.byTeam.get(team.id) ?? null}
              onSaved={load}
            />
          ))}
        </Flex>
      )}
    </RoutingPage>
  );
}
