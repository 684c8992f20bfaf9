import { CognitoIdentityProviderClient, DescribeUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { DependencyProbe } from '#domain/health';
import { tracer } from './telemetry.ts';

/**
 * The health route's probes: one cheap, read-only call per dependency, each needing one IAM
 * action on one resource (granted in `lib/constructs/video-api.ts`). Clients are built once.
 */
let dynamo: DynamoDBClient | undefined;
let cognito: CognitoIdentityProviderClient | undefined;
let secrets: SecretsManagerClient | undefined;

/** `dynamodb:DescribeTable`: the table exists and is reachable. */
export function tableProbe(name: string, tableName: string): DependencyProbe {
  dynamo ??= tracer.captureAWSv3Client(new DynamoDBClient({}));
  const client = dynamo;
  return { name, check: async () => void (await client.send(new DescribeTableCommand({ TableName: tableName }))) };
}

/** `s3:ListBucket` (HeadBucket): the bucket exists and we may use it. */
export function bucketProbe(name: string, s3: S3Client, bucket: string): DependencyProbe {
  return { name, check: async () => void (await s3.send(new HeadBucketCommand({ Bucket: bucket }))) };
}

/** `cognito-idp:DescribeUserPool`. */
export function userPoolProbe(name: string, userPoolId: string): DependencyProbe {
  cognito ??= new CognitoIdentityProviderClient({});
  const client = cognito;
  return { name, check: async () => void (await client.send(new DescribeUserPoolCommand({ UserPoolId: userPoolId }))) };
}

/** `states:ListExecutions` of at most one execution: the state machine exists and answers. */
export function workflowProbe(name: string, sfn: SFNClient, stateMachineArn: string): DependencyProbe {
  return { name, check: async () => void (await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1 }))) };
}

/** `secretsmanager:DescribeSecret`: the secret exists (its value is never read here). */
export function secretProbe(name: string, secretId: string): DependencyProbe {
  secrets ??= tracer.captureAWSv3Client(new SecretsManagerClient({}));
  const client = secrets;
  return { name, check: async () => void (await client.send(new DescribeSecretCommand({ SecretId: secretId }))) };
}
