import { h, icon } from '../dom.ts';
import type { Translate } from '../i18n.ts';

/** Common emoji, shopping and service flavoured; a full picker would cost more than the whole widget. */
const EMOJI = [...'😀😂😊😍🥰😘😉😎🤔😅😭😢😡😴🤗😮👍👎👏🙏💪👌🤝👋❤️🎉🔥✨⭐✅❌❓📦🚚🛒💰🎁📱⏰'.matchAll(/\p{Extended_Pictographic}\uFE0F?/gu)].map((m) => m[0]);

export interface ComposerActions {
  send(text: string): void;
  typing(): void;
  file(file: File): void;
}

/** The input row: emoji picker, attach button (hidden file input), auto-growing textarea, send button. */
export function createComposer(t: Translate, actions: ComposerActions) {
  const input = h('textarea', { rows: 1, placeholder: t('placeholder'), 'aria-label': t('placeholder'), 'data-testid': 'hl-input', maxlength: 20000 });
  const send = h('button', { type: 'button', class: 'ib sendb', 'aria-label': t('send'), title: t('send'), 'data-testid': 'hl-send', disabled: true }, icon('send', 18));
  const file = h('input', { type: 'file', hidden: true, tabindex: -1, 'data-testid': 'hl-file' });
  const emojiBtn = h('button', { type: 'button', class: 'ib tool', 'aria-label': t('emoji'), title: t('emoji'), 'aria-expanded': 'false', 'aria-haspopup': 'true' }, icon('emoji'));
  const attach = h('button', { type: 'button', class: 'ib tool', 'aria-label': t('attach'), title: t('attach') }, icon('attach'));
  let picker: HTMLElement | null = null;

  const refresh = () => {
    send.disabled = input.value.trim() === '';
    // Auto-grow up to the CSS max-height, then scroll. While the panel is hidden scrollHeight is 0:
    // keep the stylesheet's one-line height then.
    input.style.height = '';
    if (input.scrollHeight > 36) input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
  };
  const submit = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    refresh();
    actions.send(text);
    input.focus();
  };
  const insert = (text: string) => {
    const { selectionStart: s, selectionEnd: e, value } = input;
    input.value = value.slice(0, s) + text + value.slice(e);
    input.selectionStart = input.selectionEnd = s + text.length;
    refresh();
  };
  const togglePicker = (open: boolean) => {
    if (open && !picker) {
      picker = h('div', { class: 'picker', role: 'group', 'aria-label': t('emoji') });
      for (const e of EMOJI) {
        picker.append(h('button', { type: 'button', onclick: () => (insert(e), togglePicker(false), input.focus()) }, e));
      }
      root.append(picker);
    }
    if (picker) picker.hidden = !open;
    emojiBtn.setAttribute('aria-expanded', String(open));
    if (open) (picker?.firstElementChild as HTMLElement | null)?.focus();
  };
  const pickerOpen = () => !!picker && !picker.hidden;

  input.addEventListener('input', () => {
    refresh();
    if (input.value) actions.typing();
  });
  input.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter breaks the line. Never while an IME (pinyin…) is composing: that Enter
    // picks the candidate. keyCode 229 covers Safari, which ends composition before keydown.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  // Pasted screenshots are the most common "file" in support chats.
  input.addEventListener('paste', (e) => {
    const f = e.clipboardData?.files[0];
    if (f) {
      e.preventDefault();
      actions.file(f);
    }
  });
  send.addEventListener('click', submit);
  emojiBtn.addEventListener('click', () => togglePicker(!pickerOpen()));
  attach.addEventListener('click', () => file.click());
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    // Reset so picking the same file again (after an error) fires `change` again.
    file.value = '';
    if (f) actions.file(f);
  });

  const root = h('div', { class: 'comp' }, emojiBtn, attach, input, file, send);
  return {
    el: root,
    input,
    setAccept(types: readonly string[] | undefined) {
      if (types?.length) file.accept = types.map((x) => x.split(';')[0]).join(',');
    },
    /** Esc closes the picker first; returns whether it did. */
    closePicker(): boolean {
      if (!pickerOpen()) return false;
      togglePicker(false);
      emojiBtn.focus();
      return true;
    },
    setDraft(text: string) {
      input.value = text;
      refresh();
    },
  };
}

export type Composer = ReturnType<typeof createComposer>;
