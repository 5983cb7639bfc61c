// Helpers for the GitLab fake's own tests.
import { GitbeakerRequestError } from '@gitbeaker/rest';

/** Awaits a gitbeaker call that must fail and returns the HTTP status and GitLab's error text. */
export async function failure(call: Promise<unknown>): Promise<{ status: number; description: string }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof GitbeakerRequestError && err.cause) {
      return { status: err.cause.response.status, description: err.cause.description };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

/**
 * gitbeaker 43.8.0's option types leave out attributes GitLab accepts and
 * gitbeaker sends as given (e.g. `ci_id_token_sub_claim_components` on
 * Projects.edit, `description` on ProjectVariables.edit, `filter` on
 * GroupVariables.show/remove, `masked_and_hidden` on GroupVariables.create).
 * The result is typed `never` so it fits any options parameter.
 */
export function untyped(options: Record<string, unknown>): never {
  return options as never;
}
