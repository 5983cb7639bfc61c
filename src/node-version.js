// The first module the operator runs: src/cli.ts imports it before anything
// else (so the bundle in dist/ runs it first), and src/start.js, the entry of
// `npm start` and the kubectl plugin, imports it before the TypeScript
// sources, which a Node.js older than 23.6 cannot even load. Plain JavaScript
// that any Node.js parses, so an old one says what is wrong in one line
// instead of a stack trace.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(`gitlab-aws-operator needs Node.js 24 or newer; this is v${process.versions.node}\n`);
  process.exit(1);
}
