#!/usr/bin/env node
// Entry point of the `gitlab-aws-operator` binary.
import { readFileSync } from 'node:fs';
import { checkAccessHelp, runCheckAccess } from './access/cli.ts';
import { helpText, parseCommandLine } from './config.ts';
import { productControllers } from './controllers/index.ts';
import { resolveClusterId, runOperator } from './operator.ts';
import { UsageError } from './runtime/process/flags.ts';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'check-access') {
    if (argv.includes('--help')) {
      process.stdout.write(checkAccessHelp());
      return 0;
    }
    try {
      return await runCheckAccess(argv.slice(1));
    } catch (err) {
      process.stderr.write(
        `gitlab-aws-operator check-access: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      return 2;
    }
  }
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv, process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(
      `gitlab-aws-operator: ${err.message}\nRun 'gitlab-aws-operator help' for the flags.\n`,
    );
    return 2;
  }
  switch (parsed.command) {
    case 'help':
      process.stdout.write(helpText());
      return 0;
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    case 'run': {
      let config: typeof parsed.config;
      try {
        config = await resolveClusterId(parsed.config);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        process.stderr.write(`gitlab-aws-operator: ${err.message}\n`);
        return 2;
      }
      return runOperator(config, productControllers(config));
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`gitlab-aws-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
