import { api, expectStatus, loopbackAddress } from '../bench/http.ts';

/**
 * Job traffic for the "kill -9 a worker mid-job" fault: messages in already assigned conversations enqueue
 * no job, but a new conversation with a first message does (routing). A few extra widget visitors, each on
 * its own loopback address (127.3.x.y) and under the endpoint's per-client limit (20/min), keep opening
 * conversations through the balancer while the run lasts. The client id of the first message makes a retry
 * return the same conversation, so failed attempts (node down) are simply repeated.
 */
export interface Opener {
  stop(): Promise<void>;
  stats(): { opened: number; failed: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startOpener(base: string, publicId: string, sessions: number, perSessionIntervalMs = 4000): Promise<Opener> {
  const tokens = await Promise.all(
    Array.from({ length: sessions }, async (_, i) => {
      const s = await expectStatus(base, 'POST', '/api/widget/v1/sessions', 200, { localAddress: loopbackAddress(3, i), body: { inboxPublicId: publicId, name: `Chaos opener ${i + 1}` } });
      return s.visitorToken as string;
    }),
  );
  let stopped = false;
  let opened = 0;
  let failed = 0;
  const loops = tokens.map(async (token, i) => {
    await sleep((perSessionIntervalMs / sessions) * i); // spread the sessions over the interval
    for (let n = 0; !stopped; n++) {
      const clientId = `open-${i}-${n}`;
      for (let attempt = 0; attempt < 20 && !stopped; attempt++) {
        const r = await api(base, 'POST', '/api/widget/v1/conversations', { token, localAddress: loopbackAddress(3, i), body: { clientId, text: `new conversation ${clientId}` }, timeoutMs: 4000 }).catch(() => undefined);
        if (r?.status === 201) {
          opened++;
          break;
        }
        failed++;
        await sleep(500);
      }
      await sleep(perSessionIntervalMs);
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
    stats: () => ({ opened, failed }),
  };
}
