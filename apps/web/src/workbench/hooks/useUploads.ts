import { useCallback, useRef, useState } from 'react';
import type { AttachmentRef } from '@huiliu/contracts';
import { upload } from '../../lib/api.ts';
import type { DraftAttachment } from '../../lib/drafts.ts';
import { formatBytes } from '../../lib/format.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { typeAllowed, useUploadLimits } from './useUploadLimits.ts';

/** The API accepts up to 10 attachments per message. */
export const MAX_ATTACHMENTS = 10;

export interface UploadProgress {
  key: number;
  fileName: string;
  fraction: number;
}

/**
 * Files picked, pasted or dropped into the composer: checked against the server's limits first (a clear
 * message instead of a wasted upload), then uploaded with progress. The server checks again (by content,
 * not by name) and its message is shown when it refuses.
 */
export function useUploads(current: number, onUploaded: (a: DraftAttachment) => void) {
  const { t } = useI18n();
  const limits = useUploadLimits();
  const [progress, setProgress] = useState<UploadProgress[]>([]);
  const [errors, setErrors] = useState<string[]>([]);
  const nextKey = useRef(0);
  const count = useRef(current);
  count.current = current;

  const add = useCallback(
    (files: Iterable<File>) => {
      const problems: string[] = [];
      let slots = MAX_ATTACHMENTS - count.current - progress.length;
      for (const file of files) {
        if (slots <= 0) {
          problems.push(t('composer.tooMany', { max: MAX_ATTACHMENTS }));
          break;
        }
        if (limits && file.size > limits.maxBytes) {
          problems.push(t('composer.tooLarge', { name: file.name, size: formatBytes(file.size), max: formatBytes(limits.maxBytes) }));
          continue;
        }
        // Browsers leave the type empty for unknown extensions: the server decides those by content.
        if (limits && file.type && limits.contentTypes.length > 0 && !typeAllowed(file.type, limits.contentTypes)) {
          problems.push(t('composer.badType', { name: file.name, type: file.type }));
          continue;
        }
        if (file.size === 0) {
          problems.push(t('composer.emptyFile', { name: file.name }));
          continue;
        }
        slots--;
        const key = nextKey.current++;
        setProgress((p) => [...p, { key, fileName: file.name, fraction: 0 }]);
        upload<AttachmentRef>('/attachments', file, (fraction) => setProgress((p) => p.map((x) => (x.key === key ? { ...x, fraction } : x))))
          .then((a) => onUploaded({ id: a.id, fileName: a.fileName, contentType: a.contentType, size: a.size }))
          .catch((e: unknown) => setErrors((prev) => [...prev, `${file.name}: ${e instanceof Error ? e.message : String(e)}`]))
          .finally(() => setProgress((p) => p.filter((x) => x.key !== key)));
      }
      setErrors(problems);
    },
    [limits, onUploaded, progress.length, t],
  );

  const clearErrors = useCallback(() => setErrors([]), []);
  return { add, progress, errors, clearErrors, limits };
}
