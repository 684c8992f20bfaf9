import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

/**
 * SDK clients, built once per process (module-level singletons, reused across invocations).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, so local mode differs
 * only in environment. Checksums are computed only when an operation requires them: the default
 * CRC32 would be signed into presigned part URLs (which browsers then fail) and is stored inside
 * objects by the local S3 stand-in.
 */
let s3: S3Client | undefined;
let documents: DynamoDBDocumentClient | undefined;
let sfn: SFNClient | undefined;

export function s3Client(options: { forcePathStyle: boolean }): S3Client {
  s3 ??= new S3Client({
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return s3;
}

export function documentClient(): DynamoDBDocumentClient {
  documents ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documents;
}

export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}
