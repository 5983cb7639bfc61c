#!/usr/bin/env node
// `npm start` and the kubectl plugin (bin/kubectl-gitlab_aws) from a clone:
// the Node.js version is checked (a static import runs before this module's
// body) before the TypeScript sources are loaded, by a dynamic import.
import './node-version.js';

await import('./cli.ts');
