import { useCallback, useEffect, useMemo, useRef, useState, type ClipboardEvent, type DragEvent, type KeyboardEvent } from 'react';
import { Alert, Button, Input, Progress, Switch, Tag, Tooltip, type GetRef } from 'antd';
import { FileOutlined, LockOutlined, PaperClipOutlined, PictureOutlined, SendOutlined } from '@ant-design/icons';
import { createClientId } from '@huiliu/client';
import type { CannedResponse, Conversation } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { clearDraft, loadDraft, saveDraft, type DraftAttachment } from '../lib/drafts.ts';
import { formatBytes } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { CannedMenu } from './CannedMenu.tsx';
import { BotSuggestions } from './BotAssist.tsx';
import { filterCanned, useCanned } from './hooks/useCanned.ts';
import { useToastError } from './hooks/useToastError.ts';
import { useUploads } from './hooks/useUploads.ts';
import { rememberAttachmentNames } from './pendingAttachments.ts';
import { useDirectory } from './hooks/useDirectory.tsx';
import { SendWindowNotice } from './channels/SendWindowNotice.tsx';
import { acceptFor, useSendWindow } from './channels/useSendWindow.ts';

const MAX_TEXT_BYTES = 64 * 1024;
/** Typing stops being announced this long after the last keystroke. */
const TYPING_IDLE_MS = 4_000;
const utf8 = new TextEncoder();

/** The `/word` right before the caret, if the agent is asking for a canned response. */
function cannedQuery(text: string, caret: number): { start: number; query: string } | null {
  const m = /(^|\s)\/([^\s/]*)$/.exec(text.slice(0, caret));
  if (!m) return null;
  return { start: caret - m[2]!.length - 1, query: m[2]! };
}

interface Props {
  conversation: Conversation;
}

/**
 * Reply or private note. Enter sends, Shift+Enter breaks the line (Enter while an IME is composing
 * Chinese is left to the IME). The draft — text, note mode and uploaded attachments — is written to
 * localStorage on every change. Sending goes through the chat client's outbox, which shows the message
 * at once and retries it until the server has it.
 */
export function Composer({ conversation }: Props) {
  const { t } = useI18n();
  const { chat, user, can } = useSession();
  const toastError = useToastError();
  const id = conversation.id;
  const canReply = can('conversation.reply');
  const canNote = can('conversation.note');

  const initial = useMemo(() => loadDraft(user.id, id), [user.id, id]);
  const [text, setText] = useState(initial?.text ?? '');
  const [isPrivate, setPrivate] = useState(canReply ? (initial?.private ?? false) && canNote : canNote);
  const [attachments, setAttachments] = useState<DraftAttachment[]>(initial?.attachments ?? []);
  const [caret, setCaret] = useState(0);
  const [cannedClosed, setCannedClosed] = useState(false);
  const [activeCanned, setActiveCanned] = useState(0);
  const [rendering, setRendering] = useState(false);
  const [sendError, setSendError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const area = useRef<GetRef<typeof Input.TextArea>>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const onUploaded = useCallback((a: DraftAttachment) => setAttachments((prev) => [...prev, a]), []);
  const uploads = useUploads(attachments.length, onUploaded);
  // External channels: what the send window allows now, and which media the channel carries.
  const sendWindow = useSendWindow(id, useDirectory().inboxById.get(conversation.inboxId)?.channelType);
  const windowClosed = !isPrivate && sendWindow.status !== null && !sendWindow.status.allowed;
  const media = isPrivate ? acceptFor(null) : acceptFor(sendWindow.status);

  // Every change is persisted at once: a reload or an expired session must never cost the agent a draft.
  useEffect(() => {
    saveDraft(user.id, id, { text, private: isPrivate, attachments });
  }, [user.id, id, text, isPrivate, attachments]);

  const stopTyping = useCallback(() => {
    clearTimeout(typingTimer.current);
    chat.typing(id, false);
  }, [chat, id]);
  useEffect(() => stopTyping, [stopTyping]);

  const query = cannedClosed ? null : cannedQuery(text, caret);
  const canned = useCanned(query !== null);
  const matches = useMemo(() => (query ? filterCanned(canned.items, query.query) : []), [canned.items, query]);
  useEffect(() => setActiveCanned(0), [query?.query]);

  const textarea = () => area.current?.resizableTextArea?.textArea ?? null;
  const syncCaret = () => setCaret(textarea()?.selectionStart ?? text.length);

  const onChange = (value: string) => {
    setText(value);
    setCaret(textarea()?.selectionStart ?? value.length);
    setCannedClosed(false);
    setSendError(null);
    // Customers never see that someone is writing a private note.
    if (!isPrivate && value.trim()) {
      chat.typing(id, true);
      clearTimeout(typingTimer.current);
      typingTimer.current = setTimeout(() => chat.typing(id, false), TYPING_IDLE_MS);
    } else if (!value.trim()) stopTyping();
  };

  const pickCanned = async (c: CannedResponse) => {
    if (!query) return;
    const { start } = query;
    const end = caret;
    setRendering(true);
    try {
      const { text: rendered } = await api<{ text: string }>('POST', `/canned-responses/${c.id}/render`, { conversationId: id });
      const next = text.slice(0, start) + rendered + text.slice(end);
      setText(next);
      const pos = start + rendered.length;
      setCaret(pos);
      requestAnimationFrame(() => {
        const el = textarea();
        el?.focus();
        el?.setSelectionRange(pos, pos);
      });
    } catch (e) {
      toastError(e);
    } finally {
      setRendering(false);
    }
  };

  /** Agent assist: a suggested answer goes in at the caret (replacing a selection), ready to edit. */
  const insertText = (snippet: string) => {
    const el = textarea();
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? start;
    onChange(text.slice(0, start) + snippet + text.slice(end));
    const pos = start + snippet.length;
    setCaret(pos);
    requestAnimationFrame(() => {
      textarea()?.focus();
      textarea()?.setSelectionRange(pos, pos);
    });
  };

  const send = () => {
    const body = text.trim();
    if (!body && attachments.length === 0) return;
    if (uploads.progress.length > 0) {
      setSendError(t('composer.waitUploads'));
      return;
    }
    if (utf8.encode(body).length > MAX_TEXT_BYTES) {
      setSendError(t('composer.tooLong'));
      return;
    }
    if (!(isPrivate ? canNote : canReply)) return;
    if (windowClosed) return;
    const contentType = body ? 'text' : attachments.every((a) => a.contentType.startsWith('image/')) ? 'image' : 'file';
    const clientId = createClientId();
    rememberAttachmentNames(clientId, attachments.map((a) => a.fileName));
    const handle = chat.send(id, { clientId, text: body, private: isPrivate, contentType, attachmentIds: attachments.map((a) => a.id) });
    setText('');
    setAttachments([]);
    setCaret(0);
    setSendError(null);
    uploads.clearErrors();
    clearDraft(user.id, id);
    stopTyping();
    // The bubble shows a refusal too (with retry); the toast says why right away.
    void handle.result.then((r) => {
      if (!r.ok && r.error.code !== 'cancelled') toastError(new Error(r.error.message));
    });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing || e.keyCode === 229) return; // IME (pinyin) is choosing characters
    if (query && rendering) {
      if (e.key === 'Enter') e.preventDefault(); // the chosen response is on its way; do not send "/code"
      return;
    }
    if (query) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        if (matches.length === 0) return;
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActiveCanned((i) => (i + step + matches.length) % matches.length);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && matches[activeCanned]) {
        e.preventDefault();
        void pickCanned(matches[activeCanned]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setCannedClosed(true);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      send();
    }
  };

  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = [...e.clipboardData.files];
    if (files.length > 0) {
      e.preventDefault();
      uploads.add(files);
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (e.dataTransfer.files.length) uploads.add([...e.dataTransfer.files]);
  };

  if (!canReply && !canNote) {
    return (
      <div className="wb-composer">
        <Alert type="info" showIcon title={t('composer.noPermission')} />
      </div>
    );
  }

  const errors = [...uploads.errors, ...(sendError ? [sendError] : [])];
  const empty = !text.trim() && attachments.length === 0;

  return (
    <div
      className={`wb-composer${isPrivate ? ' is-private' : ''}`}
      data-testid="composer"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      style={dragging ? { outline: '2px dashed #1677ff', outlineOffset: -4 } : undefined}
    >
      {query && <CannedMenu items={matches} active={activeCanned} loading={canned.loading || rendering} error={canned.error} query={query.query} onPick={(c) => void pickCanned(c)} onHover={setActiveCanned} />}
      {(attachments.length > 0 || uploads.progress.length > 0) && (
        <div className="wb-chips">
          {attachments.map((a) => (
            <Tag
              key={a.id}
              closable
              onClose={() => setAttachments((prev) => prev.filter((x) => x.id !== a.id))}
              icon={a.contentType.startsWith('image/') ? <PictureOutlined /> : <FileOutlined />}
              data-testid="composer-attachment"
              style={{ marginInlineEnd: 0 }}
            >
              {a.fileName} · {formatBytes(a.size)}
            </Tag>
          ))}
          {uploads.progress.map((p) => (
            <div key={p.key} data-testid="composer-progress" style={{ width: 200, fontSize: 12 }}>
              <div style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>{p.fileName}</div>
              <Progress percent={Math.round(p.fraction * 100)} size="small" />
            </div>
          ))}
        </div>
      )}
      {errors.length > 0 && (
        <Alert
          type="error"
          showIcon
          closable={{ onClose: () => {
            uploads.clearErrors();
            setSendError(null);
          } }}
          style={{ marginBottom: 6 }}
          data-testid="composer-error"
          title={errors.length === 1 ? errors[0] : (
            <ul style={{ margin: 0, paddingInlineStart: 18 }}>
              {errors.map((e, i) => (
                <li key={i}>{e}</li>
              ))}
            </ul>
          )}
        />
      )}
      {!isPrivate && sendWindow.status && (
        <SendWindowNotice status={sendWindow.status} conversationId={id} textLength={text.trim().length} onTemplateSent={sendWindow.reload} />
      )}
      {!windowClosed && <BotSuggestions conversationId={id} onInsert={insertText} />}
      <Input.TextArea
        ref={area}
        disabled={windowClosed}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        onKeyUp={syncCaret}
        onClick={syncCaret}
        onPaste={onPaste}
        onBlur={() => setCannedClosed(true)}
        onFocus={() => setCannedClosed(false)}
        autoSize={{ minRows: 2, maxRows: 8 }}
        placeholder={t(isPrivate ? 'composer.placeholderNote' : 'composer.placeholder')}
        data-testid="composer-input"
        aria-label={t(isPrivate ? 'composer.placeholderNote' : 'composer.placeholder')}
        variant={isPrivate ? 'filled' : 'outlined'}
      />
      <div className="wb-composer-bar">
        {media.canAttach && (
          <Tooltip title={t('composer.attach')}>
            <Button icon={<PaperClipOutlined />} onClick={() => fileInput.current?.click()} aria-label={t('composer.attach')} data-testid="composer-attach" disabled={(!canReply && !canNote) || windowClosed} />
          </Tooltip>
        )}
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          accept={media.accept}
          data-testid="composer-file"
          onChange={(e) => {
            if (e.target.files?.length) uploads.add([...e.target.files]);
            e.target.value = ''; // picking the same file again must fire change again
          }}
        />
        <Tooltip title={!canReply ? t('composer.noteOnly') : !canNote ? t('composer.replyOnly') : t('composer.privateHint')}>
          <span style={{ display: 'inline-flex', alignItems: 'center', gap: 6 }}>
            <Switch
              size="small"
              checked={isPrivate}
              disabled={!canReply || !canNote}
              onChange={(v) => {
                setPrivate(v);
                if (v) stopTyping();
                textarea()?.focus();
              }}
              data-testid="composer-private"
              aria-label={t('composer.private')}
            />
            <span style={{ color: isPrivate ? '#ad6800' : undefined }}>
              {isPrivate && <LockOutlined />} {t('composer.private')}
            </span>
          </span>
        </Tooltip>
        <span className="wb-composer-hint">{t('composer.hint')}</span>
        <Button type="primary" icon={<SendOutlined />} onClick={send} disabled={empty || uploads.progress.length > 0 || windowClosed} data-testid="composer-send">
          {t(isPrivate ? 'composer.sendNote' : 'composer.send')}
        </Button>
      </div>
    </div>
  );
}
