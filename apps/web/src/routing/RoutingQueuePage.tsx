import { Button, Card, Col, Row, Tooltip } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { useI18n } from '../lib/i18n.tsx';
import { PresenceBoard } from './queue/PresenceBoard.tsx';
import { QueueTable } from './queue/QueueTable.tsx';
import { SummaryCards } from './queue/SummaryCards.tsx';
import { useLiveQueue } from './queue/useLiveQueue.ts';
import { useInboxes, useNameIndex, useTeams } from './shared/directory.ts';
import { splitApiError } from './shared/issues.ts';
import { RoutingPage } from './shared/RoutingPage.tsx';
import { useNow } from './shared/useNow.ts';

/** Supervisors' live view: who is waiting, for how long, and which agents have room to take them. */
export default function RoutingQueuePage() {
  const { t } = useI18n();
  const live = useLiveQueue();
  const now = useNow(1000);
  const teams = useTeams();
  const inboxes = useInboxes();
  const teamNames = useNameIndex(teams.data);
  const inboxNames = useNameIndex(inboxes.data);
  return (
    <RoutingPage
      title={t('nav.routingQueue')}
      description={t('routing.queue.description')}
      error={live.error ? splitApiError(live.error).rest : null}
      extra={
        <Tooltip title={t('routing.queue.liveHint')}>
          <Button icon={<ReloadOutlined />} onClick={live.refresh} data-testid="routing-queue-refresh">{t('routing.refresh')}</Button>
        </Tooltip>
      }
    >
      <SummaryCards items={live.items} agents={live.agents} skewMs={live.skewMs} now={now} />
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Card size="small" title={t('routing.queue.tableTitle')} styles={{ body: { padding: 0 } }}>
            <QueueTable items={live.items} skewMs={live.skewMs} now={now} teamNames={teamNames} inboxNames={inboxNames} />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <PresenceBoard agents={live.agents} now={now} />
        </Col>
      </Row>
    </RoutingPage>
  );
}
