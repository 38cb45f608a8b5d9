import type { ChannelKindInfo, ChannelType } from '@huiliu/contracts';
import type { Translate } from '../../lib/i18n.tsx';
import { useLoad } from '../shared/useLoad.ts';
import { listChannelKinds } from './channelApi.ts';

/** The channel kinds this server can run (GET /api/v1/channels); the web widget is not among them. */
export function useChannelKinds() {
  return useLoad(() => listChannelKinds(), []);
}

/**
 * Options of the "channel" picker when creating an inbox: the web widget first (it has no adapter), then
 * every kind the server supports. While the catalogue loads (or if it fails) only the widget is offered.
 */
export function channelTypeOptions(kinds: ChannelKindInfo[] | undefined, t: Translate): { value: ChannelType; label: string }[] {
  const label = (kind: ChannelType, fallback: string) => {
    const key = `admin.channel.${kind}`;
    const text = t(key);
    return text !== key ? text : fallback;
  };
  return [{ value: 'web', label: t('admin.channel.web') }, ...(kinds ?? []).filter((k) => k.kind !== 'web').map((k) => ({ value: k.kind, label: label(k.kind, k.displayName) }))];
}
