// The layering of src/ (README, "Layout"), checked by `npm test`:
//   cli, operator (wiring)  →  controllers, access  →  adapters, policy  →  runtime, api
// Arrows only point down and never form a circle; the runtime knows nothing of
// AWS or GitLab; one kind's controller never reaches into another's; product
// code never imports the testbed, tests or scripts; the testbed and scripts never
// import tests, and the testbed never imports scripts.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports: split the shared piece into a module both can import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'wiring-is-on-top',
      severity: 'error',
      comment:
        'operator.ts, cli.ts and config.ts wire the process together; only the entry point imports them (start.js: cli.ts after the Node.js version check).',
      from: { path: '^src/', pathNot: '^src/(cli\\.ts|operator\\.ts|start\\.js)$' },
      to: { path: '^src/(cli|operator|config)\\.ts$' },
    },
    {
      name: 'runtime-knows-no-product',
      severity: 'error',
      comment: 'src/runtime is a controller runtime: no AWS, GitLab, API types, policy or controllers.',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(adapters|api|policy|controllers|access)/' },
    },
    {
      name: 'adapters-below-controllers',
      severity: 'error',
      comment: 'Adapters speak to AWS and GitLab for whoever calls them; they know no controller.',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(controllers|access|policy)/' },
    },
    {
      name: 'policy-is-pure',
      severity: 'error',
      comment: 'src/policy holds pure decisions (documents, patterns): no I/O, no runtime, no adapters.',
      from: { path: '^src/policy/' },
      to: { path: '^src/(adapters|controllers|access|runtime)/' },
    },
    {
      name: 'api-is-a-leaf',
      severity: 'error',
      comment: 'The API types are the bottom: they import nothing of the product.',
      from: { path: '^src/api/' },
      to: { path: '^src/', pathNot: '^src/api/' },
    },
    {
      name: 'controllers-do-not-call-commands',
      severity: 'error',
      comment: 'check-access reads the controllers’ defaults, never the other way round.',
      from: { path: '^src/controllers/' },
      to: { path: '^src/access/' },
    },
    {
      name: 'kinds-stay-apart',
      severity: 'error',
      comment: 'What two kinds share lives in controllers/shared.',
      from: { path: '^src/controllers/(federation|connection)/' },
      to: { path: '^src/controllers/(federation|connection)/', pathNot: '^src/controllers/$1/' },
    },
    {
      name: 'product-code-only',
      severity: 'error',
      comment: 'src/ never imports the testbed, the tests or the scripts.',
      from: { path: '^src/' },
      to: { path: '^(test|testbed|scripts)/' },
    },
    {
      name: 'scripts-do-not-import-tests',
      severity: 'error',
      comment:
        'The demo, bench and chaos scripts and the testbed never import test code (it would drag vitest into npm run demo).',
      from: { path: '^(scripts|testbed)/' },
      to: { path: '^test/' },
    },
    {
      name: 'testbed-below-scripts',
      severity: 'error',
      comment: 'The testbed serves the scripts and the tests alike; it imports neither.',
      from: { path: '^testbed/' },
      to: { path: '^scripts/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
