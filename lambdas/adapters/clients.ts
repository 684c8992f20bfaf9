import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { WorkerCredentials } from './sts-worker-grants.ts';
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
let sts: STSClient | undefined;
let kms: KMSClient | undefined;

export function s3Client(options: { forcePathStyle: boolean }): S3Client {
  s3 ??= new S3Client(s3Options(options));
  return s3;
}

/**
 * An S3 client of its own that signs with `credentials` (a worker grant's), not the function's
 * role. One per task invocation: `destroy()` it when the task is done.
 */
export function scopedS3Client(
  options: { forcePathStyle: boolean },
  credentials: WorkerCredentials,
): S3Client {
  return new S3Client({ ...s3Options(options), credentials });
}

function s3Options(options: { forcePathStyle: boolean }) {
  return {
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  } as const;
}

export function documentClient(): DynamoDBDocumentClient {
  documents ??= DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), DOCUMENT_OPTIONS);
  return documents;
}

/** A document client of its own that signs with `credentials` (see `scopedS3Client`). */
export function scopedDocumentClient(credentials: WorkerCredentials): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({ credentials })), DOCUMENT_OPTIONS);
}

const DOCUMENT_OPTIONS = { marshallOptions: { removeUndefinedValues: true } } as const;

export function stsClient(): STSClient {
  sts ??= tracer.captureAWSv3Client(new STSClient({}));
  return sts;
}

export function kmsClient(): KMSClient {
  kms ??= tracer.captureAWSv3Client(new KMSClient({}));
  return kms;
}

export function sfnClient(): SFNClient {
  sfn ??= tracer.captureAWSv3Client(new SFNClient({}));
  return sfn;
}
