import type { AccountExport, Profile, UpdateProfileRequest, VideoSummary } from '#contracts/api';
import { NotFoundError } from './errors.ts';
import { summaryOf, type Library } from './library.ts';
import type { Clock, VideoPosition, VideoRepository } from './ports.ts';

/** A profile as stored: what the user set, never the email (Cognito owns it; it comes from the token). */
export interface StoredProfile {
  readonly userId: string;
  readonly displayName?: string;
  readonly avatarUrl?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Changes to a profile; `avatarUrl: null` removes the avatar. */
export interface ProfileChanges {
  readonly displayName?: string;
  readonly avatarUrl?: string | null;
}

/** One entry of a user's watch history. */
export interface ViewRecord {
  readonly videoId: string;
  /** When it was watched (ISO 8601). */
  readonly at: string;
}

/** Everything the platform keeps in a user's own partition: the profile and the watch history. */
export interface ProfileStore {
  /** Strongly consistent read; `undefined` before the profile was first created. */
  get(userId: string): Promise<StoredProfile | undefined>;
  /** Creates the profile unless it exists; either way returns the stored one. */
  create(profile: StoredProfile): Promise<StoredProfile>;
  /** Applies `changes` (creating the profile with `now` as its creation time if it is missing). */
  update(userId: string, changes: ProfileChanges, now: string): Promise<StoredProfile>;
  /** The whole watch history, oldest first. */
  views(userId: string): Promise<ViewRecord[]>;
  /** Deletes every item of the user's partition (profile, history); returns how many. Idempotent. */
  purge(userId: string): Promise<number>;
}

/** The identity provider's user directory (Cognito). */
export interface UserDirectory {
  /** Deletes the user, so they can no longer sign in; a user already gone is fine. */
  deleteUser(userId: string): Promise<void>;
}

/** Who is calling, from the verified token. */
export interface AccountCaller {
  readonly userId: string;
  readonly email: string | undefined;
}

export interface AccountsDeps {
  readonly profiles: ProfileStore;
  readonly videos: Pick<VideoRepository, 'listByOwner'>;
  /** Deleting an account deletes each video exactly as its owner would (`Library.remove`). */
  readonly library: Pick<Library, 'remove'>;
  readonly users: UserDirectory;
  readonly clock: Clock;
}

/** Pages of the owner index read at a time when collecting a user's videos. */
const PAGE = 100;
/** Videos deleted at once when deleting an account. */
const PARALLEL_DELETES = 8;

/**
 * A user's account: profile, export of everything held about them, and deletion of all of it.
 * Text is stored exactly as given; clients render it escaped.
 */
export class Accounts {
  constructor(private readonly deps: AccountsDeps) {}

  /** The caller's profile, created on first read (so every signed-in user has one). */
  async profile(caller: AccountCaller): Promise<Profile> {
    const stored =
      (await this.deps.profiles.get(caller.userId)) ??
      (await this.deps.profiles.create({ userId: caller.userId, createdAt: this.now(), updatedAt: this.now() }));
    return toProfile(stored, caller);
  }

  /** Sets the display name and/or avatar (`avatarUrl: null` removes it). */
  async updateProfile(caller: AccountCaller, request: UpdateProfileRequest): Promise<Profile> {
    const changes: ProfileChanges = {
      ...(request.displayName !== undefined ? { displayName: request.displayName } : {}),
      ...(request.avatarUrl !== undefined ? { avatarUrl: request.avatarUrl } : {}),
    };
    return toProfile(await this.deps.profiles.update(caller.userId, changes, this.now()), caller);
  }

  /**
   * Everything held about the caller: the profile, every video in every status (read from the
   * owner index, which is eventually consistent: a video created a moment ago may be missing),
   * and the watch history.
   */
  async export(caller: AccountCaller): Promise<AccountExport> {
    const [profile, videos, views] = await Promise.all([
      this.profile(caller),
      this.allVideos(caller.userId),
      this.deps.profiles.views(caller.userId),
    ]);
    return { exportedAt: this.now(), profile, videos, views: views.map(({ videoId, at }) => ({ videoId, at })) };
  }

  /**
   * Deletes the account and everything of it: each video through `Library.remove` (its running
   * workflow, open upload, source, media and item), then every item of the user's partition
   * (profile, watch history), and last the Cognito user — so until everything else is gone the
   * user can still sign in and retry. Idempotent: a retry after a partial failure finds what is
   * left and finishes the job; a video that disappeared meanwhile is skipped.
   *
   * What stays eventually consistent: search index entries go away through the table stream (the
   * indexer handles the REMOVE records, within seconds); co-view counters and other users'
   * histories may still name the deleted videos, and are filtered at read time (a missing video is
   * never shown). The owner index lags the table by a moment, so a video created in the same
   * instant as the deletion can be missed; a retry removes it (its owner can no longer sign in to
   * create more once the user is gone).
   */
  async deleteAccount(userId: string): Promise<void> {
    const videos = await this.allVideos(userId);
    // A few at a time: each deletion is a handful of storage calls, and the request has seconds.
    for (let i = 0; i < videos.length; i += PARALLEL_DELETES) {
      const results = await Promise.allSettled(videos.slice(i, i + PARALLEL_DELETES).map((video) => this.deps.library.remove(userId, video.id)));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof NotFoundError));
      if (failure) throw failure.reason;
    }
    await this.deps.profiles.purge(userId);
    await this.deps.users.deleteUser(userId);
  }

  private async allVideos(ownerId: string): Promise<VideoSummary[]> {
    const all: VideoSummary[] = [];
    let after: VideoPosition | undefined;
    do {
      const page = await this.deps.videos.listByOwner(ownerId, { limit: PAGE, ...(after ? { after } : {}) });
      all.push(...page.videos.map(summaryOf));
      after = page.next;
    } while (after);
    return all;
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }
}

function toProfile(stored: StoredProfile, caller: AccountCaller): Profile {
  return {
    userId: stored.userId,
    ...(caller.email ? { email: caller.email } : {}),
    ...(stored.displayName !== undefined ? { displayName: stored.displayName } : {}),
    ...(stored.avatarUrl !== undefined ? { avatarUrl: stored.avatarUrl } : {}),
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}
