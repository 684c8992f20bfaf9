import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { AccountConfig, Env } from '#contracts/env';
import { documentClient, s3Client, sfnClient } from '#adapters/clients';
import { CognitoUserAdmin } from '#adapters/cognito-user-admin';
import { DynamoProfileStore } from '#adapters/dynamo-profile-store';
import { DynamoVideoRepository } from '#adapters/dynamo-video-repository';
import { S3MediaStore } from '#adapters/s3-media-store';
import { S3UploadStore } from '#adapters/s3-upload-store';
import { SfnWorkflowStarter } from '#adapters/sfn-workflow-starter';
import { Accounts, type UserDirectory } from '#domain/accounts';
import { Library } from '#domain/library';
import type { MediaStore, UploadStore, WorkflowStarter } from '#domain/ports';
import { unwired } from './unwired.ts';

let accounts: Accounts | undefined;
let cognito: CognitoIdentityProviderClient | undefined;

/**
 * The composition root of the account functions. Profile and export functions are given the
 * table only; deleting the account is also given the buckets, the workflow and the user pool, and
 * a port a function was not given fails loudly if called.
 */
export function accountDeps(): { accounts: Accounts } {
  if (!accounts) {
    const config = AccountConfig.parse(process.env);
    const s3 = () => s3Client({ forcePathStyle: config[Env.s3ForcePathStyle] });
    const rawBucket = config[Env.rawBucket];
    const mediaBucket = config[Env.mediaBucket];
    const workflowArn = config[Env.workflowArn];
    const userPoolId = config[Env.userPoolId];
    const videos = new DynamoVideoRepository(documentClient(), config[Env.tableName]);
    accounts = new Accounts({
      profiles: new DynamoProfileStore(documentClient(), config[Env.tableName]),
      videos,
      library: new Library({
        videos,
        uploads: rawBucket ? new S3UploadStore(s3(), rawBucket) : unwired<UploadStore>(Env.rawBucket),
        media: mediaBucket ? new S3MediaStore(s3(), mediaBucket) : unwired<MediaStore>(Env.mediaBucket),
        workflow: workflowArn ? new SfnWorkflowStarter(sfnClient(), workflowArn) : unwired<WorkflowStarter>(Env.workflowArn),
      }),
      users: userPoolId ? new CognitoUserAdmin((cognito ??= new CognitoIdentityProviderClient({})), userPoolId) : unwired<UserDirectory>(Env.userPoolId),
      clock: { now: () => new Date() },
    });
  }
  return { accounts };
}
