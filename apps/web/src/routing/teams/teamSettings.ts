import type { TeamRouting } from '../shared/types.ts';

/** A team's routing settings and business-hours schedule as GET /routing/teams returns them. */
export interface TeamSettings {
  routing: TeamRouting;
  /** null: always open. */
  scheduleId: string | null;
}
