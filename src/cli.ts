#!/usr/bin/env node
// Entry point of the `gitlab-aws-operator` binary (and of the kubectl plugin
// kubectl-gitlab_aws, the same program).
// First: an older Node.js stops here with one line (node-version.js says why).
import './node-version.js';
import { readFileSync } from 'node:fs';
import { checkAccessHelp, runCheckAccess } from './access/cli.ts';
import { helpText, parseCommandLine } from './config.ts';
import { productControllers } from './controllers/index.ts';
import { resolveClusterId, runOperator } from './operator.ts';
import { UsageError } from './runtime/process/flags.ts';

const COMMAND_NAMES = ['run', 'check-access', 'help', 'version'];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return `${pkg.version}\n`;
}

/**
 * `--help`, `-h` and `--version` mean the same after any command, and win over
 * every other flag (a bad one included): they exit 0 without touching anything.
 * `help check-access` and `check-access --help` print check-access's help.
 */
function helpOrVersion(argv: string[]): string | undefined {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  // The command comes first (`gitlab-aws-operator <command> [flags]`); none: flags alone.
  const command = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : undefined;
  if (command !== undefined && !COMMAND_NAMES.includes(command)) return undefined;
  if (args.includes('--version') || command === 'version') return version();
  const help = args.includes('--help') || args.includes('-h') || command === 'help' || args.length === 0;
  if (!help) return undefined;
  const about = command === 'help' ? args[1] : command;
  return about === 'check-access' ? checkAccessHelp() : helpText();
}

async function main(argv: string[]): Promise<number> {
  const text = helpOrVersion(argv);
  if (text !== undefined) {
    process.stdout.write(text);
    return 0;
  }
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && !COMMAND_NAMES.includes(first)) {
    process.stderr.write(
      `gitlab-aws-operator: unknown command "${first}"; use one of: ${COMMAND_NAMES.join(', ')}\nRun 'gitlab-aws-operator help' for the flags.\n`,
    );
    return 2;
  }
  if (argv[0] === 'check-access') {
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
    case 'version':
      process.stdout.write(version());
      return 0;
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
