import { accountDeps } from '#composition/accounts';
import { httpHandler } from '../shared/http.ts';

/** `GET /api/v1/me/export`: everything held about the caller, as one JSON document. */
export const handler = httpHandler({}, async ({ caller }) => ({
  statusCode: 200,
  body: await accountDeps().accounts.export(caller),
  headers: { 'content-disposition': 'attachment; filename="vodstack-export.json"' },
}));
