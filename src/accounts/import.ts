// `mailmon accounts import`: a file of SuperOffice EMailAccount objects, checked field by field,
// then saved through the save service like any other save; problems are named by entry and field.
import { AccountBatchError } from './errors.js';
import type { AccountRepository } from './repository.js';
import { saveAccounts } from './save.js';
import type { AccountDraft } from './save-rules.js';
import { parseEMailAccount } from './superoffice-schema.js';
import { describeRefusal, toAccountDraft } from './superoffice-mapping.js';

export interface ImportProblem {
  entry: number;
  label: string;
  /** The field in SuperOffice's names; null when the problem is the entry as a whole. */
  field: string | null;
  message: string;
}

export class ImportError extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super(
      `${problems.length} problem(s), nothing imported:\n` +
        problems
          .map((p) => `  entry ${p.entry}${p.label}: ${p.field === null ? '' : `${p.field}: `}${p.message}`)
          .join('\n'),
    );
    this.name = 'ImportError';
  }
}

/** An entry of an import file, checked against the schema. */
export interface ImportEntry {
  draft: AccountDraft;
  /** ` (address)` for messages, or '' when the entry has no usable address. */
  label: string;
}

/**
 * Parses an import document (a JSON array of SuperOffice EMailAccount objects). Every entry is
 * checked before anything is stored; all problems are reported at once, each naming the entry
 * (1-based, with its address when known) and the field.
 */
export function parseImport(text: string): ImportEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ImportError([
      { entry: 0, label: '', field: '(file)', message: `is not valid JSON: ${(error as Error).message}` },
    ]);
  }
  if (!Array.isArray(data)) {
    throw new ImportError([
      { entry: 0, label: '', field: '(file)', message: 'must be a JSON array of EMailAccount objects' },
    ]);
  }
  const problems: ImportProblem[] = [];
  const entries: ImportEntry[] = [];
  data.forEach((raw: unknown, index) => {
    const address = (raw as { EMailAddress?: unknown } | null)?.EMailAddress;
    const label = typeof address === 'string' && address.length <= 320 ? ` (${address})` : '';
    const parsed = parseEMailAccount(raw);
    if (parsed.ok) entries.push({ draft: toAccountDraft(parsed.account), label });
    else
      for (const issue of parsed.issues)
        problems.push({ entry: index + 1, label, field: issue.path, message: issue.message });
  });
  if (problems.length > 0) throw new ImportError(problems);
  return entries;
}

/**
 * Saves the entries in one transaction through the save service: every refusal (a kept password
 * with a moved server, an unknown or Deleted id, ...) becomes an ImportError naming entry and field,
 * and nothing is stored. Returns the ids in the file's order.
 */
export async function importAccounts(
  repo: Pick<AccountRepository, 'saveChecked'>,
  entries: readonly ImportEntry[],
): Promise<number[]> {
  try {
    return await saveAccounts(
      repo,
      entries.map((entry) => entry.draft),
    );
  } catch (error) {
    if (!(error instanceof AccountBatchError)) throw error;
    throw new ImportError(
      error.problems.map(({ index, error: refusal }) => ({
        entry: index + 1,
        label: entries[index]?.label ?? '',
        ...(describeRefusal(refusal) as { field: string | null; message: string }),
      })),
    );
  }
}
