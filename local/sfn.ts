import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Runs a Lambda task locally: `FunctionName` is the ARN from the definition. */
export type LambdaInvoker = (functionArn: string, payload: Json) => Promise<Json>;

export interface LocalStateMachine {
  readonly arn: string;
  /** The ASL CDK synthesized, intrinsic functions resolved. */
  readonly definition: Record<string, unknown>;
}

export interface LocalStepFunctionsOptions {
  readonly port: number;
  readonly directory: string;
  readonly stateMachines: LocalStateMachine[];
  readonly invoke: LambdaInvoker;
  /** Execution events worth a log line (started, succeeded, failed). */
  readonly log?: (line: string) => void;
}

interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
}

export interface LocalStepFunctions {
  readonly endpoint: string;
  /** Resolves once every execution running now has ended (tests, shutdown). */
  idle(): Promise<void>;
  executions(): readonly ExecutionRecord[];
  stop(): Promise<void>;
}

const LAMBDA_INVOKE = /^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/;
const LAMBDA_ARN = /^arn:aws:lambda:[^:]*:[^:]*:function:/;

/**
 * The Step Functions API on loopback (StartExecution, DescribeExecution, ListExecutions,
 * StopExecution over the SDK's JSON protocol), running the state machines CDK synthesized with
 * `aws-local-stepfunctions`. Every `lambda:invoke` task is bridged to the local handler of the
 * function it names, with the payload shape Step Functions uses (`{Payload, StatusCode}`).
 * Execution names are unique per state machine, as on AWS, and remembered across restarts.
 */
export async function startLocalStepFunctions(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
  mkdirSync(options.directory, { recursive: true });
  const file = join(options.directory, 'executions.json');
  const records = new Map<string, ExecutionRecord>();
  try {
    for (const record of JSON.parse(readFileSync(file, 'utf8')) as ExecutionRecord[]) {
      // An execution that was running when the platform stopped died with it (the sweeper restarts its video).
      if (record.status === 'RUNNING') Object.assign(record, { status: 'ABORTED', stopDate: Date.now(), error: 'LocalRestart' });
      records.set(record.executionArn, record);
    }
  } catch {
    // first start: no executions yet
  }
  const save = () => writeFileSync(file, JSON.stringify([...records.values()]));
  const running = new Map<string, { abort: () => void; done: Promise<void> }>();
  const log = options.log ?? ((line: string) => console.log(line));

  const machines = new Map(
    options.stateMachines.map((m) => [
      m.arn,
      {
        machine: new StateMachine(normalise(m.definition) as never, { validationOptions: { checkArn: false } }),
        overrides: lambdaOverrides(m.definition, options.invoke),
      },
    ]),
  );

  function start(body: Record<string, unknown>): Record<string, unknown> {
    const stateMachineArn = String(body['stateMachineArn'] ?? '');
    const entry = machines.get(stateMachineArn);
    if (!entry) throw new ApiError(400, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const name = String(body['name'] ?? crypto.randomUUID());
    const input = typeof body['input'] === 'string' ? body['input'] : '{}';
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = records.get(executionArn);
    if (existing) {
      // AWS: same name and input while running answers the same execution; anything else is refused.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: existing.startDate / 1000 };
      }
      throw new ApiError(400, 'ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = { executionArn, stateMachineArn, name, input, status: 'RUNNING', startDate: Date.now() };
    records.set(executionArn, record);
    save();
    log(`workflow ${name}: started`);
    const execution = entry.machine.run(JSON.parse(input) as never, {
      overrides: { taskResourceLocalHandlers: entry.overrides },
      context: { Execution: { Id: executionArn, Name: name, Input: JSON.parse(input), StartTime: new Date(record.startDate).toISOString() } } as never,
    });
    const done = execution.result.then(
      (output) => {
        Object.assign(record, { status: 'SUCCEEDED', output: JSON.stringify(output), stopDate: Date.now() });
        log(`workflow ${name}: succeeded in ${((record.stopDate! - record.startDate) / 1000).toFixed(1)} s`);
      },
      (error: unknown) => {
        const failure = failureOf(error);
        Object.assign(record, { status: failure.status, error: failure.error, cause: failure.cause, stopDate: Date.now() });
        log(`workflow ${name}: ${failure.status.toLowerCase()} (${failure.error}: ${failure.cause})`);
      },
    ).finally(() => {
      running.delete(executionArn);
      save();
    });
    running.set(executionArn, { abort: execution.abort, done });
    return { executionArn, startDate: record.startDate / 1000 };
  }

  function describe(body: Record<string, unknown>): Record<string, unknown> {
    const record = records.get(String(body['executionArn'] ?? ''));
    if (!record) throw new ApiError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(body['executionArn'])}'`);
    return view(record);
  }

  function list(body: Record<string, unknown>): Record<string, unknown> {
    const filter = body['statusFilter'];
    const executions = [...records.values()]
      .filter((r) => r.stateMachineArn === body['stateMachineArn'] && (!filter || r.status === filter))
      .sort((a, b) => b.startDate - a.startDate)
      .map((r) => ({ executionArn: r.executionArn, stateMachineArn: r.stateMachineArn, name: r.name, status: r.status, startDate: r.startDate / 1000, ...(r.stopDate ? { stopDate: r.stopDate / 1000 } : {}) }));
    return { executions };
  }

  function stopExecution(body: Record<string, unknown>): Record<string, unknown> {
    const arn = String(body['executionArn'] ?? '');
    const record = records.get(arn);
    if (!record) throw new ApiError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    running.get(arn)?.abort();
    return { stopDate: Date.now() / 1000 };
  }

  const operations: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    StartExecution: start,
    DescribeExecution: describe,
    ListExecutions: list,
    StopExecution: stopExecution,
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
    try {
      const fn = operations[operation];
      if (!fn) throw new ApiError(400, 'UnknownOperationException', `local Step Functions does not implement ${operation}`);
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      reply(res, 200, fn(body));
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(500, 'InternalFailure', String(error));
      reply(res, e.status, { __type: e.type, message: e.message });
    }
  }
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));

  return {
    endpoint: `http://127.0.0.1:${options.port}`,
    idle: async () => {
      while (running.size) await Promise.all([...running.values()].map((r) => r.done));
    },
    executions: () => [...records.values()],
    stop: async () => {
      for (const r of running.values()) r.abort();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function reply(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function view(r: ExecutionRecord) {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: r.startDate / 1000,
    input: r.input,
    ...(r.stopDate ? { stopDate: r.stopDate / 1000 } : {}),
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.cause ? { cause: r.cause } : {}),
  };
}

function failureOf(error: unknown): { status: ExecutionRecord['status']; error: string; cause: string } {
  const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
  if (e?.name === 'ExecutionAbortedError') return { status: 'ABORTED', error: 'Aborted', cause: '' };
  if (e?.name === 'ExecutionTimeoutError') return { status: 'TIMED_OUT', error: 'States.Timeout', cause: '' };
  return { status: 'FAILED', error: e?.cause?.name ?? e?.name ?? 'Error', cause: e?.cause?.message ?? e?.message ?? '' };
}

/** Every `lambda:invoke` Task in the definition, nested Map and Parallel states included. */
function lambdaOverrides(definition: Record<string, unknown>, invoke: LambdaInvoker) {
  const overrides: Record<string, (input: Json) => Promise<Json>> = {};
  const visit = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, state] of Object.entries(states)) {
      const resource = String(state['Resource'] ?? '');
      if (state['Type'] === 'Task' && LAMBDA_INVOKE.test(resource)) {
        // The optimised integration: the service wraps the function's answer in `{Payload, ...}`.
        overrides[name] = async (input) => {
          const { FunctionName, Payload } = input as { FunctionName: string; Payload: Json };
          const result = await invoke(FunctionName, Payload ?? null);
          return { Payload: result, StatusCode: 200, ExecutedVersion: '$LATEST' };
        };
      } else if (state['Type'] === 'Task' && LAMBDA_ARN.test(resource)) {
        // A function ARN as the resource: the input is the event, the answer is the result.
        overrides[name] = async (input) => invoke(resource, input);
      }
      const nested = (state['ItemProcessor'] ?? state['Iterator']) as { States?: Record<string, Record<string, unknown>> } | undefined;
      if (nested?.States) visit(nested.States);
      for (const branch of (state['Branches'] as { States: Record<string, Record<string, unknown>> }[] | undefined) ?? []) {
        visit(branch.States);
      }
    }
  };
  visit(definition['States'] as Record<string, Record<string, unknown>>);
  return overrides;
}

/**
 * Works around one gap of aws-local-stepfunctions 3.0: it treats `"ResultPath": "$"` as a field
 * named `$` instead of "replace the input with the result". That is also the default when
 * ResultPath is absent, so dropping it keeps the meaning AWS gives the definition.
 */
function normalise<T>(value: T): T {
  if (Array.isArray(value)) return value.map(normalise) as T;
  if (!value || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'ResultPath' && child === '$') continue;
    copy[key] = normalise(child);
  }
  return copy as T;
}
