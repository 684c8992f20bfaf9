import { StartUploadRequest, type Visibility } from '#contracts/api';
import { sentence } from '../ui/format.ts';

/** What `POST /videos/upload` needs besides the size. */
export type UploadMetadata = Omit<StartUploadRequest, 'fileSize'>;

/** The metadata form's fields, as typed. */
export interface MetadataDraft {
  readonly title: string;
  readonly description: string;
  /** Comma-separated. */
  readonly tags: string;
  readonly visibility: Visibility;
}

/** "my_holiday-clip.final.mp4" → "my_holiday-clip.final" (titles are at most 200 characters). */
export function titleFromFileName(name: string): string {
  const base = name.replace(/\.[A-Za-z0-9]{1,5}$/, '').trim();
  return (base || name).slice(0, 200);
}

export const parseTags = (text: string): string[] => [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];

const TYPES_BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/x-m4v',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  avi: 'video/x-msvideo',
  mpg: 'video/mpeg',
  mpeg: 'video/mpeg',
  ts: 'video/mp2t',
  ogv: 'video/ogg',
  '3gp': 'video/3gpp',
  flv: 'video/x-flv',
  wmv: 'video/x-ms-wmv',
};

/** The file's video media type: the browser's guess, else one from its extension. */
export function videoTypeOf(file: File): string | undefined {
  if (file.type.startsWith('video/')) return file.type;
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.name)?.[1]?.toLowerCase();
  return extension ? TYPES_BY_EXTENSION[extension] : undefined;
}

/** The request's metadata, or the problems to show beside the form. */
export function metadataOf(file: File, draft: MetadataDraft): { metadata: UploadMetadata } | { problems: string[] } {
  const contentType = videoTypeOf(file);
  if (!contentType) return { problems: [`${file.name} does not look like a video file.`] };
  const candidate = {
    title: draft.title,
    ...(draft.description.trim() ? { description: draft.description } : {}),
    ...(parseTags(draft.tags).length ? { tags: parseTags(draft.tags) } : {}),
    visibility: draft.visibility,
    fileName: file.name.slice(-255),
    contentType,
    fileSize: file.size,
  };
  const result = StartUploadRequest.safeParse(candidate);
  if (!result.success) return { problems: result.error.issues.map((issue) => sentence(issue.message)) };
  const { fileSize: _size, ...metadata } = result.data;
  return { metadata };
}
