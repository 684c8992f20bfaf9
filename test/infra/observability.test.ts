import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, Metrics } from '#contracts/metrics';
import { Metadata } from '#lib/metadata';
import { Stages } from '#lib/stages';
import { onlyResource, resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support.ts';

/** A dashboard widget, as much of it as these tests read. */
interface Widget {
  readonly type: string;
  readonly properties: { readonly title?: string; readonly metrics?: unknown[][]; readonly alarms?: string[] };
}

/**
 * The dashboard body as JSON. It is an `Fn::Join` of strings and intrinsics (names of resources
 * in other stacks); each intrinsic becomes a quote-free placeholder holding its JSON, which keeps
 * the joined text valid JSON and still names the logical id it refers to.
 */
function dashboardWidgets(template: Template): Widget[] {
  const [, dashboard] = onlyResource(template, 'AWS::CloudWatch::Dashboard');
  const body = dashboard.Properties!.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : `«${JSON.stringify(p).replace(/"/g, "'")}»`)).join(body['Fn::Join'][0]);
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

const widgetByTitle = (widgets: Widget[], title: RegExp): Widget => {
  const found = widgets.filter((w) => title.test(w.properties.title ?? ''));
  if (found.length !== 1) throw new Error(`expected one widget titled ${title}, found ${found.length}`);
  return found[0]!;
};

/** Every metric line of a widget as text (`["AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","«…»",{…}]`). */
const linesOf = (widget: Widget): string[] => (widget.properties.metrics ?? []).map((m) => JSON.stringify(m));

/** The expression of a custom-metric SEARCH, built from `#contracts/metrics`. */
const search = (metric: string, statistic: string) => `SEARCH('Namespace=\\"${METRICS_NAMESPACE}\\" MetricName=\\"${metric}\\"', '${statistic}', 300)`;

const text = (value: unknown) => JSON.stringify(value);

describe('PlatformObservability', () => {
  let synth: Synthesized;
  let observability: Template;
  let pipeline: Template;
  let widgets: Widget[];
  let topicId: string;
  beforeAll(() => {
    synth = synthesize();
    observability = Template.fromStack(synth.stacks.observability);
    pipeline = Template.fromStack(synth.stacks.pipeline);
    widgets = dashboardWidgets(observability);
    [topicId] = onlyResource(observability, 'AWS::SNS::Topic');
  });

  const alarms = () => resourcesOfType(observability, 'AWS::CloudWatch::Alarm');
  const alarm = (idPrefix: string): CfnResourceJson => {
    const found = Object.entries(alarms()).filter(([id]) => id.startsWith(`Observability${idPrefix}`));
    if (found.length !== 1) throw new Error(`expected one alarm ${idPrefix}, found ${found.length}`);
    return found[0]![1];
  };
  const expectPages = (a: CfnResourceJson) => {
    expect(a.Properties!.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(a.Properties!.OKActions).toEqual([{ Ref: topicId }]);
    expect(a.Properties!.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(a.Properties!.AlarmDescription).toMatch(/docs\/runbooks\.md#/);
  };

  it('notifies an SNS topic encrypted with its own key, TLS only, that CloudWatch may publish to and decrypt for', () => {
    const [, topic] = onlyResource(observability, 'AWS::SNS::Topic');
    const keyId = topic.Properties!.KmsMasterKeyId['Fn::GetAtt'][0] as string;
    const key = resourcesOfType(observability, 'AWS::KMS::Key')[keyId]!;
    expect(key.Properties!.EnableKeyRotation).toBe(true);
    expect(key.Properties!.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow' }),
    );
    const [, policy] = onlyResource(observability, 'AWS::SNS::TopicPolicy');
    const statements = policy.Properties!.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    const publish = statements.find((s) => s.Effect === 'Allow' && text(s.Principal).includes('cloudwatch.amazonaws.com'))!;
    expect(publish.Action).toBe('sns:Publish');
    expect(text(publish.Condition)).toContain(':alarm:*');
    expect(resourcesOfType(observability, 'AWS::SNS::Subscription')).toEqual({});
  });

  it('pages on the API 5xx rate: metric math 100 × 5XXError / Count of the stage', () => {
    const a = alarm('ApiServerErrorRate');
    expectPages(a);
    expect(a.Properties!.Threshold).toBe(Stages.dev.alarms.apiServerErrorRatePercent);
    const metrics = a.Properties!.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string }; Stat: string } }[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe('IF(requests > 0, 100 * errors / requests, 0)');
    expect(metrics.find((m) => m.Id === 'errors')?.MetricStat).toMatchObject({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5XXError' }, Stat: 'Sum' });
    expect(metrics.find((m) => m.Id === 'requests')?.MetricStat).toMatchObject({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: 'Count' }, Stat: 'Sum' });
    expect(text(metrics)).toContain('"Name":"Stage"');
  });

  it('pages on the API p99 latency of the stage', () => {
    const a = alarm('ApiLatencyP99');
    expectPages(a);
    expect(a.Properties).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: 'Latency', ExtendedStatistic: 'p99', Threshold: Stages.dev.alarms.apiLatencyP99Ms, EvaluationPeriods: 3 });
  });

  it('pages on workflow executions failed and timed out', () => {
    const [stateMachineId] = onlyResource(pipeline, 'AWS::StepFunctions::StateMachine');
    for (const [id, metric] of [
      ['WorkflowFailed', 'ExecutionsFailed'],
      ['WorkflowTimedOut', 'ExecutionsTimedOut'],
    ] as const) {
      const a = alarm(id);
      expectPages(a);
      expect(a.Properties).toMatchObject({ Namespace: 'AWS/States', MetricName: metric, Statistic: 'Sum', Threshold: Stages.dev.alarms.workflowFailures });
      expect(text(a.Properties!.Dimensions)).toContain(stateMachineId);
    }
  });

  it('pages on stuck videos: any SweeperFound, whatever dimensions it was published with', () => {
    const a = alarm('StuckVideos');
    expectPages(a);
    expect(a.Properties!.Threshold).toBe(1);
    expect(a.Properties!.Metrics).toEqual([
      expect.objectContaining({ Expression: `SELECT SUM(${Metrics.sweeperFound}) FROM "${METRICS_NAMESPACE}"`, Period: 300, ReturnData: true }),
    ]);
  });

  it('pages on every dead letter queue of the platform holding a message', () => {
    // A dead letter queue is any queue something sends its failures to: a redrive policy, an event
    // source mapping's on-failure destination, a rule target's or a function's dead letter config.
    const queues = resourcesOfType(pipeline, 'AWS::SQS::Queue');
    const deadLetterIds = Object.keys(queues).filter((id) =>
      [
        ...Object.values(queues).map((q) => q.Properties?.RedrivePolicy?.deadLetterTargetArn),
        ...Object.values(resourcesOfType(pipeline, 'AWS::Lambda::EventSourceMapping')).map((m) => m.Properties?.DestinationConfig?.OnFailure?.Destination),
        ...Object.values(resourcesOfType(pipeline, 'AWS::Events::Rule')).flatMap((r) => (r.Properties?.Targets ?? []).map((t: { DeadLetterConfig?: unknown }) => t.DeadLetterConfig)),
        ...Object.values(resourcesOfType(pipeline, 'AWS::Lambda::Function')).map((f) => f.Properties?.DeadLetterConfig),
      ].some((ref) => (text(ref) ?? '').includes(`"${id}"`)),
    );
    expect(deadLetterIds.length).toBeGreaterThanOrEqual(2); // upload events, search index failures
    const dlqAlarms = Object.entries(alarms()).filter(([id]) => id.startsWith('ObservabilityDeadLetters'));
    expect(dlqAlarms).toHaveLength(deadLetterIds.length);
    for (const id of deadLetterIds) {
      const found = dlqAlarms.filter(([, a]) => text(a.Properties!.Dimensions).includes(id));
      expect(found, id).toHaveLength(1);
      const a = found[0]![1];
      expectPages(a);
      expect(a.Properties).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Threshold: 1 });
    }
  });

  it('shows API requests, 4xx/5xx, the 5xx rate and p50/p99 latency of the stage', () => {
    expect(linesOf(widgetByTitle(widgets, /^API requests \(stage\)/)).join()).toMatch(/"AWS\/ApiGateway","Count","ApiName","Resource","Stage"/);
    const errors = linesOf(widgetByTitle(widgets, /^API 4xx \/ 5xx/)).join();
    expect(errors).toContain('"4XXError"');
    expect(errors).toContain('"5XXError"');
    expect(linesOf(widgetByTitle(widgets, /^API 5xx rate/)).join()).toContain('100 * errors / requests');
    const latency = linesOf(widgetByTitle(widgets, /^API latency p50 \/ p99/)).join();
    expect(latency).toContain('"stat":"p50"');
    expect(latency).toContain('"stat":"p99"');
  });

  it("shows the functions' own RED metrics per route, from #contracts/metrics", () => {
    expect(linesOf(widgetByTitle(widgets, /^Requests per route/)).join()).toContain(search(Metrics.requests, 'Sum'));
    const errors = linesOf(widgetByTitle(widgets, /^4xx and 5xx per route/)).join();
    expect(errors).toContain(search(Metrics.clientErrors, 'Sum'));
    expect(errors).toContain(search(Metrics.serverErrors, 'Sum'));
    expect(linesOf(widgetByTitle(widgets, /^Latency p50 per route/)).join()).toContain(search(Metrics.latency, 'p50'));
    expect(linesOf(widgetByTitle(widgets, /^Latency p99 per route/)).join()).toContain(search(Metrics.latency, 'p99'));
  });

  it('shows pipeline jobs, failures by code, processing speed, sweeper finds and executions', () => {
    const jobs = linesOf(widgetByTitle(widgets, /^Jobs started \/ succeeded/)).join();
    expect(jobs).toContain(`SUM(${Metrics.jobsStarted})`);
    expect(jobs).toContain(`SUM(${Metrics.jobsSucceeded})`);
    expect(linesOf(widgetByTitle(widgets, /^Jobs failed by code/)).join()).toContain(search(Metrics.jobsFailed, 'Sum'));
    expect(linesOf(widgetByTitle(widgets, /^Processing seconds per video minute/)).join()).toContain(search(Metrics.processingSecondsPerVideoMinute, 'p50'));
    expect(linesOf(widgetByTitle(widgets, /^Stuck videos found/)).join()).toContain(search(Metrics.sweeperFound, 'Sum'));
    const executions = linesOf(widgetByTitle(widgets, /^Workflow executions/)).join();
    for (const metric of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) expect(executions).toContain(`"${metric}"`);
  });

  it('shows the depth of every queue, dead letter queues apart', () => {
    const depth = [...linesOf(widgetByTitle(widgets, /^Queue depth/)), ...linesOf(widgetByTitle(widgets, /^Dead letter queue depth/))].join();
    const queueIds = Object.keys(resourcesOfType(pipeline, 'AWS::SQS::Queue'));
    expect(queueIds.length).toBeGreaterThanOrEqual(3);
    for (const id of queueIds) expect(depth, id).toMatch(new RegExp(`"ApproximateNumberOfMessagesVisible","QueueName","«[^»]*${id}`));
  });

  it('shows errors and throttles of every function the platform runs', () => {
    const errors = linesOf(widgetByTitle(widgets, /^Lambda errors/)).join();
    const throttles = linesOf(widgetByTitle(widgets, /^Lambda throttles/)).join();
    const ours = [synth.api, pipeline].flatMap((t) =>
      Object.entries(resourcesOfType(t, 'AWS::Lambda::Function'))
        .filter(([, fn]) => fn.Metadata?.[Metadata.handler])
        .map(([id]) => id),
    );
    expect(ours.length).toBeGreaterThan(30);
    for (const id of ours) {
      expect(errors, id).toMatch(new RegExp(`"Errors","FunctionName","«[^»]*${id}`));
      expect(throttles, id).toMatch(new RegExp(`"Throttles","FunctionName","«[^»]*${id}`));
    }
  });

  it("lists every alarm's state, the deployment rollback alarms included", () => {
    const status = widgets.find((w) => w.type === 'alarm')!;
    const listed = text(status.properties.alarms);
    for (const id of Object.keys(alarms())) expect(listed, id).toContain(id);
    const rollbackAlarms = [synth.api, pipeline].flatMap((t) => Object.keys(resourcesOfType(t, 'AWS::CloudWatch::Alarm')).filter((id) => /LiveErrors/.test(id)));
    expect(rollbackAlarms.length).toBeGreaterThan(30);
    for (const id of rollbackAlarms) expect(listed, id).toContain(id);
  });

  it('emails the alarmEmail address, and refuses a value that is not one', () => {
    const withEmail = Template.fromStack(synthesize({ alarmEmail: 'oncall@example.com' }).stacks.observability);
    const [, subscription] = onlyResource(withEmail, 'AWS::SNS::Subscription');
    expect(subscription.Properties).toMatchObject({ Protocol: 'email', Endpoint: 'oncall@example.com' });
    expect(() => synthesize({ alarmEmail: 'not an address' })).toThrow(/context alarmEmail/);
  });
});
