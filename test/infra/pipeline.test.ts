import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Env } from '#contracts/env';
import { ChunkTask, GRANT_EXPIRED, PermanentErrors, PipelineHandlers, StateNames, TaskHandlers } from '#contracts/workflow';
import { LIVE_ALIAS } from '#lib/constructs/app-function';
import { FfmpegLayer, FfmpegLayerPaths, ffmpegBinarySources, stageFfmpegLayer } from '#lib/constructs/ffmpeg-layer';
import { MediaConvertStateNames } from '#lib/constructs/mediaconvert-transcoder';
import { Metadata, ResourceRole } from '#lib/metadata';
import { INDEXER_MODULE, SEARCH_SNAPSHOT_KEY } from '#lib/constructs/search-index';
import { nagPacks } from '#lib/nag';
import {
  actionsOf,
  functionStatements,
  identityStatements,
  onlyResource,
  resourcesOfType,
  routeFunctions,
  synthesize,
  type CfnResourceJson,
  type Statement,
  type Synthesized,
} from './support.ts';

/** An ASL state, as much of it as these tests read. */
interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ResultPath?: string | null;
  readonly ResultSelector?: Record<string, unknown>;
  readonly TimeoutSeconds?: number;
  readonly Retry?: { ErrorEquals: string[]; MaxAttempts?: number; BackoffRate?: number; IntervalSeconds?: number }[];
  readonly Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  readonly Branches?: AslMachine[];
  readonly ItemProcessor?: AslMachine;
  readonly ItemsPath?: string;
  readonly ItemSelector?: Record<string, unknown>;
  readonly ErrorPath?: string;
  readonly CausePath?: string;
}
interface AslMachine {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
}

/**
 * The state machine's definition as JSON. `DefinitionString` is an `Fn::Join` whose parts are
 * strings and intrinsics (ARNs, bucket names); each intrinsic becomes a quote-free placeholder
 * such as `«{'Fn::GetAtt':['ClaimFunction…','Arn']}»`, which keeps the joined text valid JSON.
 */
function definitionOf(stateMachine: CfnResourceJson): AslMachine {
  const definition = stateMachine.Properties!.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof definition === 'string') return JSON.parse(definition) as AslMachine;
  const [separator, parts] = definition['Fn::Join'];
  const text = parts.map((p) => (typeof p === 'string' ? p : `«${JSON.stringify(p).replace(/"/g, "'")}»`)).join(separator);
  return JSON.parse(text) as AslMachine;
}

/** Every state, nested ones (Parallel branches, Map processors) included, by name. */
function allStates(machine: AslMachine): Map<string, AslState> {
  const found = new Map<string, AslState>();
  const visit = (m: AslMachine) => {
    for (const [name, state] of Object.entries(m.States)) {
      found.set(name, state);
      for (const branch of state.Branches ?? []) visit(branch);
      if (state.ItemProcessor) visit(state.ItemProcessor);
    }
  };
  visit(machine);
  return found;
}

/**
 * The logical id of the function a task invokes: its `Resource` placeholder is the `Ref` of the
 * function's `live` alias (`AppFunction.live`), whose `FunctionName` is the function's `Ref`.
 */
function taskFunctionId(template: Template, state: AslState): string {
  const match = /^«\{'Ref':'([A-Za-z0-9]+)'\}»$/.exec(state.Resource ?? '');
  const alias = match ? resourcesOfType(template, 'AWS::Lambda::Alias')[match[1]!] : undefined;
  if (!alias) throw new Error(`not a Lambda alias task: ${state.Resource}`);
  expect(alias.Properties!.Name).toBe(LIVE_ALIAS);
  return (alias.Properties!.FunctionName as { Ref: string }).Ref;
}

/** The logical id of the function behind a `live` alias reference (`{Ref: <alias>}`), or undefined. */
function aliasedFunctionId(template: Template, ref: unknown): string | undefined {
  const aliasId = (ref as { Ref?: string } | undefined)?.Ref;
  const alias = aliasId ? resourcesOfType(template, 'AWS::Lambda::Alias')[aliasId] : undefined;
  return alias?.Properties?.Name === LIVE_ALIAS ? (alias.Properties.FunctionName as { Ref: string }).Ref : undefined;
}

/** Does an ASL `ErrorEquals` entry match an error a Task raised with this name? */
function matches(pattern: string, error: string): boolean {
  return pattern === error || pattern === 'States.ALL' || (pattern === 'States.TaskFailed' && error !== 'States.Timeout');
}

interface Pipeline {
  readonly synth: Synthesized;
  readonly template: Template;
  readonly definition: AslMachine;
  readonly states: Map<string, AslState>;
  readonly stateMachine: CfnResourceJson;
}

function synthesizePipeline(context: Record<string, unknown> = {}): Pipeline {
  const synth = synthesize(context); // cdk-nag runs as a validation plugin: an unacknowledged error throws here
  const template = Template.fromStack(synth.stacks.pipeline);
  const [, stateMachine] = onlyResource(template, 'AWS::StepFunctions::StateMachine');
  const definition = definitionOf(stateMachine);
  return { synth, template, definition, states: allStates(definition), stateMachine };
}

function functionsOf(template: Template): [string, CfnResourceJson][] {
  return Object.entries(resourcesOfType(template, 'AWS::Lambda::Function'));
}

function functionByHandler(template: Template, module: string): [string, CfnResourceJson] {
  const found = functionsOf(template).filter(([, fn]) => fn.Metadata?.[Metadata.handler] === module);
  if (found.length !== 1) throw new Error(`expected one function running ${module}, found ${found.length}`);
  return found[0]!;
}

function envOf(fn: CfnResourceJson): Record<string, unknown> {
  return fn.Properties!.Environment.Variables as Record<string, unknown>;
}

const mediaWriteActions = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject', 's3:DeleteObjectVersion'];
const mediaBucketArnOutput = /MediaBucketsMedia[0-9A-F]{8}Arn/;

/** A resource as text, with its intrinsics, to match bucket ARNs and key patterns. */
const text = (resource: unknown) => JSON.stringify(resource);
const resourcesOf = (statement: Statement) => (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]);

let ffmpeg: Pipeline;
let mediaconvert: Pipeline;
beforeAll(() => {
  ffmpeg = synthesizePipeline();
  mediaconvert = synthesizePipeline({ transcoder: 'mediaconvert' });
});

describe('TranscodeWorkflow (ffmpeg)', () => {
  it('is a Standard state machine with every state of StateNames, starting at Claim', () => {
    expect(ffmpeg.stateMachine.Properties!.StateMachineType).toBe('STANDARD');
    expect(ffmpeg.definition.StartAt).toBe(StateNames.claim);
    // `Grant` names the function behind the Grant* states, not a state.
    const ffmpegStates = Object.values(StateNames).filter((name) => name !== StateNames.mediaConvertSettings && name !== StateNames.grant);
    expect([...ffmpeg.states.keys()].sort()).toEqual(ffmpegStates.sort());
  });

  it('runs Claim → Probe (after its grant) → Plan → Transcode (chunks ‖ audio ‖ thumbnails) → Package → Publish', () => {
    const order: string[] = [];
    for (let name: string | undefined = ffmpeg.definition.StartAt; name; name = ffmpeg.definition.States[name]?.Next) order.push(name);
    expect(order).toEqual([
      StateNames.claim,
      StateNames.grantProbe,
      StateNames.probe,
      StateNames.plan,
      StateNames.transcode,
      StateNames.package,
      StateNames.publish,
    ]);
    expect(ffmpeg.definition.States[StateNames.publish]?.End).toBe(true);
  });

  it('accumulates the job state: each task result lands under its own key', () => {
    const resultPath = (state: string) => ffmpeg.states.get(state)?.ResultPath;
    expect(resultPath(StateNames.claim)).toBe('$');
    expect(resultPath(StateNames.probe)).toBe('$.probe');
    expect(resultPath(StateNames.plan)).toBe('$.plan');
    expect(resultPath(StateNames.transcode)).toBe('$.transcode');
    expect(resultPath(StateNames.package)).toBe('$.package');
    expect(resultPath(StateNames.publish)).toBe('$.publish');
    // Lambda tasks get their input as the payload and return their result as is (no invoke
    // envelope): the resource is the function's `live` alias itself, not `lambda:invoke`.
    for (const [name, state] of ffmpeg.states) {
      if (state.Type === 'Task') expect(state.Resource, name).toMatch(/^«\{'Ref':'[A-Za-z0-9]+Live[A-Za-z0-9]+'\}»$/);
    }
  });

  it('transcodes every chunk in a Map beside the audio and the thumbnails, and keeps all three results', () => {
    const transcode = ffmpeg.states.get(StateNames.transcode)!;
    expect(transcode.Type).toBe('Parallel');
    expect(transcode.Branches?.map((b) => b.StartAt)).toEqual([StateNames.chunks, StateNames.grantAudio, StateNames.grantThumbnails]);
    expect(transcode.Branches?.map((b) => b.States[b.StartAt]?.Next)).toEqual([undefined, StateNames.transcodeAudio, StateNames.thumbnails]);
    expect(transcode.ResultSelector).toEqual({ 'chunks.$': '$[0]', 'audio.$': '$[1]', 'thumbnails.$': '$[2]' });
    const chunks = ffmpeg.states.get(StateNames.chunks)!;
    expect(chunks.Type).toBe('Map');
    expect(chunks.ItemsPath).toBe('$.plan.chunks');
    expect(chunks.ItemProcessor?.StartAt).toBe(StateNames.grantChunk);
    expect(chunks.ItemProcessor?.States[StateNames.grantChunk]?.Next).toBe(StateNames.transcodeChunk);
  });

  it('mints a grant right before each ffmpeg task, and goes back for a new one when the task says it expired', () => {
    const pairs = [
      [StateNames.grantProbe, StateNames.probe],
      [StateNames.grantChunk, StateNames.transcodeChunk],
      [StateNames.grantAudio, StateNames.transcodeAudio],
      [StateNames.grantThumbnails, StateNames.thumbnails],
    ] as const;
    const grantFunctions = new Set<string>();
    for (const [grant, task] of pairs) {
      const grantState = ffmpeg.states.get(grant)!;
      expect(grantState.ResultPath, grant).toBe('$.grant');
      expect(grantState.Next, grant).toBe(task);
      grantFunctions.add(taskFunctionId(ffmpeg.template, grantState));
      const catches = ffmpeg.states.get(task)!.Catch!;
      expect(catches[0], task).toEqual({ ErrorEquals: [GRANT_EXPIRED], ResultPath: '$.expiredGrant', Next: grant });
      const retry = ffmpeg.states.get(task)!.Retry!.find((r) => r.ErrorEquals.includes(GRANT_EXPIRED));
      expect(retry?.MaxAttempts, task).toBe(0);
    }
    // One function behind every grant state.
    expect(grantFunctions.size).toBe(1);
  });

  it('hands each chunk worker exactly a ChunkTask', () => {
    const selector = ffmpeg.states.get(StateNames.chunks)!.ItemSelector!;
    // All but the grant, which the iteration's own Grant state adds.
    expect(Object.keys(selector).map((k) => k.replace(/\.\$$/, '')).sort()).toEqual(Object.keys(ChunkTask.shape).filter((k) => k !== 'grant').sort());
    expect(selector).toMatchObject({ 'chunk.$': '$$.Map.Item.Value', 'fps.$': '$.probe.fps', 'plan.$': '$.plan' });
  });

  it('limits chunk concurrency only when told to', () => {
    expect(ffmpeg.states.get(StateNames.chunks)).not.toHaveProperty('MaxConcurrency');
    const limited = synthesizePipeline({ chunkConcurrency: 2 });
    expect(limited.states.get(StateNames.chunks)).toHaveProperty('MaxConcurrency', 2);
  });

  it('puts a timeout on every task and on the whole execution', () => {
    const tasks = [...ffmpeg.states].filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(9);
    for (const [name, task] of tasks) expect(task.TimeoutSeconds, name).toBeGreaterThan(0);
    expect(ffmpeg.definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('gives each task a timeout longer than its function, so the function times out first', () => {
    for (const [name, task] of ffmpeg.states) {
      if (task.Type !== 'Task') continue;
      const fn = resourcesOfType(ffmpeg.template, 'AWS::Lambda::Function')[taskFunctionId(ffmpeg.template, task)]!;
      expect(task.TimeoutSeconds!, name).toBeGreaterThan(fn.Properties!.Timeout as number);
    }
  });

  it('never retries a permanent error, rides out an unavailable dependency for minutes, and retries other transient errors at most 3 attempts in all, with backoff', () => {
    for (const [name, task] of ffmpeg.states) {
      if (task.Type !== 'Task') continue;
      const retriers = task.Retry ?? [];
      for (const error of PermanentErrors) {
        const first = retriers.find((r) => r.ErrorEquals.some((p) => matches(p, error)));
        expect(first?.MaxAttempts ?? 0, `${name} retries ${error}`).toBe(0);
      }
      for (const error of ['TranscodeCrashedError', 'Sandbox.Timedout']) {
        const first = retriers.find((r) => r.ErrorEquals.some((p) => matches(p, error)));
        expect(first?.MaxAttempts, `${name} retries ${error}`).toBe(2);
        expect(first?.BackoffRate, `${name} backs off on ${error}`).toBeGreaterThan(1);
      }
      // A 30 s outage must not use up the retries: the capped waits add up to minutes.
      for (const error of ['UnavailableError', 'Lambda.ServiceException', 'Lambda.TooManyRequestsException']) {
        const first = retriers.find((r) => r.ErrorEquals.some((p) => matches(p, error))) as
          | { MaxAttempts?: number; IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number }
          | undefined;
        const waits = Array.from({ length: first?.MaxAttempts ?? 0 }, (_, n) =>
          Math.min((first?.IntervalSeconds ?? 1) * (first?.BackoffRate ?? 2) ** n, first?.MaxDelaySeconds ?? Infinity),
        );
        expect(waits.reduce((a, b) => a + b, 0), `${name} waits out ${error}`).toBeGreaterThanOrEqual(180);
      }
    }
  });

  it('catches any error of the flow into the Fail task, keeping the state and adding the error', () => {
    const outer = Object.entries(ffmpeg.definition.States).filter(([name, s]) => (s.Type === 'Task' || s.Type === 'Parallel') && name !== StateNames.fail);
    expect(outer.map(([name]) => name).sort()).toEqual(
      [StateNames.claim, StateNames.grantProbe, StateNames.probe, StateNames.plan, StateNames.transcode, StateNames.package, StateNames.publish].sort(),
    );
    for (const [name, state] of outer) {
      // Probe first goes back to its grant state on an expired grant (see above), then fails as the others.
      expect(state.Catch?.at(-1), name).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: StateNames.fail });
      expect(state.Catch, name).toHaveLength(name === StateNames.probe ? 2 : 1);
    }
  });

  it('records the failure, then ends in the Failed state with the original error, even if recording fails', () => {
    const fail = ffmpeg.states.get(StateNames.fail)!;
    expect(fail.Type).toBe('Task');
    expect(fail.ResultPath).toBeNull();
    expect(fail.Next).toBe(StateNames.failed);
    expect(fail.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failError', Next: StateNames.failed }]);
    expect(ffmpeg.states.get(StateNames.failed)).toEqual({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
  });

  it('logs every execution event to an encrypted log group and traces with X-Ray', () => {
    const props = ffmpeg.stateMachine.Properties!;
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    const logGroupId = props.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0] as string;
    expect(resourcesOfType(ffmpeg.template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.KmsKeyId).toBeDefined();
  });

  it('marks the state machine and each task function so local mode can find them', () => {
    expect(ffmpeg.stateMachine.Metadata?.[Metadata.workflow]).toEqual({ transcoder: 'ffmpeg' });
    for (const [name, state] of ffmpeg.states) {
      if (state.Type !== 'Task') continue;
      const fn = resourcesOfType(ffmpeg.template, 'AWS::Lambda::Function')[taskFunctionId(ffmpeg.template, state)]!;
      // The Grant* states share the Grant function.
      const taskName = name.startsWith(StateNames.grant) ? StateNames.grant : name;
      expect(fn.Metadata?.[Metadata.workflowTask], name).toBe(taskName);
      expect(fn.Metadata?.[Metadata.handler], name).toBe(TaskHandlers[taskName as keyof typeof TaskHandlers]);
    }
  });
});

describe('pipeline functions', () => {
  const mediaStates = [StateNames.probe, StateNames.transcodeChunk, StateNames.transcodeAudio, StateNames.thumbnails];

  it('gives the media tasks the ffmpeg layer and its binary paths, and no one else', () => {
    const [layerId] = onlyResource(ffmpeg.template, 'AWS::Lambda::LayerVersion');
    for (const [, fn] of functionsOf(ffmpeg.template)) {
      const state = fn.Metadata?.[Metadata.workflowTask] as string | undefined;
      const media = state !== undefined && (mediaStates as readonly string[]).includes(state);
      const env = envOf(fn);
      if (media) {
        expect(fn.Properties!.Layers, state).toEqual([{ Ref: layerId }]);
        expect(env[Env.ffmpegPath], state).toBe(FfmpegLayerPaths.ffmpeg);
        expect(env[Env.ffprobePath], state).toBe(FfmpegLayerPaths.ffprobe);
      } else {
        expect(fn.Properties!.Layers, state ?? String(fn.Metadata?.[Metadata.handler])).toBeUndefined();
      }
    }
  });

  it('sizes the chunk worker for ffmpeg: 10 GB memory (~6 vCPU), 10 GB disk, 15 minutes', () => {
    const [, fn] = functionByHandler(ffmpeg.template, TaskHandlers.TranscodeChunk);
    expect(fn.Properties).toMatchObject({ MemorySize: 10240, EphemeralStorage: { Size: 10240 }, Timeout: 900, Architectures: ['x86_64'] });
  });

  it('gives every workflow function the table name and segment/chunk lengths (6 s and 60 s by default)', () => {
    for (const module of Object.values(TaskHandlers).filter((m) => m !== TaskHandlers.MediaConvertSettings)) {
      const env = envOf(functionByHandler(ffmpeg.template, module)[1]);
      expect(env[Env.tableName], module).toBeDefined();
      expect(env[Env.segmentSeconds], module).toBe('6');
      expect(env[Env.chunkSeconds], module).toBe('60');
    }
  });

  it('lets only claim, publish and fail write the table (chunk progress goes through the grant)', () => {
    const writers = new Set<string>([TaskHandlers.Claim, TaskHandlers.Publish, TaskHandlers.Fail, PipelineHandlers.sweeper]);
    for (const [, fn] of functionsOf(ffmpeg.template)) {
      const module = String(fn.Metadata?.[Metadata.handler]);
      const writes = functionStatements(ffmpeg.template, fn).flatMap(actionsOf).includes('dynamodb:UpdateItem');
      expect(writes, module).toBe(writers.has(module));
    }
  });

  it('never lets a function write or delete in the media bucket outside videos/', () => {
    for (const [, fn] of functionsOf(ffmpeg.template)) {
      const module = String(fn.Metadata?.[Metadata.handler]);
      for (const statement of functionStatements(ffmpeg.template, fn)) {
        if (!actionsOf(statement).some((a) => mediaWriteActions.includes(a) || a === 's3:*' || a.endsWith('Object*'))) continue;
        for (const resource of resourcesOf(statement)) {
          if (!mediaBucketArnOutput.test(text(resource))) continue;
          // The search indexer writes the embedded index's one snapshot object, outside what the CDN serves.
          const allowed = module === INDEXER_MODULE ? `/${SEARCH_SNAPSHOT_KEY}` : '/videos/*/*';
          expect(resource, module).toEqual({ 'Fn::Join': ['', [expect.anything(), allowed]] });
        }
      }
    }
  });

  it('gives each media task only the bucket access it needs', () => {
    const s3 = (module: string, bucket: RegExp) =>
      [
        ...new Set(
          functionStatements(ffmpeg.template, functionByHandler(ffmpeg.template, module)[1])
            .filter((s) => resourcesOf(s).some((r) => bucket.test(text(r))))
            .flatMap(actionsOf)
            .filter((a) => a.startsWith('s3:')),
        ),
      ].sort();
    const raw = /MediaBucketsRaw[0-9A-F]{8}Arn/;
    // The ffmpeg tasks have none: they work through their grant (test/infra/least-privilege.test.ts).
    for (const module of [TaskHandlers.Probe, TaskHandlers.TranscodeChunk, TaskHandlers.TranscodeAudio, TaskHandlers.Thumbnails, TaskHandlers.Grant]) {
      expect(s3(module, /MediaBuckets/), module).toEqual([]);
    }
    expect(s3(TaskHandlers.Package, mediaBucketArnOutput)).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(s3(TaskHandlers.Package, raw)).toEqual([]);
    expect(s3(TaskHandlers.Fail, mediaBucketArnOutput)).toEqual(['s3:DeleteObject', 's3:ListBucket']);
    for (const module of [TaskHandlers.Claim, TaskHandlers.Plan, TaskHandlers.Publish]) {
      expect(s3(module, /MediaBuckets/), module).toEqual([]);
    }
  });

  it('lists the media bucket only under videos/', () => {
    const lists = identityStatements(ffmpeg.template).filter((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(lists.length).toBeGreaterThan(0);
    for (const statement of lists) expect(statement.Condition).toEqual({ StringLike: { 's3:prefix': ['videos/*/*'] } });
  });

  it('grants no service-wide or global wildcard action', () => {
    for (const pipeline of [ffmpeg, mediaconvert]) {
      for (const statement of identityStatements(pipeline.template).filter((s) => s.Effect === 'Allow')) {
        for (const action of actionsOf(statement)) {
          expect(action).not.toBe('*');
          expect(action).not.toMatch(/^[a-z0-9-]+:\*$/);
        }
      }
    }
  });
});

describe('UploadTriggers', () => {
  const starter = () => functionByHandler(ffmpeg.template, PipelineHandlers.starter)[1];

  it('sends every Object Created event of the raw bucket, whatever its key, to the queue', () => {
    const [, rule] = Object.entries(resourcesOfType(ffmpeg.template, 'AWS::Events::Rule')).find(([, r]) => r.Properties!.EventPattern)!;
    const pattern = rule.Properties!.EventPattern;
    expect(pattern.source).toEqual(['aws.s3']);
    expect(pattern['detail-type']).toEqual(['Object Created']);
    expect(Object.keys(pattern.detail)).toEqual(['bucket']); // no object/key filter: .MOV, multipart completions all count
    expect(text(pattern.detail.bucket.name)).toMatch(/MediaBucketsRaw/);
    const [queueId] = Object.entries(resourcesOfType(ffmpeg.template, 'AWS::SQS::Queue')).find(([, q]) => q.Properties!.RedrivePolicy)!;
    expect(rule.Properties!.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] }, DeadLetterConfig: expect.anything() })]);
  });

  it('queues events encrypted, TLS-only, with a dead letter queue after 5 receives and visibility ≥ 6× the starter timeout', () => {
    const queues = resourcesOfType(ffmpeg.template, 'AWS::SQS::Queue');
    const [, queue] = Object.entries(queues).find(([, q]) => q.Properties!.RedrivePolicy)!;
    expect(queue.Properties!.RedrivePolicy.maxReceiveCount).toBe(5);
    const dlqId = queue.Properties!.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string;
    expect(queues[dlqId]).toBeDefined();
    expect(queue.Properties!.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (starter().Properties!.Timeout as number));
    const policies = Object.values(resourcesOfType(ffmpeg.template, 'AWS::SQS::QueuePolicy'));
    for (const [id, q] of Object.entries(queues)) {
      expect(q.Properties!.KmsMasterKeyId, id).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      const policy = policies.find((p) => p.Properties!.Queues.some((r: { Ref: string }) => r.Ref === id));
      expect(policy!.Properties!.PolicyDocument.Statement, id).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('feeds the starter batches of 10 and retries only the messages that failed, through its live alias', () => {
    const [starterId] = functionByHandler(ffmpeg.template, PipelineHandlers.starter);
    const [starterAliasId] = Object.keys(resourcesOfType(ffmpeg.template, 'AWS::Lambda::Alias')).filter(
      (aliasId) => aliasedFunctionId(ffmpeg.template, { Ref: aliasId }) === starterId,
    );
    // An alias-qualified mapping names the function as `<name>:live` (CDK splits the alias ARN).
    const mappings = Object.values(resourcesOfType(ffmpeg.template, 'AWS::Lambda::EventSourceMapping')).filter((m) =>
      text(m.Properties?.['FunctionName']).includes(`"${starterAliasId}"`),
    );
    expect(mappings).toHaveLength(1);
    expect(text(mappings[0]!.Properties!.FunctionName)).toContain(`":${LIVE_ALIAS}"`);
    expect(mappings[0]!.Properties).toMatchObject({ BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  it('lets the starter read the table and start the workflow, nothing more', () => {
    const [stateMachineId] = onlyResource(ffmpeg.template, 'AWS::StepFunctions::StateMachine');
    const statements = functionStatements(ffmpeg.template, starter());
    const actions = statements.flatMap(actionsOf);
    expect(actions).toContain('states:StartExecution');
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions).not.toContain('dynamodb:UpdateItem');
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    expect(statements.find((s) => actionsOf(s).includes('states:StartExecution'))?.Resource).toEqual({ Ref: stateMachineId });
    expect(envOf(starter())[Env.workflowArn]).toEqual({ Ref: stateMachineId });
  });

  it('runs the sweeper every 5 minutes with start/describe on the workflow and a 30-minute deadline', () => {
    const [sweeperId, sweeper] = functionByHandler(ffmpeg.template, PipelineHandlers.sweeper);
    const schedule = Object.values(resourcesOfType(ffmpeg.template, 'AWS::Events::Rule')).find((r) => r.Properties!.ScheduleExpression)!;
    expect(schedule.Properties!.ScheduleExpression).toBe('rate(5 minutes)');
    expect(schedule.Properties!.Targets).toEqual([expect.objectContaining({ Arn: { Ref: expect.any(String) }, DeadLetterConfig: expect.anything() })]);
    expect(aliasedFunctionId(ffmpeg.template, schedule.Properties!.Targets[0].Arn)).toBe(sweeperId);
    const actions = functionStatements(ffmpeg.template, sweeper).flatMap(actionsOf);
    expect(actions).toEqual(expect.arrayContaining(['states:StartExecution', 'states:DescribeExecution', 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:UpdateItem']));
    expect(envOf(sweeper)[Env.stuckAfterMinutes]).toBe('30');
  });

  it('turns on EventBridge for the raw bucket in place (same logical id, no notification custom resource)', () => {
    const buckets = resourcesOfType(ffmpeg.synth.data, 'AWS::S3::Bucket');
    const [rawId, raw] = Object.entries(buckets).find(([, b]) => b.Metadata?.[Metadata.resource] === ResourceRole.rawBucket)!;
    expect(rawId).toBe('MediaBucketsRaw08621708');
    expect(raw.Properties!.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    for (const template of [ffmpeg.synth.data, ffmpeg.template]) {
      expect(Object.keys(template.findResources('Custom::S3BucketNotifications'))).toEqual([]);
    }
  });
});

describe('the complete-upload route', () => {
  it('starts the workflow (and is the only route that may); only the deletes may stop it', () => {
    const stoppers = ['DeleteVideo', 'DeleteMe'];
    for (const [route, [, fn]] of routeFunctions(ffmpeg.synth.api)) {
      const actions = functionStatements(ffmpeg.synth.api, fn).flatMap(actionsOf);
      expect(actions.includes('states:StartExecution'), route).toBe(route === 'CompleteUpload');
      expect(actions.includes('states:StopExecution'), route).toBe(stoppers.includes(route));
      // The health route lists one execution to see the workflow answer; nothing more.
      expect(envOf(fn)[Env.workflowArn] !== undefined, route).toBe(route === 'CompleteUpload' || stoppers.includes(route) || route === 'GetHealth');
      if (route === 'GetHealth') expect(actions.filter((a) => a.startsWith('states:'))).toEqual(['states:ListExecutions']);
    }
    expect(ffmpeg.synth.stacks.api.dependencies).toContain(ffmpeg.synth.stacks.pipeline);
  });
});

describe('FfmpegLayer', () => {
  let staged: string;
  beforeAll(() => {
    staged = mkdtempSync(path.join(tmpdir(), 'vodstack-layer-test-'));
  });
  afterAll(() => rmSync(staged, { recursive: true, force: true }));

  it('is an x86_64 layer for nodejs22.x', () => {
    const [, layer] = onlyResource(ffmpeg.template, 'AWS::Lambda::LayerVersion');
    expect(layer.Properties).toMatchObject({ CompatibleArchitectures: ['x86_64'], CompatibleRuntimes: ['nodejs22.x'] });
  });

  it('contains both binaries under bin/, executable by anyone (Lambda runs as another user)', () => {
    stageFfmpegLayer(staged);
    for (const [name, source] of Object.entries(ffmpegBinarySources())) {
      const stat = statSync(path.join(staged, 'bin', name));
      expect(stat.size, name).toBe(statSync(source).size);
      expect(stat.mode & 0o777, name).toBe(0o755);
    }
  });

  it('is built at synth without Docker, into an asset named by the binaries’ hash', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'vodstack-layer-synth-'));
    try {
      const app = new App({ outdir });
      const stack = new Stack(app, 'LayerOnly');
      new FfmpegLayer(stack, 'Ffmpeg');
      app.synth();
      const [, layer] = onlyResource(Template.fromStack(stack), 'AWS::Lambda::LayerVersion');
      const key = String(layer.Properties!.Content.S3Key);
      const assetDir = path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      for (const name of ['ffmpeg', 'ffprobe']) {
        expect(statSync(path.join(assetDir, 'bin', name)).mode & 0o777, name).toBe(0o755);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('TranscodeWorkflow (mediaconvert)', () => {
  it('replaces the chunk Map and audio with a MediaConvert .sync job built from the plan', () => {
    const names = [...mediaconvert.states.keys()];
    for (const gone of [StateNames.chunks, StateNames.transcodeChunk, StateNames.transcodeAudio]) expect(names).not.toContain(gone);
    expect(mediaconvert.definition.States[StateNames.plan]?.Next).toBe(MediaConvertStateNames.settings);
    const settings = mediaconvert.states.get(MediaConvertStateNames.settings)!;
    expect(settings.Next).toBe(StateNames.transcode);
    expect(settings.ResultPath).toBe('$.mediaConvert');
    expect(Object.keys(settings.Parameters!).sort()).toEqual(['audio.$', 'input.$', 'outputPrefix.$', 'rungs.$', 'segmentSeconds.$']);
    expect(settings.Parameters!['rungs.$']).toBe('$.plan.rungs');

    const job = mediaconvert.states.get(StateNames.transcode)!;
    expect(job.Type).toBe('Task');
    expect(job.Resource).toMatch(/:states:::mediaconvert:createJob\.sync$/);
    expect(job.Parameters).toMatchObject({ 'Settings.$': '$.mediaConvert.settings' });
    expect(job.TimeoutSeconds).toBeGreaterThan(0);
    expect(job.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: StateNames.fail }]);
    for (const error of PermanentErrors) {
      expect(job.Retry!.find((r) => r.ErrorEquals.some((p) => matches(p, error)))?.MaxAttempts ?? 0).toBe(0);
    }
    expect(mediaconvert.states.get(StateNames.package)).toMatchObject({ Type: 'Pass', ResultPath: '$.package' });
    expect(mediaconvert.stateMachine.Metadata?.[Metadata.workflow]).toEqual({ transcoder: 'mediaconvert' });
  });

  it('runs the job as a role MediaConvert assumes, that reads originals and writes only videos/ of the media bucket', () => {
    const roles = Object.entries(resourcesOfType(mediaconvert.template, 'AWS::IAM::Role')).filter(([, r]) =>
      text(r.Properties!.AssumeRolePolicyDocument).includes('mediaconvert.amazonaws.com'),
    );
    expect(roles).toHaveLength(1);
    const [roleId] = roles[0]!;
    const job = mediaconvert.states.get(StateNames.transcode)!;
    expect(job.Parameters!.Role).toBe(`«{'Fn::GetAtt':['${roleId}','Arn']}»`);
    const statements = Object.values(resourcesOfType(mediaconvert.template, 'AWS::IAM::Policy'))
      .filter((p) => p.Properties!.Roles.some((r: { Ref: string }) => r.Ref === roleId))
      .flatMap((p) => p.Properties!.PolicyDocument.Statement as Statement[]);
    const byAction = (action: string) => statements.filter((s) => actionsOf(s).includes(action)).flatMap(resourcesOf).map(text);
    expect(byAction('s3:GetObject')).toEqual([expect.stringMatching(/MediaBucketsRaw[0-9A-F]{8}Arn.*"\/uploads\/\*"/)]);
    expect(byAction('s3:PutObject')).toEqual([expect.stringMatching(/MediaBucketsMedia[0-9A-F]{8}Arn.*"\/videos\/\*\/\*"/)]);
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject']);

    const passRole = identityStatements(mediaconvert.template).filter((s) => actionsOf(s).includes('iam:PassRole'));
    expect(passRole.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [roleId, 'Arn'] }]);
  });

  it('drops the chunk and audio workers but keeps the ffmpeg layer for probe and thumbnails', () => {
    const modules = functionsOf(mediaconvert.template).map(([, fn]) => fn.Metadata?.[Metadata.handler]);
    expect(modules).not.toContain(TaskHandlers.TranscodeChunk);
    expect(modules).not.toContain(TaskHandlers.TranscodeAudio);
    expect(modules).not.toContain(TaskHandlers.Package);
    expect(modules).toContain(MediaConvertStateNames.settingsHandler);
    expect(functionByHandler(mediaconvert.template, TaskHandlers.Probe)[1].Properties!.Layers).toHaveLength(1);
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged with either transcoder, warnings included', () => {
    for (const { synth } of [ffmpeg, mediaconvert]) {
      for (const pack of nagPacks(synth.app)) {
        const report = pack.validateScope(synth.app);
        expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      }
    }
  });

  it('rejects an unknown transcoder', () => {
    expect(() => synthesize({ transcoder: 'handbrake' })).toThrow(/transcoder: expected ffmpeg or mediaconvert/);
  });
});
