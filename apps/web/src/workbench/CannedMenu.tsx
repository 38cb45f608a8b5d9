import { useEffect, useRef } from 'react';
import { Spin } from 'antd';
import type { CannedResponse } from '@huiliu/contracts';
import { useI18n } from '../lib/i18n.tsx';

interface Props {
  items: CannedResponse[];
  active: number;
  loading: boolean;
  error: string | null;
  query: string;
  onPick: (c: CannedResponse) => void;
  onHover: (index: number) => void;
}

/** The `/` popup above the composer; the textarea keeps focus and drives it with arrows, Enter and Esc. */
export function CannedMenu({ items, active, loading, error, query, onPick, onHover }: Props) {
  const { t } = useI18n();
  const list = useRef<HTMLDivElement>(null);
  useEffect(() => {
    list.current?.querySelector('.is-active')?.scrollIntoView({ block: 'nearest' });
  }, [active]);
  return (
    <div className="wb-canned" data-testid="canned-menu" role="listbox" aria-label={t('canned.title')} ref={list}>
      {loading && items.length === 0 && (
        <div className="wb-canned-item">
          <Spin size="small" />
        </div>
      )}
      {error && <div className="wb-canned-item" style={{ color: '#cf1322' }}>{error}</div>}
      {!loading && !error && items.length === 0 && (
        <div className="wb-canned-item" style={{ color: 'rgba(0,0,0,.45)' }}>{t('canned.none', { query })}</div>
      )}
      {items.map((c, i) => (
        <div
          key={c.id}
          className={`wb-canned-item${i === active ? ' is-active' : ''}`}
          role="option"
          aria-selected={i === active}
          data-testid="canned-item"
          data-short-code={c.shortCode}
          // mousedown, not click: the textarea must not lose focus (and close the menu) first.
          onMouseDown={(e) => {
            e.preventDefault();
            onPick(c);
          }}
          onMouseEnter={() => onHover(i)}
        >
          <span className="wb-canned-code">/{c.shortCode}</span>
          <span className="wb-canned-text">{c.content}</span>
        </div>
      ))}
    </div>
  );
}
