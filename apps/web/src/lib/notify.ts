/**
 * New-message alerts: a short chime made with WebAudio (no audio files to ship or cache) and desktop
 * notifications. Browsers only allow `Notification.requestPermission()` from a user gesture and keep an
 * AudioContext suspended until the page was interacted with, so permission is asked from a toggle, never
 * on load, and the chime simply stays silent until the agent clicked somewhere once.
 */
export interface AlertSettings {
  sound: boolean;
  desktop: boolean;
}

const KEY = 'huiliu.alerts';

export function loadAlertSettings(): AlertSettings {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Partial<AlertSettings> | null;
    return { sound: raw?.sound !== false, desktop: raw?.desktop === true };
  } catch {
    return { sound: true, desktop: false };
  }
}

export function saveAlertSettings(settings: AlertSettings): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    /* storage disabled */
  }
}

let audio: AudioContext | null = null;

/** Two soft rising tones, ~0.3 s. */
export function playChime(): void {
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    audio ??= new Ctx();
    const ctx = audio;
    if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
    const start = ctx.currentTime + 0.01;
    [880, 1320].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      const t0 = start + i * 0.12;
      gain.gain.setValueAtTime(0.0001, t0);
      gain.gain.exponentialRampToValueAtTime(0.18, t0 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0);
      osc.stop(t0 + 0.2);
    });
  } catch {
    // No audio device or the browser refused: alerts are a convenience, never an error.
  }
}

export type DesktopPermission = NotificationPermission | 'unsupported';

export function desktopPermission(): DesktopPermission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** Must be called from a click handler. */
export async function requestDesktopPermission(): Promise<DesktopPermission> {
  if (typeof Notification === 'undefined') return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

export function showDesktopNotification(title: string, body: string, tag: string, onClick: () => void): void {
  if (desktopPermission() !== 'granted') return;
  try {
    // `tag` replaces an earlier notification of the same conversation instead of stacking them.
    const n = new Notification(title, { body: body.slice(0, 200), tag, silent: true });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch {
    /* e.g. Chrome on Android needs a service worker; not worth failing for */
  }
}
