import type { SideCheck } from '../accounts/repository.js';
import type { ProbeResult } from '../probes/types.js';

/** The mailbox-health parts of a result (issue 12) that are stored with the side's details. */
export function mailboxDetails(
  result: ProbeResult,
): Pick<NonNullable<SideCheck['details']>, 'quota' | 'delivery' | 'warning'> {
  return {
    ...(result.quota ? { quota: result.quota } : {}),
    ...(result.delivery ? { delivery: result.delivery } : {}),
    ...(result.warning ? { warning: result.warning } : {}),
  };
}
