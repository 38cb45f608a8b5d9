import { Button, Input, Space, Tag, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, LockOutlined, UndoOutlined } from '@ant-design/icons';
import type { ChannelSecretInfo } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';

/** What the admin wants done with one stored credential when the settings are saved. */
export type SecretDraft = { mode: 'keep' } | { mode: 'replace'; value: string } | { mode: 'clear' };

/**
 * PUT semantics (UpdateInboxChannelBody): a value sets the secret, null deletes it, absent keeps it.
 * Untouched secrets are left out, so saving the other settings never overwrites a credential.
 */
export function secretsPatch(drafts: Record<string, SecretDraft | undefined>): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  for (const [name, d] of Object.entries(drafts)) {
    if (d?.mode === 'replace' && d.value !== '') out[name] = d.value;
    if (d?.mode === 'clear') out[name] = null;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The vault's hint already comes masked ("••••1234", or "••••" for short secrets); a bare "1234" is masked here. */
const masked = (hint: string | null): string => (hint === null ? '••••' : hint.startsWith('•') ? hint : `••••${hint}`);

/**
 * One credential as a form control: never shows or prefills the stored value, only whether it is set and
 * its last four characters; Replace opens an empty password input, Clear marks it for deletion on save.
 */
export function SecretField(props: { info: ChannelSecretInfo; value?: SecretDraft; onChange?: (d: SecretDraft) => void; disabled?: boolean }) {
  const { t } = useI18n();
  const { info } = props;
  const draft = props.value ?? { mode: 'keep' };
  const set = (d: SecretDraft) => props.onChange?.(d);
  const testId = `channel-secret-${info.name}`;

  if (draft.mode === 'replace') {
    return (
      <Space.Compact style={{ width: '100%', maxWidth: 520 }}>
        <Input.Password
          autoFocus
          autoComplete="new-password"
          value={draft.value}
          onChange={(e) => set({ mode: 'replace', value: e.target.value })}
          placeholder={t(info.set ? 'channels.secret.newValue' : 'channels.secret.value')}
          disabled={props.disabled}
          data-testid={`${testId}-input`}
        />
        {/* Cancelling replaces nothing: the stored value stays as it was. */}
        <Button icon={<UndoOutlined />} onClick={() => set({ mode: 'keep' })} disabled={props.disabled} data-testid={`${testId}-cancel`}>
          {t('common.cancel')}
        </Button>
      </Space.Compact>
    );
  }

  const clearing = draft.mode === 'clear';
  return (
    <Space wrap size={8} data-testid={testId} data-set={String(info.set && !clearing)}>
      {clearing ? (
        <Tag color="red" data-testid={`${testId}-state`}>{t('channels.secret.willClear')}</Tag>
      ) : info.set ? (
        <Tag color="green" icon={<LockOutlined />} data-testid={`${testId}-state`}>
          {t('channels.secret.set')} <Typography.Text code style={{ fontSize: 12 }}>{masked(info.hint)}</Typography.Text>
        </Tag>
      ) : (
        <Tag color={info.required ? 'orange' : 'default'} data-testid={`${testId}-state`}>{t('channels.secret.notSet')}</Tag>
      )}
      {clearing ? (
        <Button size="small" icon={<UndoOutlined />} onClick={() => set({ mode: 'keep' })} disabled={props.disabled} data-testid={`${testId}-undo`}>
          {t('channels.secret.undo')}
        </Button>
      ) : (
        <>
          <Button size="small" icon={<EditOutlined />} onClick={() => set({ mode: 'replace', value: '' })} disabled={props.disabled} data-testid={`${testId}-replace`}>
            {t(info.set ? 'channels.secret.replace' : 'channels.secret.setValue')}
          </Button>
          {info.set && (
            <Button size="small" danger icon={<DeleteOutlined />} onClick={() => set({ mode: 'clear' })} disabled={props.disabled} data-testid={`${testId}-clear`}>
              {t('channels.secret.clear')}
            </Button>
          )}
        </>
      )}
    </Space>
  );
}
