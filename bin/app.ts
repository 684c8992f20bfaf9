#!/usr/bin/env -S npx tsx
import { App } from 'aws-cdk-lib';
import { buildApp } from '#lib/app';

// Context (cdk.json, `-c`) is read once inside buildApp; cdk-nag and tags are applied there too,
// so local mode's in-process synth gets exactly the same app.
const app = new App();
buildApp(app);
