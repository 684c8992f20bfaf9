import type { Server } from 'node:http';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import pino from 'pino';
import { freePort } from './net.ts';

const require = createRequire(import.meta.url);

export interface LocalCognito {
  /** Where clients call it, and the tokens' issuer: `publicEndpoint` when given. */
  readonly endpoint: string;
  /** Where it listens (differs from `endpoint` when a proxy fronts it). */
  readonly listening: string;
  /** Issuer of the tokens for a pool: `${endpoint}/${poolId}` (as Cognito's `iss`). */
  issuer(poolId: string): string;
  jwksUrl(poolId: string): string;
  stop(): Promise<void>;
}

/**
 * cognito-local, wired by hand rather than with `createDefaultServer`, so that its data lives
 * in our folder (not `.cognito` in the working directory) and the token issuer carries the port
 * it really listens on.
 */
/** A message Cognito would have emailed (a sign-up or reset code), kept in the local mailbox. */
export interface LocalMail {
  readonly to: string;
  readonly subject: string | undefined;
  readonly message: string | undefined;
  /** The confirmation code in the message, when there is one. */
  readonly code: string | undefined;
  readonly at: string;
}

export async function startLocalCognito(options: {
  directory: string;
  port?: number;
  /** The URL clients use when something (a fault proxy) fronts the server; the tokens' issuer. */
  publicEndpoint?: string;
  /** Called for every email Cognito sends; the mail also lands in `<directory>/mailbox.jsonl`. */
  onMail?: (mail: LocalMail) => void;
}): Promise<LocalCognito> {
  const port = options.port ?? (await freePort());
  const host = '127.0.0.1';
  const listening = `http://${host}:${port}`;
  const endpoint = options.publicEndpoint ?? listening;
  const dataDirectory = join(options.directory, 'db');
  mkdirSync(dataDirectory, { recursive: true });

  const services = require('cognito-local/lib/services');
  const { CognitoServiceFactoryImpl } = require('cognito-local/lib/services/cognitoService');
  const { CryptoService } = require('cognito-local/lib/services/crypto');
  const { StormDBDataStoreFactory } = require('cognito-local/lib/services/dataStore/stormDb');
  const { MessageDeliveryService } = require('cognito-local/lib/services/messageDelivery/messageDelivery');
  const { otp } = require('cognito-local/lib/services/otp');
  const { JwtTokenGenerator } = require('cognito-local/lib/services/tokenGenerator');
  const { UserPoolServiceFactoryImpl } = require('cognito-local/lib/services/userPoolService');
  const { DefaultConfig } = require('cognito-local/lib/server/config');
  const { Router } = require('cognito-local/lib/server/Router');
  const { createServer } = require('cognito-local/lib/server/server');
  const AWS = require('aws-sdk');

  const logger = pino({ level: process.env['COGNITO_LOG_LEVEL'] ?? 'warn' });
  const ctx = { logger };
  const config = {
    ...DefaultConfig,
    UserPoolDefaults: { UsernameAttributes: ['email'] },
    TokenConfig: { IssuerDomain: endpoint },
    ServerConfig: { port, hostname: host, development: false, https: false },
  };
  const clock = new services.DateClock();
  const dataStoreFactory = new StormDBDataStoreFactory(dataDirectory);
  const cognito = await new CognitoServiceFactoryImpl(
    dataDirectory,
    dataStoreFactory,
    new UserPoolServiceFactoryImpl(clock, dataStoreFactory),
  ).create(ctx, config.UserPoolDefaults);
  const triggers = new services.TriggersService(
    clock,
    cognito,
    new services.LambdaService(config.TriggerFunctions, new AWS.Lambda(config.LambdaClient)),
    new CryptoService(config.KMSConfig),
  );
  // Instead of cognito-local's console sender: a mailbox file a newcomer (or a test) can read.
  const mailboxFile = join(options.directory, 'mailbox.jsonl');
  const deliver = async (_ctx: unknown, user: { Username: string }, destination: string, message: { emailSubject?: string; emailMessage?: string; smsMessage?: string; __code?: string }) => {
    const text = message.emailMessage ?? message.smsMessage;
    const mail: LocalMail = {
      to: destination || user.Username,
      subject: message.emailSubject,
      message: text,
      // Without a CustomMessage trigger cognito-local sends only the code (`__code`), no text.
      code: message.__code ?? /\b(\d{6})\b/.exec(text ?? '')?.[1],
      at: new Date().toISOString(),
    };
    appendFileSync(mailboxFile, `${JSON.stringify(mail)}\n`);
    options.onMail?.(mail);
  };
  const mailbox = { sendEmail: deliver, sendSms: deliver };
  const server = createServer(
    Router({
      clock,
      cognito,
      config,
      messages: new services.MessagesService(triggers, new MessageDeliveryService(mailbox)),
      otp,
      tokenGenerator: new JwtTokenGenerator(clock, triggers, config.TokenConfig),
      triggers,
    }),
    logger,
    config.ServerConfig,
  );
  const http: Server = await server.start();
  return {
    endpoint,
    listening,
    issuer: (poolId) => `${endpoint}/${poolId}`,
    jwksUrl: (poolId) => `${endpoint}/${poolId}/.well-known/jwks.json`,
    stop: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
