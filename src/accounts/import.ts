import { parseEMailAccount } from './superoffice-schema.js';
import type { AccountInput } from './repository.js';
import { AccountInputError, toAccountInput } from './superoffice-mapping.js';

export interface ImportProblem {
  entry: number;
  label: string;
  field: string;
  message: string;
}

export class ImportError extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super(
      `${problems.length} problem(s), nothing imported:\n` +
        problems.map((p) => `  entry ${p.entry}${p.label}: ${p.field}: ${p.message}`).join('\n'),
    );
    this.name = 'ImportError';
  }
}

/**
 * Parses an import document (a JSON array of SuperOffice EMailAccount objects) into repository
 * inputs. Every entry is checked before anything is stored; all problems are reported at once,
 * each naming the entry (1-based, with its address when known) and the field.
 */
export function parseImport(text: string): AccountInput[] {
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
  const inputs: AccountInput[] = [];
  data.forEach((raw: unknown, index) => {
    const entry = index + 1;
    const address = (raw as { EMailAddress?: unknown } | null)?.EMailAddress;
    const label = typeof address === 'string' && address.length <= 320 ? ` (${address})` : '';
    const parsed = parseEMailAccount(raw);
    if (!parsed.ok) {
      for (const issue of parsed.issues)
        problems.push({ entry, label, field: issue.path, message: issue.message });
      return;
    }
    try {
      inputs.push(toAccountInput(parsed.account));
    } catch (error) {
      if (!(error instanceof AccountInputError)) throw error;
      problems.push({
        entry,
        label,
        field: error.field,
        message: error.message.slice(error.field.length + 2),
      });
    }
  });
  if (problems.length > 0) throw new ImportError(problems);
  return inputs;
}
