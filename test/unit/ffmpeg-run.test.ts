import { afterEach, describe, expect, it } from 'vitest';
import { runTool } from '#adapters/ffmpeg/run';

describe('runTool', () => {
  const saved = process.env['AWS_SECRET_ACCESS_KEY'];
  afterEach(() => {
    if (saved === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
    else process.env['AWS_SECRET_ACCESS_KEY'] = saved;
  });

  it("starts the tool with an empty environment: the function's credentials stay in Node", async () => {
    process.env['AWS_SECRET_ACCESS_KEY'] = 'function-role-secret';
    // `env` prints the environment it was given, as ffmpeg would see it.
    const { stdout } = await runTool('/usr/bin/env', [], { timeoutMs: 10_000 });
    expect(stdout).toBe('');
  });
});
