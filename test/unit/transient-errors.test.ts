import { describe, expect, it } from 'vitest';
import { isTransient, unavailable } from '#adapters/transient-errors';
import { classifyFailure } from '#adapters/ffmpeg/run';
import { UnavailableError } from '#domain/errors';
import { InvalidMediaError } from '#domain/media';

const sdkError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });

describe('transient dependency errors', () => {
  it('treats each service\'s throttling answer and a refused or reset connection as "retry later"', () => {
    for (const error of [
      sdkError('ProvisionedThroughputExceededException', 400),
      sdkError('ThrottlingException', 400),
      sdkError('TooManyRequestsException', 400),
      sdkError('SlowDown', 503),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    ]) {
      expect(isTransient(error), error.name).toBe(true);
      expect(() => unavailable('the table')(error)).toThrow(UnavailableError);
    }
  });

  it('passes a client error through unchanged', () => {
    const error = sdkError('ConditionalCheckFailedException', 400);
    expect(isTransient(error)).toBe(false);
    expect(() => unavailable('the table')(error)).toThrow(error);
  });
});

describe('ffmpeg failure classification', () => {
  it('blames storage, not the upload, when reading the source was throttled or cut, even if ffmpeg then calls the input invalid', () => {
    const url = 'http://127.0.0.1:1/raw/uploads/x/source?X-Amz-Signature=abc';
    for (const stderr of [
      `${url}: Server returned 5XX Server Error reply`,
      `${url}: Server returned 5XX Server Error reply\n${url}: Invalid data found when processing input`,
      `[tcp @ 0x1] Connection to tcp://127.0.0.1:1 failed: Connection refused\n${url}: Connection refused`,
    ]) {
      expect(classifyFailure(stderr, 1)).toBeInstanceOf(UnavailableError);
    }
  });

  it('still reports a damaged file as Corrupt', () => {
    const error = classifyFailure('clip.mp4: moov atom not found', 1);
    expect(error).toBeInstanceOf(InvalidMediaError);
    expect((error as InvalidMediaError).code).toBe('Corrupt');
  });
});
