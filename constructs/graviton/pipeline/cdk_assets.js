#!/usr/bin/env node
// cdk-assets' command line (`--path <manifest> [--verbose] publish|ls [selectors]`) on @aws-cdk/cdk-assets-lib,
// whose cloud-assembly schema can be newer than the one bundled in the cdk-assets release.
"use strict";
const { AssetManifest, AssetPublishing, DefaultAwsClient, DestinationPattern } = require("@aws-cdk/cdk-assets-lib");

const USAGE = "usage: cdk-assets --path <manifest> [--verbose] [--profile <name>] publish|ls [selector ...]";
const QUIET_EVENTS = new Set(["build", "cached", "check", "debug", "found", "upload"]);

function parse(argv) {
  const args = { path: undefined, verbose: false, profile: undefined, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--path" || arg === "-p") args.path = argv[++i];
    else if (arg === "--profile") args.profile = argv[++i];
    else if (arg === "--verbose" || arg === "-v") args.verbose = true;
    else if (arg.startsWith("-")) throw new Error(`unknown option ${arg}; ${USAGE}`);
    else args.words.push(arg);
  }
  const [command, ...selectors] = args.words;
  if (!args.path || !["publish", "ls"].includes(command)) throw new Error(USAGE);
  return { ...args, command, selectors };
}

async function main(argv) {
  const args = parse(argv);
  let manifest = AssetManifest.fromPath(args.path);
  if (args.command === "ls") {
    console.log(manifest.list().join("\n"));
    return 0;
  }
  if (args.selectors.length > 0) manifest = manifest.select(args.selectors.map((s) => DestinationPattern.parse(s)));
  const publishing = new AssetPublishing(manifest, {
    aws: new DefaultAwsClient(args.profile),
    throwOnError: false,
    progressListener: {
      onPublishEvent(type, event) {
        if (args.verbose || !QUIET_EVENTS.has(type)) console.error(`[${event.percentComplete}%] ${type}: ${event.message}`);
      },
    },
  });
  await publishing.publish();
  for (const failure of publishing.failures) console.error("Failure:", failure.error.stack);
  return publishing.hasFailures ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    console.error(`cdk-assets: ${error.message}`);
    process.exitCode = 2;
  },
);
