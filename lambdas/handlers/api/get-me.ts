import { accountDeps } from '#composition/accounts';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/me`: the caller's profile (created on first read; the email comes from the token). */
export const handler = httpHandler({}, async ({ caller }) => ({
  statusCode: 200,
  body: await accountDeps().accounts.profile(caller),
}));
