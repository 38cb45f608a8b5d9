import { h } from '../dom.ts';
import type { Translate } from '../i18n.ts';

/**
 * Deliberately loose (something@something.tld): the server validates for real and its message is shown
 * when it disagrees; this only catches typos before a round trip.
 */
export const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;

/** Marks a field invalid (for screen readers too) and focuses it; returns the message for the alert. */
function invalid(input: HTMLInputElement, message: string, onError: (m: string) => void): void {
  input.setAttribute('aria-invalid', 'true');
  input.focus();
  onError(message);
}

function field(label: string, input: HTMLInputElement): HTMLElement {
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
  return h('label', { class: 'field' }, h('span', null, label), input);
}

/** Name + email before the first message, when the inbox asks for it. */
export function createPrechat(t: Translate, onSubmit: (name: string, email: string) => Promise<void>, onError: (m: string) => void) {
  const name = h('input', { class: 'inp', type: 'text', name: 'name', autocomplete: 'name', maxlength: 200, required: true, 'data-testid': 'hl-prechat-name' });
  const email = h('input', { class: 'inp', type: 'email', name: 'email', autocomplete: 'email', maxlength: 200, required: true, 'data-testid': 'hl-prechat-email' });
  const submit = h('button', { class: 'btn wide', type: 'submit', 'data-testid': 'hl-prechat-submit' }, t('start'));
  const form = h(
    'form',
    { class: 'card', novalidate: true },
    h('p', null, t('prechatTitle')),
    field(t('name'), name),
    field(t('email'), email),
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = name.value.trim();
    const m = email.value.trim();
    if (!n) return invalid(name, t('nameRequired'), onError);
    if (!EMAIL_RE.test(m)) return invalid(email, t('emailInvalid'), onError);
    submit.disabled = true;
    void onSubmit(n, m).finally(() => (submit.disabled = false));
  });
  return form;
}

/** "Leave your email and we'll reply there", shown inline when nobody answers. */
export function createEmailOffer(t: Translate, onSave: (email: string) => Promise<void>, onError: (m: string) => void) {
  const email = h('input', { class: 'inp', type: 'email', autocomplete: 'email', maxlength: 200, 'aria-label': t('email'), placeholder: 'name@example.com', 'data-testid': 'hl-email-input' });
  const save = h('button', { class: 'btn', type: 'submit', 'data-testid': 'hl-email-submit' }, t('save'));
  const form = h('form', { class: 'card', novalidate: true, 'data-testid': 'hl-email-offer' }, h('p', null, t('offerTitle')), h('div', { class: 'hz' }, email, save));
  email.addEventListener('input', () => email.removeAttribute('aria-invalid'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const m = email.value.trim();
    if (!EMAIL_RE.test(m)) return invalid(email, t('emailInvalid'), onError);
    save.disabled = true;
    void onSave(m).finally(() => (save.disabled = false));
  });
  return form;
}

export function emailSaved(t: Translate, email: string): HTMLElement {
  return h('div', { class: 'card ok', role: 'status', 'data-testid': 'hl-email-saved' }, t('saved', { email }));
}
