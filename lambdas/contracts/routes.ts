/**
 * The one route table. CDK builds API Gateway from it (`lib/constructs/video-api.ts`), the local
 * gateway serves it (`local/gateway.ts`), and tests walk it — so a route exists everywhere or
 * nowhere. `handler` is the module under `lambdas/handlers/` that exports `handler`.
 */
export interface Route {
  /** Stable id; also the construct id of the route's function in CDK. */
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** API Gateway path syntax: `{name}` for a path parameter. */
  readonly path: string;
  readonly handler: string;
  /**
   * `user`: a Cognito ID token is required (the authorizer rejects the request without one);
   * `optional`: anyone may call, and a valid ID token, when sent, identifies the caller (the
   * handler verifies it, since an API Gateway authorizer cannot be optional);
   * `public`: no token is read.
   */
  readonly auth: 'user' | 'optional' | 'public';
}

export const API_PREFIX = '/api/v1';

export const routes = [
  { id: 'StartUpload', method: 'POST', path: '/api/v1/videos/upload', handler: 'api/start-upload', auth: 'user' },
  { id: 'GetUpload', method: 'GET', path: '/api/v1/videos/{id}/upload', handler: 'api/get-upload', auth: 'user' },
  { id: 'CompleteUpload', method: 'POST', path: '/api/v1/videos/{id}/upload/complete', handler: 'api/complete-upload', auth: 'user' },
  { id: 'AbortUpload', method: 'DELETE', path: '/api/v1/videos/{id}/upload', handler: 'api/abort-upload', auth: 'user' },
  { id: 'GetVideoStatus', method: 'GET', path: '/api/v1/videos/{id}/status', handler: 'api/get-video-status', auth: 'user' },
  { id: 'GetVideo', method: 'GET', path: '/api/v1/videos/{id}', handler: 'api/get-video', auth: 'optional' },
  { id: 'GetStream', method: 'GET', path: '/api/v1/videos/{id}/stream', handler: 'api/get-stream', auth: 'optional' },
  { id: 'UpdateVideo', method: 'PATCH', path: '/api/v1/videos/{id}', handler: 'api/update-video', auth: 'user' },
  { id: 'StartPosterUpload', method: 'POST', path: '/api/v1/videos/{id}/poster', handler: 'api/start-poster-upload', auth: 'user' },
  { id: 'DeleteVideo', method: 'DELETE', path: '/api/v1/videos/{id}', handler: 'api/delete-video', auth: 'user' },
  { id: 'ListMyVideos', method: 'GET', path: '/api/v1/me/videos', handler: 'api/list-my-videos', auth: 'user' },
  { id: 'GetMe', method: 'GET', path: '/api/v1/me', handler: 'api/get-me', auth: 'user' },
  { id: 'UpdateMe', method: 'PATCH', path: '/api/v1/me', handler: 'api/update-me', auth: 'user' },
  { id: 'ExportMe', method: 'GET', path: '/api/v1/me/export', handler: 'api/export-me', auth: 'user' },
  { id: 'DeleteMe', method: 'DELETE', path: '/api/v1/me', handler: 'api/delete-me', auth: 'user' },
  { id: 'RecordView', method: 'POST', path: '/api/v1/videos/{id}/views', handler: 'api/record-view', auth: 'optional' },
  { id: 'GetTrending', method: 'GET', path: '/api/v1/feed/trending', handler: 'api/get-trending', auth: 'optional' },
  { id: 'GetRelated', method: 'GET', path: '/api/v1/videos/{id}/related', handler: 'api/get-related', auth: 'optional' },
  { id: 'GetRecommendations', method: 'GET', path: '/api/v1/me/recommendations', handler: 'api/get-recommendations', auth: 'user' },
  { id: 'ListChannel', method: 'GET', path: '/api/v1/users/{userId}/videos', handler: 'api/list-channel', auth: 'optional' },
  { id: 'SearchVideos', method: 'GET', path: '/api/v1/search/videos', handler: 'api/search-videos', auth: 'optional' },
  { id: 'GetHealth', method: 'GET', path: '/api/v1/health', handler: 'api/get-health', auth: 'public' },
] as const satisfies readonly Route[];

export type RouteId = (typeof routes)[number]['id'];
