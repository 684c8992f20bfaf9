import { z } from 'zod';

/** `GET /config.json`: what the app needs to know about the deployment it is served by. */
export const AppConfig = z.object({
  region: z.string().min(1),
  userPoolId: z.string().min(1),
  userPoolClientId: z.string().min(1),
  /** Set in local mode (cognito-local); on AWS the regional Cognito endpoint is used. */
  cognitoEndpoint: z.string().url().optional(),
  /** A seeded video to show newcomers (local mode). */
  demoVideoId: z.string().optional(),
});
export type AppConfig = z.infer<typeof AppConfig>;

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`the app's configuration could not be loaded (HTTP ${response.status})`);
  return AppConfig.parse(await response.json());
}

/** Where Cognito's JSON API is: the local stand-in, or the region's public endpoint. */
export function cognitoEndpointOf(config: AppConfig): string {
  return config.cognitoEndpoint ?? `https://cognito-idp.${config.region}.amazonaws.com/`;
}

/** True when accounts live in the local stand-in, which prints confirmation codes to its console. */
export const isLocalMode = (config: AppConfig): boolean => config.cognitoEndpoint !== undefined;
