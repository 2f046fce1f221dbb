// The save service's refusals (src/accounts/save.ts). Field paths are neutral — the domain's own
// names (`incoming.oauth.refreshToken`) — and every entry point renders them in its own wording:
// the native API as they are, SaveEMailAccount and `accounts import` in SuperOffice's names.

/** Renders one neutral field name (`incoming`, `password`, `tokenUrl`) in an entry point's wording. */
export type FieldNamer = (name: string) => string;

const asIs: FieldNamer = (name) => name;

/**
 * A save refused because of one field. `path` is neutral (`['incoming', 'password']`); `message`
 * may name other fields through the namer it is given, so that each entry point says `Server` or
 * `server` as its clients write it. Messages never hold a value from the input.
 */
export class AccountInputError extends Error {
  constructor(
    readonly path: readonly string[],
    private readonly render: (name: FieldNamer) => string,
  ) {
    super(`${path.join('.')}: ${render(asIs)}`);
    this.name = 'AccountInputError';
  }

  /** The field's path in an entry point's wording, e.g. `IncomingCredentials.Password`. */
  field(name: FieldNamer = asIs): string {
    return this.path.map(name).join('.');
  }

  /** What is wrong with the field (without its path), other fields named by `name`. */
  problem(name: FieldNamer = asIs): string {
    return this.render(name);
  }
}

export class AccountNotFoundError extends Error {
  constructor(readonly emailAccountId: number) {
    super(`EMailAccount ${emailAccountId} does not exist`);
    this.name = 'AccountNotFoundError';
  }
}

/** An update of an account marked Deleted: it is kept for its history and never edited again. */
export class AccountDeletedError extends Error {
  constructor(readonly emailAccountId: number) {
    super(`EMailAccount ${emailAccountId} is Deleted`);
    this.name = 'AccountDeletedError';
  }
}

/** One refusal of the save service. */
export type SaveRefusal = AccountInputError | AccountNotFoundError | AccountDeletedError;

export function isSaveRefusal(error: unknown): error is SaveRefusal {
  return (
    error instanceof AccountInputError ||
    error instanceof AccountNotFoundError ||
    error instanceof AccountDeletedError
  );
}

/** A batch save (an import) refused: every refused entry (0-based index), nothing stored. */
export class AccountBatchError extends Error {
  constructor(readonly problems: readonly { index: number; error: SaveRefusal }[]) {
    super(problems.map((p) => `entry ${p.index + 1}: ${p.error.message}`).join('; '));
    this.name = 'AccountBatchError';
  }
}
