import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { tracer } from './telemetry.ts';

/**
 * SDK clients, built once per process (module-level singletons, reused across invocations).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, so local mode differs
 * only in environment. Checksums are computed only when an operation requires them: the default
 * CRC32 would be signed into presigned part URLs (which browsers then fail) and is stored inside
 * objects by the local S3 stand-in.
 *
 * DynamoDB and Step Functions calls show in X-Ray traces. S3 is not captured: the tracer adds a
 * trace header to every request, which the presigner would sign into part URLs that browsers
 * then cannot match.
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
  documents ??= DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documents;
}

export function sfnClient(): SFNClient {
  sfn ??= tracer.captureAWSv3Client(new SFNClient({}));
  return sfn;
}
