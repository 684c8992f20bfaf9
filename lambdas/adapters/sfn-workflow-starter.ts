import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  StartExecutionCommand,
  StopExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { Metrics } from '#contracts/metrics';
import { executionName, type WorkflowInput } from '#contracts/workflow';
import type { ExecutionState, WorkflowStarter } from '#domain/ports';
import { correlationId, metrics } from './telemetry.ts';
import { unavailable } from './transient-errors.ts';

/**
 * Starts the transcode state machine with a deterministic execution name. Step Functions refuses
 * a second execution of the same name (for 90 days), which is what makes the API call, the S3
 * event and the sweeper safe to overlap: whichever comes second is a no-op.
 */
export class SfnWorkflowStarter implements WorkflowStarter {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  /** The execution carries the given (else the caller's) correlation id, so its tasks log under it. */
  async start(videoId: string, generation: number, carried?: string): Promise<{ started: boolean }> {
    const current = carried ?? correlationId.get();
    const input: WorkflowInput = { videoId, generation, ...(current ? { correlationId: current } : {}) };
    try {
      await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: executionName(videoId, generation), input: JSON.stringify(input) }),
      );
      metrics.addMetric(Metrics.jobsStarted, MetricUnit.Count, 1);
      return { started: true };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error instanceof Error && error.name === 'ExecutionAlreadyExists')) {
        return { started: false };
      }
      return unavailable('the workflow service')(error);
    }
  }

  async describe(videoId: string, generation: number): Promise<ExecutionState> {
    try {
      const { status } = await this.sfn.send(new DescribeExecutionCommand({ executionArn: this.executionArn(videoId, generation) }));
      return (status as ExecutionState | undefined) ?? 'NONE';
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist || (error instanceof Error && error.name === 'ExecutionDoesNotExist')) return 'NONE';
      return unavailable('the workflow service')(error);
    }
  }

  async stop(videoId: string, generation: number, reason: string): Promise<void> {
    await this.sfn
      .send(new StopExecutionCommand({ executionArn: this.executionArn(videoId, generation), cause: reason }))
      .catch((error: unknown) => {
        if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return;
        return unavailable('the workflow service')(error);
      });
  }

  /** `arn:aws:states:<region>:<account>:stateMachine:<name>` → `...:execution:<name>:<execution>`. */
  private executionArn(videoId: string, generation: number): string {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName(videoId, generation)}`;
  }
}
