import { useState } from 'react';
import { Segmented, Typography } from 'antd';
import { CloseOutlined, MessageFilled, SendOutlined } from '@ant-design/icons';
import type { WidgetSettings } from '@huiliu/contracts';
import { translate, useI18n, type Locale } from '../../lib/i18n.tsx';
import { HEX_COLOR, textOn } from './color.ts';

/**
 * A mock of the chat widget on a customer's page, drawn from the form's current (unsaved) values so the
 * admin sees a colour or greeting change before saving. It is a picture, not the widget: the real one
 * (apps/widget) loads config from the server; this one must not talk to anybody.
 */
export function WidgetPreview({ name, widget }: { name: string; widget: Partial<WidgetSettings> | undefined }) {
  const { t, locale: consoleLocale } = useI18n();
  const [open, setOpen] = useState(true);
  const color = widget?.color && HEX_COLOR.test(widget.color) ? widget.color : '#1677ff';
  const ink = textOn(color);
  const side = widget?.position === 'left' ? 'left' : 'right';
  // "auto" follows the visitor's browser; the admin's own console language is the best stand-in for it.
  const wl: Locale = widget?.locale === 'zh-CN' || widget?.locale === 'en' ? widget.locale : consoleLocale;
  const w = (key: string) => translate(wl, `admin.preview.${key}`);
  const greeting = widget?.greeting?.trim();

  return (
    <div>
      <Segmented<'open' | 'closed'>
        size="small"
        value={open ? 'open' : 'closed'}
        onChange={(v) => setOpen(v === 'open')}
        options={[{ value: 'open', label: t('admin.inboxes.preview.open') }, { value: 'closed', label: t('admin.inboxes.preview.closed') }]}
        style={{ marginBottom: 12 }}
      />
      <div
        data-testid="widget-preview"
        data-color={color}
        data-position={side}
        style={{ position: 'relative', height: 500, borderRadius: 10, overflow: 'hidden', border: '1px solid #e5e5e5', background: '#fff', boxShadow: '0 1px 2px rgba(0,0,0,.04)' }}
      >
        <FakeSite />
        {open && (
          <div
            data-testid="widget-preview-panel"
            style={{ position: 'absolute', bottom: 88, [side]: 16, width: 300, height: 360, borderRadius: 14, overflow: 'hidden', background: '#fff', boxShadow: '0 8px 28px rgba(0,0,0,.18)', display: 'flex', flexDirection: 'column' }}
          >
            <div data-testid="widget-preview-header" style={{ background: color, color: ink, padding: '14px 16px', display: 'flex', alignItems: 'center', gap: 10 }}>
              <div style={{ width: 34, height: 34, borderRadius: '50%', background: ink === '#ffffff' ? 'rgba(255,255,255,.25)' : 'rgba(0,0,0,.12)', display: 'grid', placeItems: 'center', fontWeight: 600 }}>
                {(name || 'H').slice(0, 1)}
              </div>
              <div style={{ flex: 1, minWidth: 0 }}>
                <div style={{ fontWeight: 600, whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis' }}>{name || w('untitled')}</div>
                <div style={{ fontSize: 12, opacity: 0.85 }}>{w('replyTime')}</div>
              </div>
              <CloseOutlined style={{ opacity: 0.85 }} />
            </div>
            <div style={{ flex: 1, background: '#f5f6f8', padding: 14, overflow: 'auto', display: 'flex', flexDirection: 'column', gap: 10 }}>
              {greeting && (
                <div data-testid="widget-preview-greeting" style={{ alignSelf: 'flex-start', maxWidth: '85%', background: '#fff', borderRadius: '4px 12px 12px 12px', padding: '8px 12px', fontSize: 13, boxShadow: '0 1px 2px rgba(0,0,0,.06)', whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                  {greeting}
                </div>
              )}
              {widget?.preChatForm ? (
                <PreChatMock color={color} ink={ink} w={w} />
              ) : (
                <div style={{ alignSelf: 'flex-end', maxWidth: '80%', background: color, color: ink, borderRadius: '12px 4px 12px 12px', padding: '8px 12px', fontSize: 13 }}>{w('sample')}</div>
              )}
            </div>
            {!widget?.preChatForm && (
              <div style={{ borderTop: '1px solid #eee', padding: '10px 12px', display: 'flex', alignItems: 'center', gap: 8 }}>
                <div style={{ flex: 1, color: '#999', fontSize: 13 }}>{w('placeholder')}</div>
                <SendOutlined style={{ color }} />
              </div>
            )}
          </div>
        )}
        <div
          data-testid="widget-preview-launcher"
          onClick={() => setOpen(!open)}
          style={{ position: 'absolute', bottom: 16, [side]: 16, width: 56, height: 56, borderRadius: '50%', background: color, color: ink, display: 'grid', placeItems: 'center', fontSize: 24, cursor: 'pointer', boxShadow: '0 4px 14px rgba(0,0,0,.22)' }}
        >
          {open ? <CloseOutlined /> : <MessageFilled />}
        </div>
      </div>
      <Typography.Paragraph type="secondary" style={{ marginTop: 8, fontSize: 12 }}>{t('admin.inboxes.preview.hint')}</Typography.Paragraph>
    </div>
  );
}

/** Grey blocks that read as "somebody's web shop", so the widget is seen where it will live. */
function FakeSite() {
  const bar = (width: string, height = 10, extra: object = {}) => <div style={{ width, height, borderRadius: 4, background: '#eef0f3', ...extra }} />;
  return (
    <div aria-hidden>
      <div style={{ height: 30, background: '#f3f4f6', borderBottom: '1px solid #e5e5e5', display: 'flex', alignItems: 'center', gap: 6, padding: '0 10px' }}>
        {['#ff5f57', '#febc2e', '#28c840'].map((c) => <span key={c} style={{ width: 9, height: 9, borderRadius: '50%', background: c }} />)}
        <div style={{ marginLeft: 8, flex: 1, height: 16, borderRadius: 8, background: '#fff', fontSize: 10, color: '#999', lineHeight: '16px', paddingLeft: 8 }}>shop.example.com</div>
      </div>
      <div style={{ padding: 18, display: 'flex', flexDirection: 'column', gap: 10 }}>
        {bar('40%', 16)}
        {bar('100%', 120, { background: '#f3f5f8' })}
        {bar('85%')}
        {bar('70%')}
        <div style={{ display: 'flex', gap: 10 }}>
          {bar('33%', 70)}
          {bar('33%', 70)}
          {bar('33%', 70)}
        </div>
        {bar('60%')}
      </div>
    </div>
  );
}

function PreChatMock({ color, ink, w }: { color: string; ink: string; w: (k: string) => string }) {
  const field = (label: string) => (
    <div style={{ marginBottom: 8 }}>
      <div style={{ fontSize: 12, color: '#666', marginBottom: 3 }}>{label}</div>
      <div style={{ height: 28, border: '1px solid #d9d9d9', borderRadius: 6, background: '#fff' }} />
    </div>
  );
  return (
    <div data-testid="widget-preview-prechat" style={{ background: '#fff', borderRadius: 10, padding: 12, boxShadow: '0 1px 2px rgba(0,0,0,.06)' }}>
      <div style={{ fontSize: 13, marginBottom: 10 }}>{w('prechatIntro')}</div>
      {field(w('name'))}
      {field(w('email'))}
      <div style={{ marginTop: 4, background: color, color: ink, borderRadius: 6, textAlign: 'center', padding: '6px 0', fontSize: 13 }}>{w('start')}</div>
    </div>
  );
}
