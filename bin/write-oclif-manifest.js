#!/usr/bin/env node
// Writes oclif.manifest.json after the build (what `oclif manifest` does): oclif then reads each command's flags
// and help from it and imports only the command that runs, instead of every command at every start.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifestPath = join(root, 'oclif.manifest.json');
// A stale manifest must not be read while the new one is made.
writeFileSync(manifestPath, '');
const config = await Config.load({ root, ignoreManifest: true });
const plugin = config.plugins.get(config.pjson.name);
if (!plugin) throw new Error('write-oclif-manifest: the root plugin was not loaded');
const manifest = plugin.manifest;
if (Object.keys(manifest.commands).length === 0) throw new Error('write-oclif-manifest: no commands found in dist/commands');
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
