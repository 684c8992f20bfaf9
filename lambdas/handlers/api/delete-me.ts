import { accountDeps } from '#composition/accounts';
import { httpHandler } from '../shared/http.ts';

/**
 * `DELETE /api/v1/me`: deletes the account with every video, object and history row of it; `204`.
 * Safe to retry after a failure part-way (it finishes the job); once it succeeded the token's
 * user no longer exists and signing in fails.
 */
export const handler = httpHandler({}, async ({ caller }) => {
  await accountDeps().accounts.deleteAccount(caller.userId);
  return { statusCode: 204 };
});
