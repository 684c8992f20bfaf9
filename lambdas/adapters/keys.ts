/**
 * Every key of the single table, in one place.
 *
 * | access pattern                      | index | key condition                                   |
 * |-------------------------------------|-------|-------------------------------------------------|
 * | video by id                         | table | pk = VIDEO#<id>, sk = VIDEO                     |
 * | a user's videos, newest first       | gsi1  | gsi1pk = OWNER#<userId>, gsi1sk begins VIDEO#   |
 * | rate-limit slots of a key           | table | pk = LIMIT#<key>, sk = LIMIT                    |
 * | a user's profile                    | table | pk = USER#<userId>, sk = PROFILE                |
 * | every item of a user (purge)        | table | pk = USER#<userId>                              |
 * | view mark (dedupe, TTL expiresAt)   | table | pk = VIEW#<videoId>#<viewer>#<hour ms>, sk = VIEW |
 * | a user's watch history, newest first| table | pk = USER#<userId>, sk begins VIEW#<iso time>#<videoId> |
 * | videos co-viewed with a video (TTL) | table | pk = VIDEO#<id>, sk begins COVIEW#<otherId>     |
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
/** A user's own partition: profile, watch history; deleting the account purges all of it. */
export const userPartition = (userId: string) => `USER#${userId}`;
export const profileKey = (userId: string) => ({ pk: userPartition(userId), sk: 'PROFILE' });
/** Marks one counted view of a video by a viewer (`user:<id>` or `session:<id>`) in one clock hour. */
export const viewMarkKey = (videoId: string, viewer: string, hour: number) => ({ pk: `VIEW#${videoId}#${viewer}#${hour}`, sk: 'VIEW' });
export const historySortPrefix = 'VIEW#';
export const historyKey = (userId: string, at: string, videoId: string) => ({ pk: userPartition(userId), sk: `${historySortPrefix}${at}#${videoId}` });
export const coViewSortPrefix = 'COVIEW#';
export const coViewKey = (videoId: string, otherId: string) => ({ pk: `VIDEO#${videoId}`, sk: `${coViewSortPrefix}${otherId}` });
