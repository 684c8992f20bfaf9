import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { PlatformInfo } from '../../local/platform.ts';

/** The local stand-ins' fixed credentials (the S3 stand-in checks signatures with them). */
export const localCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** An S3 client for the local platform, configured as the product's adapters are. */
export function localS3(platform: PlatformInfo): S3Client {
  return new S3Client({
    endpoint: platform.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: localCredentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function localSfn(platform: PlatformInfo): SFNClient {
  return new SFNClient({ endpoint: platform.sfnEndpoint, region: 'us-east-1', credentials: localCredentials });
}
