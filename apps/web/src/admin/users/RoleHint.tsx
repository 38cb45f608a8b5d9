import type { Role } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';

/** One line under a role picker saying what the role may do, so nobody has to guess what "supervisor" means. */
export function RoleHint({ role, roles }: { role: string | undefined; roles: Role[] }) {
  const { t } = useI18n();
  if (!role) return null;
  const key = `admin.role.${role}.desc`;
  const text = t(key);
  if (text !== key) return <>{text}</>;
  const r = roles.find((x) => x.name === role);
  return r ? <>{t('admin.role.custom.desc', { n: r.permissions.length })}</> : null;
}
