import { App as AntApp, ConfigProvider, Spin } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { I18nProvider, useI18n } from './lib/i18n.tsx';
import { SessionProvider, useSessionState } from './lib/session.tsx';
import { AppShell } from './shell/AppShell.tsx';
import { LoginPage } from './shell/LoginPage.tsx';
import WorkbenchPage from './workbench/WorkbenchPage.tsx';
import UsersPage from './admin/UsersPage.tsx';
import TeamsPage from './admin/TeamsPage.tsx';
import InboxesPage from './admin/InboxesPage.tsx';
import CannedResponsesPage from './admin/CannedResponsesPage.tsx';
import ContactsPage from './admin/ContactsPage.tsx';
import FailedDeliveriesPage from './admin/channels/FailedDeliveriesPage.tsx';
import TokenPasswordPage from './admin/public/TokenPasswordPage.tsx';
import RoutingQueuePage from './routing/RoutingQueuePage.tsx';
import RoutingAgentsPage from './routing/RoutingAgentsPage.tsx';
import RoutingTeamsPage from './routing/RoutingTeamsPage.tsx';
import RoutingRulesPage from './routing/RoutingRulesPage.tsx';
import RoutingBusinessHoursPage from './routing/RoutingBusinessHoursPage.tsx';
import FlowsPage from './bot/flows/FlowsPage.tsx';
import IntentsPage from './bot/intents/IntentsPage.tsx';
import KnowledgePage from './bot/knowledge/KnowledgePage.tsx';
import BotSettingsPage from './bot/settings/BotSettingsPage.tsx';

function Gate() {
  const { state } = useSessionState();
  const location = useLocation();
  if (state.kind === 'loading') return <Spin fullscreen />;
  if (state.kind === 'anonymous') {
    // The links in invitation and password-reset messages.
    if (location.pathname === '/accept-invite') return <TokenPasswordPage mode="invite" />;
    if (location.pathname === '/reset-password') return <TokenPasswordPage mode="reset" />;
    if (location.pathname === '/login') return <LoginPage expired={state.expired} />;
    // Come back to the same page after signing in again (drafts are kept in localStorage).
    return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route path="/conversations/*" element={<WorkbenchPage />} />
        <Route path="/contacts/*" element={<ContactsPage />} />
        <Route path="/admin/users" element={<UsersPage />} />
        <Route path="/admin/teams" element={<TeamsPage />} />
        <Route path="/admin/inboxes/*" element={<InboxesPage />} />
        <Route path="/admin/canned-responses" element={<CannedResponsesPage />} />
        <Route path="/admin/failed-deliveries" element={<FailedDeliveriesPage />} />
        <Route path="/routing/queue" element={<RoutingQueuePage />} />
        <Route path="/routing/agents" element={<RoutingAgentsPage />} />
        <Route path="/routing/teams" element={<RoutingTeamsPage />} />
        <Route path="/routing/rules" element={<RoutingRulesPage />} />
        <Route path="/routing/hours" element={<RoutingBusinessHoursPage />} />
        <Route path="/admin/bot/flows/*" element={<FlowsPage />} />
        <Route path="/admin/bot/intents" element={<IntentsPage />} />
        <Route path="/admin/bot/knowledge" element={<KnowledgePage />} />
        <Route path="/admin/bot/settings" element={<BotSettingsPage />} />
        <Route path="*" element={<Navigate to={new URLSearchParams(location.search).get('next') ?? '/conversations'} replace />} />
      </Route>
    </Routes>
  );
}

function Themed() {
  const { locale } = useI18n();
  return (
    <ConfigProvider locale={locale === 'zh-CN' ? zhCN : enUS} theme={{ token: { colorPrimary: '#1677ff', borderRadius: 6 } }}>
      <AntApp>
        <SessionProvider>
          <BrowserRouter>
            <Gate />
          </BrowserRouter>
        </SessionProvider>
      </AntApp>
    </ConfigProvider>
  );
}

export function App() {
  return (
    <I18nProvider>
      <Themed />
    </I18nProvider>
  );
}
