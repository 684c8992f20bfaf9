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
/** The index of a user's videos (`gsi1`). */
export const ownerIndex = { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', sortPrefix: 'VIDEO#' } as const;
export const ownerPartition = (ownerId: string) => `OWNER#${ownerId}`;
export const videoOwnerIndexKey = (ownerId: string, createdAt: string, id: string) => ({
  gsi1pk: ownerPartition(ownerId),
  gsi1sk: `${ownerIndex.sortPrefix}${createdAt}#${id}`,
});
export const limitKey = (key: string) => ({ pk: `LIMIT#${key}`, sk: 'LIMIT' });
