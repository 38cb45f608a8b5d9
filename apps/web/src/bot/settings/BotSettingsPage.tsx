import { useState } from 'react';
import { Tabs } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';
import { AdminPage } from '../../admin/shared/AdminPage.tsx';
import { BotAnalyticsPanel } from './BotAnalyticsPanel.tsx';
import { LlmCard } from './LlmCard.tsx';
import { SettingsForm } from './SettingsForm.tsx';

/** Bot settings (where it answers, what it says, when it hands over), the optional LLM provider, analytics. */
export default function BotSettingsPage() {
  const { t } = useI18n();
  const [tab, setTab] = useState(() => new URLSearchParams(window.location.search).get('tab') ?? 'settings');
  return (
    <AdminPage title={t('nav.botSettings')} description={t('bot.settings.description')} testId="bot-settings-page">
      <Tabs
        activeKey={tab}
        onChange={setTab}
        destroyOnHidden={false}
        items={[
          { key: 'settings', label: t('bot.settings.tab.settings'), children: <SettingsForm /> },
          { key: 'llm', label: <span data-testid="tab-llm">{t('bot.settings.tab.llm')}</span>, children: <LlmCard /> },
          { key: 'analytics', label: <span data-testid="tab-analytics">{t('bot.settings.tab.analytics')}</span>, children: <BotAnalyticsPanel /> },
        ]}
      />
    </AdminPage>
  );
}
