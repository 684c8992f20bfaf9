import { UpdateProfileRequest } from '#contracts/api';
import { accountDeps } from '#composition/accounts';
import { httpHandler } from '../shared/http.ts';

/** `PATCH /api/v1/me`: sets the display name and/or avatar URL (`avatarUrl: null` removes it). */
export const handler = httpHandler({ body: UpdateProfileRequest }, async ({ body, caller }) => ({
  statusCode: 200,
  body: await accountDeps().accounts.updateProfile(caller, body),
}));
