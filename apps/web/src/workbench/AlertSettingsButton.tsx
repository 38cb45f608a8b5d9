import { useState } from 'react';
import { App, Button, Popover, Space, Switch, Tooltip, Typography } from 'antd';
import { BellOutlined, MutedOutlined, SoundOutlined } from '@ant-design/icons';
import { useI18n } from '../lib/i18n.tsx';
import { desktopPermission, playChime, requestDesktopPermission, type AlertSettings } from '../lib/notify.ts';

/** Sound on/off and desktop notifications; the browser's permission is asked only from this toggle. */
export function AlertSettingsButton({ settings, onChange }: { settings: AlertSettings; onChange: (s: AlertSettings) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [permission, setPermission] = useState(desktopPermission);

  const toggleDesktop = async (on: boolean) => {
    if (!on) return onChange({ ...settings, desktop: false });
    const p = await requestDesktopPermission();
    setPermission(p);
    if (p === 'granted') onChange({ ...settings, desktop: true });
    else void message.warning(t(p === 'unsupported' ? 'alerts.unsupported' : 'alerts.denied'));
  };

  const content = (
    <Space orientation="vertical" size={10} style={{ width: 260 }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <span>{t('alerts.sound')}</span>
        <Switch
          size="small"
          checked={settings.sound}
          onChange={(sound) => {
            onChange({ ...settings, sound });
            if (sound) playChime(); // a sample, and it unlocks audio for this page
          }}
          data-testid="alerts-sound"
        />
      </Space>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <span>{t('alerts.desktop')}</span>
        <Switch size="small" checked={settings.desktop && permission === 'granted'} onChange={(on) => void toggleDesktop(on)} data-testid="alerts-desktop" />
      </Space>
      {permission === 'denied' && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('alerts.denied')}</Typography.Text>}
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('alerts.explain')}</Typography.Text>
    </Space>
  );

  return (
    <Popover content={content} title={t('alerts.title')} trigger="click" placement="bottomRight">
      <Tooltip title={t('alerts.title')}>
        <Button
          icon={settings.sound ? (settings.desktop ? <BellOutlined /> : <SoundOutlined />) : <MutedOutlined />}
          aria-label={t('alerts.title')}
          data-testid="alerts-button"
        />
      </Tooltip>
    </Popover>
  );
}
