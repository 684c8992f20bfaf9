import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '#contracts/routes';
import { PipelineHandlers } from '#contracts/workflow';
import { LIVE_ALIAS } from '#lib/constructs/app-function';
import { Metadata } from '#lib/metadata';
import { Stages, type StageName } from '#lib/stages';
import { resourcesOfType, routeFunctions, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

const text = (value: unknown) => JSON.stringify(value) ?? '';

interface Stage {
  readonly synth: Synthesized;
  readonly pipeline: Template;
  readonly observability: Template;
}

function synthesizeStage(stage: StageName): Stage {
  const synth = synthesize({ stage });
  return { synth, pipeline: Template.fromStack(synth.stacks.pipeline), observability: Template.fromStack(synth.stacks.observability) };
}

/** The functions released through CodeDeploy: every route, every workflow task, the starter and the sweeper. */
function releasedFunctions(stage: Stage): { template: Template; id: string; fn: CfnResourceJson }[] {
  const api = [...routeFunctions(stage.synth.api).values()].map(([id, fn]) => ({ template: stage.synth.api, id, fn }));
  const pipeline = Object.entries(resourcesOfType(stage.pipeline, 'AWS::Lambda::Function'))
    .filter(([, fn]) => fn.Metadata?.[Metadata.workflowTask] || ([PipelineHandlers.starter, PipelineHandlers.sweeper] as string[]).includes(fn.Metadata?.[Metadata.handler] as string))
    .map(([id, fn]) => ({ template: stage.pipeline, id, fn }));
  return [...api, ...pipeline];
}

/** The `live` alias of a function, with its logical id. */
function liveAlias(template: Template, functionId: string): [string, CfnResourceJson] {
  const found = Object.entries(resourcesOfType(template, 'AWS::Lambda::Alias')).filter(
    ([, a]) => a.Properties!.Name === LIVE_ALIAS && a.Properties!.FunctionName.Ref === functionId,
  );
  if (found.length !== 1) throw new Error(`expected one live alias of ${functionId}, found ${found.length}`);
  return found[0]!;
}

let dev: Stage;
let prod: Stage;
beforeAll(() => {
  dev = synthesizeStage('dev');
  prod = synthesizeStage('prod');
});

describe('zero-downtime deploys', () => {
  it('gives every route, workflow task, starter and sweeper a live alias on its current version', () => {
    const functions = releasedFunctions(prod);
    expect(functions.filter((f) => f.template === prod.synth.api)).toHaveLength(routes.length);
    expect(functions.filter((f) => f.template === prod.pipeline).length).toBeGreaterThanOrEqual(9 + 2); // tasks, starter, sweeper
    for (const { template, id } of functions) {
      const [, alias] = liveAlias(template, id);
      const versionId = alias.Properties!.FunctionVersion['Fn::GetAtt'][0] as string;
      expect(resourcesOfType(template, 'AWS::Lambda::Version')[versionId]?.Properties?.FunctionName, id).toEqual({ Ref: id });
    }
  });

  it('shifts each alias with a CodeDeploy deployment group that rolls back on failure and on alarm', () => {
    for (const { template, id } of releasedFunctions(prod)) {
      const [, alias] = liveAlias(template, id);
      const update = (alias as { UpdatePolicy?: { CodeDeployLambdaAliasUpdate: { DeploymentGroupName: { Ref: string } } } }).UpdatePolicy;
      const group = resourcesOfType(template, 'AWS::CodeDeploy::DeploymentGroup')[update?.CodeDeployLambdaAliasUpdate.DeploymentGroupName.Ref ?? '']!;
      expect(group, id).toBeDefined();
      expect(group.Properties!.AutoRollbackConfiguration.Enabled, id).toBe(true);
      expect(group.Properties!.AutoRollbackConfiguration.Events, id).toEqual(expect.arrayContaining(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM']));
      expect(group.Properties!.AlarmConfiguration.Enabled, id).toBe(true);

      // Its own alarm: errors of the live alias (not of $LATEST or of the whole function).
      const alarmIds = (group.Properties!.AlarmConfiguration.Alarms as { Name: { Ref: string } }[]).map((a) => a.Name.Ref);
      const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm');
      const own = alarmIds.map((a) => alarms[a]!).find((a) => a.Properties!.MetricName === 'Errors');
      expect(own?.Properties, id).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Period: 60, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      expect(own!.Properties!.Dimensions, id).toContainEqual({ Name: 'Resource', Value: { 'Fn::Join': ['', [{ Ref: id }, `:${LIVE_ALIAS}`]] } });
      const isRoute = template === prod.synth.api;
      expect(own!.Properties!.Threshold, id).toBe(isRoute ? Stages.prod.alarms.apiFunctionErrors : Stages.prod.alarms.pipelineFunctionErrors);

      // Route functions also roll back on the API's 5xx rate over one minute.
      const rate = alarmIds.map((a) => alarms[a]!).find((a) => text(a.Properties!.Metrics).includes('5XXError'));
      if (isRoute) {
        expect(rate?.Properties, id).toMatchObject({ Threshold: Stages.prod.alarms.deployApiServerErrorRatePercent, EvaluationPeriods: 1 });
        expect(text(rate!.Properties!.Metrics)).toContain('"Period":60');
      } else {
        expect(rate, id).toBeUndefined();
      }
    }
  });

  it('shifts 10% of traffic for 5 minutes in prod, and all at once in dev', () => {
    const configs = (stage: Stage) =>
      new Set([stage.synth.api, stage.pipeline].flatMap((t) => Object.values(resourcesOfType(t, 'AWS::CodeDeploy::DeploymentGroup')).map((g) => g.Properties!.DeploymentConfigName)));
    expect(configs(prod)).toEqual(new Set(['CodeDeployDefault.LambdaCanary10Percent5Minutes']));
    expect(configs(dev)).toEqual(new Set(['CodeDeployDefault.LambdaAllAtOnce']));
  });

  it('has API methods, workflow tasks, the upload queue and the sweep schedule invoke aliases, never $LATEST', () => {
    const aliasIds = (t: Template) => Object.keys(resourcesOfType(t, 'AWS::Lambda::Alias'));
    const apiAliases = aliasIds(prod.synth.api);
    const proxies = Object.values(resourcesOfType(prod.synth.api, 'AWS::ApiGateway::Method')).filter((m) => m.Properties!.Integration?.Type === 'AWS_PROXY');
    expect(proxies).toHaveLength(routes.length);
    for (const method of proxies) {
      const uri = text(method.Properties!.Integration.Uri);
      expect(apiAliases.some((a) => uri.includes(`{"Ref":"${a}"}`)), uri).toBe(true);
    }

    const pipelineAliases = aliasIds(prod.pipeline);
    const [stateMachine] = Object.values(resourcesOfType(prod.pipeline, 'AWS::StepFunctions::StateMachine'));
    const parts = (stateMachine!.Properties!.DefinitionString['Fn::Join'] as [string, unknown[]])[1];
    const taskResources = parts.filter((_, i) => i > 0 && String(parts[i - 1]).endsWith('"Resource":"'));
    expect(taskResources.length).toBeGreaterThanOrEqual(9);
    for (const resource of taskResources) expect(pipelineAliases).toContain((resource as { Ref?: string }).Ref);

    const starterMapping = Object.values(resourcesOfType(prod.pipeline, 'AWS::Lambda::EventSourceMapping')).find((m) => text(m.Properties!.EventSourceArn).includes('UploadTriggersQueue'))!;
    expect(text(starterMapping.Properties!.FunctionName)).toContain(`":${LIVE_ALIAS}"`);
    const schedule = Object.values(resourcesOfType(prod.pipeline, 'AWS::Events::Rule')).find((r) => r.Properties!.ScheduleExpression)!;
    expect(pipelineAliases).toContain(schedule.Properties!.Targets[0].Arn.Ref);
  });
});

describe('stage config', () => {
  /** Tables, buckets, keys, secrets and user pools of the stateful stacks. */
  const stateful = (stage: Stage) =>
    [stage.synth.data, stage.synth.auth].flatMap((t) =>
      ['AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Cognito::UserPool'].flatMap((type) =>
        Object.entries(resourcesOfType(t, type)).map(([id, r]) => ({ id, type, r })),
      ),
    );

  it('retains every table, bucket, key, secret and user pool in both stages', () => {
    for (const stage of [dev, prod]) {
      const resources = stateful(stage);
      expect(new Set(resources.map((r) => r.type)).size).toBe(5);
      for (const { id, r } of resources) {
        expect(r.DeletionPolicy, id).toBe('Retain');
        expect(r.UpdateReplacePolicy, id).toBe('Retain');
      }
    }
  });

  it('protects the table, the user pool and the stateful stacks from deletion in prod only', () => {
    const table = (stage: Stage) => Object.values(resourcesOfType(stage.synth.data, 'AWS::DynamoDB::GlobalTable'))[0]!.Properties!.Replicas[0];
    const pool = (stage: Stage) => Object.values(resourcesOfType(stage.synth.auth, 'AWS::Cognito::UserPool'))[0]!.Properties!;
    expect(table(prod)).toMatchObject({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    expect(pool(prod).DeletionProtection).toBe('ACTIVE');
    expect(table(dev)).toMatchObject({ DeletionProtectionEnabled: false, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    expect(pool(dev).DeletionProtection).toBe('INACTIVE');

    const protectedStacks = (stage: Stage) =>
      Object.entries(stage.synth.stacks)
        .filter(([, s]) => (s as Stack).terminationProtection)
        .map(([name]) => name)
        .sort();
    expect(protectedStacks(prod)).toEqual(['auth', 'data']);
    expect(protectedStacks(dev)).toEqual([]);
  });

  it("keeps function, API and workflow logs for the stage's retention", () => {
    for (const [stage, days] of [
      [dev, 30],
      [prod, 180],
    ] as const) {
      const templates = [stage.synth.api, stage.pipeline];
      const functionLogGroups = templates.flatMap((t) =>
        Object.values(resourcesOfType(t, 'AWS::Lambda::Function'))
          .filter((fn) => fn.Metadata?.[Metadata.handler] && fn.Properties!.LoggingConfig?.LogGroup)
          .map((fn) => resourcesOfType(t, 'AWS::Logs::LogGroup')[fn.Properties!.LoggingConfig.LogGroup.Ref as string]!),
      );
      expect(functionLogGroups.length).toBeGreaterThan(30);
      const [accessLogs] = Object.entries(resourcesOfType(stage.synth.api, 'AWS::Logs::LogGroup')).find(([id]) => id.startsWith('VideoApiAccessLogs'))!.slice(1) as [CfnResourceJson];
      const [workflowLogs] = Object.entries(resourcesOfType(stage.pipeline, 'AWS::Logs::LogGroup')).find(([id]) => id.startsWith('TranscodeWorkflowLogs'))!.slice(1) as [CfnResourceJson];
      for (const group of [...functionLogGroups, accessLogs, workflowLogs]) expect(group.Properties!.RetentionInDays).toBe(days);
    }
  });

  it("pages on the stage's thresholds", () => {
    for (const [stage, config] of [
      [dev, Stages.dev],
      [prod, Stages.prod],
    ] as const) {
      const alarms = Object.entries(resourcesOfType(stage.observability, 'AWS::CloudWatch::Alarm'));
      const threshold = (prefix: string) => alarms.find(([id]) => id.startsWith(`Observability${prefix}`))![1].Properties!.Threshold as number;
      expect(threshold('ApiServerErrorRate')).toBe(config.alarms.apiServerErrorRatePercent);
      expect(threshold('ApiLatencyP99')).toBe(config.alarms.apiLatencyP99Ms);
      expect(threshold('WorkflowFailed')).toBe(config.alarms.workflowFailures);
    }
    expect(Stages.prod.alarms.apiServerErrorRatePercent).toBeLessThan(Stages.dev.alarms.apiServerErrorRatePercent);
  });

  it('refuses an unknown stage', () => {
    expect(() => synthesize({ stage: 'staging' })).toThrow(/context stage: expected dev or prod/);
  });
});
