import { useRef, useState } from 'react';
import { Input, Tag, type InputRef } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { useI18n } from '../../lib/i18n.tsx';

/** Mirrors `Tag` in packages/contracts: 1–50 characters after trimming; at most 50 tags. */
const MAX_TAG = 50;
const MAX_TAGS = 50;

/** Tags as closable chips plus a "+ tag" chip that turns into an input (Enter or blur adds; duplicates are ignored). */
export function TagsField(props: { value?: string[]; onChange?: (tags: string[]) => void; disabled?: boolean }) {
  const { t } = useI18n();
  const tags = props.value ?? [];
  const [adding, setAdding] = useState(false);
  const [text, setText] = useState('');
  const input = useRef<InputRef>(null);

  const commit = () => {
    // Pasting "a, b; c" adds three tags: that is how people list tags in spreadsheets.
    const fresh = text.split(/[,;，；]/).map((s) => s.trim().slice(0, MAX_TAG)).filter((s) => s && !tags.includes(s));
    if (fresh.length) props.onChange?.([...tags, ...new Set(fresh)].slice(0, MAX_TAGS));
    setText('');
    setAdding(false);
  };

  return (
    <div style={{ display: 'flex', flexWrap: 'wrap', gap: 6 }} data-testid="contact-tags">
      {tags.map((tag) => (
        <Tag key={tag} closable={!props.disabled} onClose={() => props.onChange?.(tags.filter((x) => x !== tag))} style={{ marginInlineEnd: 0 }}>
          {tag}
        </Tag>
      ))}
      {!props.disabled &&
        tags.length < MAX_TAGS &&
        (adding ? (
          <Input
            ref={input}
            size="small"
            autoFocus
            style={{ width: 120 }}
            value={text}
            maxLength={200}
            onChange={(e) => setText(e.target.value)}
            onPressEnter={(e) => {
              e.preventDefault();
              commit();
            }}
            onBlur={commit}
            data-testid="contact-tag-input"
          />
        ) : (
          <Tag onClick={() => setAdding(true)} style={{ borderStyle: 'dashed', cursor: 'pointer', background: '#fff', marginInlineEnd: 0 }} data-testid="contact-tag-add">
            <PlusOutlined /> {t('admin.contacts.addTag')}
          </Tag>
        ))}
    </div>
  );
}
