// The one way an account is saved: the native API, SaveEMailAccount (REST and SOAP) and
// `mailmon accounts import` all come here, so a new entry point cannot forget a rule. Each entry
// point turns its own shape into an AccountDraft and renders the refusals (errors.ts) in its own
// wording; the rules themselves (save-rules.ts, kept-secrets.ts) run inside the save's transaction,
// against the stored rows as they are under the write lock.
import { AccountBatchError, AccountInputError, isSaveRefusal, type SaveRefusal } from './errors.js';
import type { AccountInput, AccountRepository, StoredAccount } from './repository.js';
import { settleAccount, type AccountDraft } from './save-rules.js';

/**
 * Saves every draft in one transaction, or none: all refusals are collected (by 0-based index) and
 * thrown together as an AccountBatchError. Returns the ids, in the drafts' order.
 */
export async function saveAccounts(
  repo: Pick<AccountRepository, 'saveChecked'>,
  drafts: readonly AccountDraft[],
): Promise<number[]> {
  const early = duplicateIds(drafts);
  if (early.length > 0) throw new AccountBatchError(early);
  return repo.saveChecked(
    drafts.map((draft) => draft.emailAccountId),
    (stored) => settleAll(drafts, stored),
  );
}

/** Saves one draft; a refusal is thrown as it is (AccountInputError, AccountNotFoundError, ...). */
export async function saveAccount(
  repo: Pick<AccountRepository, 'saveChecked'>,
  draft: AccountDraft,
): Promise<number> {
  try {
    const [id] = (await saveAccounts(repo, [draft])) as [number];
    return id;
  } catch (error) {
    if (error instanceof AccountBatchError && error.problems.length === 1) throw error.problems[0]!.error;
    throw error;
  }
}

function settleAll(
  drafts: readonly AccountDraft[],
  stored: readonly (StoredAccount | null)[],
): AccountInput[] {
  const problems: { index: number; error: SaveRefusal }[] = [];
  const inputs = drafts.map((draft, index) => {
    try {
      return settleAccount(draft, stored[index] ?? null);
    } catch (error) {
      if (!isSaveRefusal(error)) throw error;
      problems.push({ index, error });
      return null;
    }
  });
  if (problems.length > 0) throw new AccountBatchError(problems);
  return inputs as AccountInput[];
}

/**
 * An account updated twice in one batch would be checked twice against the same stored row, and
 * the second write would silently win: refused, naming the later entry.
 */
function duplicateIds(drafts: readonly AccountDraft[]): { index: number; error: SaveRefusal }[] {
  const first = new Map<number, number>();
  const problems: { index: number; error: SaveRefusal }[] = [];
  drafts.forEach(({ emailAccountId: id }, index) => {
    if (id === 0) return;
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, index);
    else
      problems.push({
        index,
        error: new AccountInputError(
          ['emailAccountId'],
          () => `is entry ${earlier + 1}'s too: each account is saved once per batch`,
        ),
      });
  });
  return problems;
}
