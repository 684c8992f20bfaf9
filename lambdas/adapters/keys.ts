/**
 * Every key of the single table, in one place.
 *
 * | access pattern                      | index | key condition                                   |
 * |-------------------------------------|-------|-------------------------------------------------|
 * | video by id                         | table | pk = VIDEO#<id>, sk = VIDEO                     |
 * | a user's videos, newest first       | gsi1  | gsi1pk = OWNER#<userId>, gsi1sk begins VIDEO#   |
 * | rate-limit slots of a key           | table | pk = LIMIT#<key>, sk = LIMIT                    |
 *
 * Keys hold only immutable fields (ids, creation time).
 */
export const videoKey = (id: string) => ({ pk: `VIDEO#${id}`, sk: 'VIDEO' });
export const videoOwnerIndexKey = (ownerId: string, createdAt: string, id: string) => ({
  gsi1pk: `OWNER#${ownerId}`,
  gsi1sk: `VIDEO#${createdAt}#${id}`,
});
export const limitKey = (key: string) => ({ pk: `LIMIT#${key}`, sk: 'LIMIT' });
