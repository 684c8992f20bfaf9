import type { VideoCard } from '#contracts/api';

/** Pure helpers of the discovery pages (search URL, tag chips, poster candidates). */

/** Tag chips offered from the results, most frequent first. */
const MAX_CHIPS = 10;

/** `?tags=a,b` → ["a", "b"] (lower case, as the API matches them). */
export const tagsOf = (search: URLSearchParams): string[] =>
  [...new Set((search.get('tags') ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))];

export function searchUrl(q: string, tags: readonly string[], pageSize?: string | null): string {
  const query = new URLSearchParams({ ...(q ? { q } : {}), ...(tags.length ? { tags: tags.join(',') } : {}), ...(pageSize ? { page_size: pageSize } : {}) });
  return `/search?${query}`;
}

/** The poster URL with its file name replaced: candidates sit beside it as candidate-1.jpg … candidate-3.jpg. */
export const candidateUrl = (posterUrl: string, candidate: number): string =>
  posterUrl.replace(/[^/?#]+(?=[?#]|$)/, `candidate-${candidate + 1}.jpg`);

export function resultsText(count: number, more: boolean): string {
  if (count === 0) return 'No results.';
  return `${count === 1 ? '1 result' : `${count} results`}${more ? ' so far' : ''}.`;
}

/** The active tags first, then the tags most common among the results. */
export function chipTags(items: readonly VideoCard[], active: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const item of items) for (const tag of new Set(item.tags.map((t) => t.toLowerCase()))) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  const offered = [...counts.entries()]
    .filter(([tag]) => !active.includes(tag))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([tag]) => tag);
  return [...active, ...offered].slice(0, Math.max(MAX_CHIPS, active.length));
}
