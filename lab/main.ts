#!/usr/bin/env node
// kubelab: the lab CLI (package.json bin). Subcommands and their dispatch live in cli.ts.
import { runCli } from "./cli.js";

await runCli(process.argv.slice(2));
