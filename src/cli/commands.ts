/**
 * The client commands of `barge`: they talk to a running server over `/v1` (docs/api-v1.md).
 * This module only declares commands and options; what each does is in actions.ts.
 *
 * `--server` and `--token` are declared on every client command rather than on the program: a
 * program-level option is recognised after any subcommand too, and would take `--server` away
 * from a server-side command that declares its own (`barge worker --server URL`).
 */
import { type Command, InvalidArgumentError } from 'commander';
import * as actions from './actions.js';
import { parseDuration } from '../core/duration.js';
import { BargeClient, CliError, resolveConnection, type ConnectionOverrides } from './client.js';
import { formatError } from './format.js';

export function registerClientCommands(program: Command): void {
  registerSubmitting(program);
  registerReading(program);
  registerChanging(program);
  program.addHelpText(
    'after',
    '\nClient commands find their server and token in --server/--token, then BARGE_SERVER/BARGE_TOKEN,\n' +
      'then ~/.config/barge/credentials.json (written by `barge up`), else http://127.0.0.1:8000.',
  );
}

function registerSubmitting(program: Command): void {
  clientCommand(program, 'submit')
    .description('submit a job spec (YAML or JSON; - reads stdin); prints the job id')
    .argument('<file>', 'job spec: .yaml, .yml, .json, or - for stdin')
    .option('--input <key=value>', 'set an input (repeatable; overrides the file)', collect, [])
    .option('--wait', 'wait for the job with a progress bar; exit 0 only if it SUCCEEDED')
    .option('--json', 'print the job as JSON (the final job with --wait)')
    .option('--give-up-after <duration>', GIVE_UP_HELP, duration)
    .action((file: string, options: actions.SubmitOptions, command: Command) => execute(command, (client) => actions.submit(client, file, options)));

  clientCommand(program, 'run')
    .description('run one command as a job, stream its output, and exit with its status')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--cpus <n>', 'cpus it needs', positiveNumber)
    .option('--memory <mb>', 'memory it needs, in MB', positiveNumber)
    .option('--name <name>', 'job name (default: the command line)')
    .option('--detach', 'print the job id and return at once')
    .usage('[options] -- <command> [args...]')
    .option('--give-up-after <duration>', GIVE_UP_HELP, duration)
    .action((argv: string[], options: actions.RunOptions, command: Command) => execute(command, (client) => actions.runCommand(client, argv, options)));

  clientCommand(program, 'map')
    .description('run a script once per non-empty line of a file ($1 in bash, arg[2] in Lua) and wait')
    .argument('<script>', 'a bash script, or a Lua script (.lua or --lua)')
    .requiredOption('--args-file <file>', 'one argument per line (- for stdin)')
    .option('--concurrency <n>', 'at most this many lines at once (default: all); without --cpus they share one cpu reservation, so N run at once', positiveInt)
    .option('--cpus <n>', 'cpus each line reserves (default: 1, or 1/N of a cpu with --concurrency N)', positiveNumber)
    .option('--memory <mb>', 'memory each line needs, in MB', positiveNumber)
    .option('--name <name>', 'job name')
    .option('--lua', 'run the script with the Lua runtime')
    .option('--detach', 'print the job id and return at once')
    .option('--json', 'print the job as JSON (the final job unless --detach)')
    .option('--give-up-after <duration>', GIVE_UP_HELP, duration)
    .action((script: string, options: actions.MapOptions, command: Command) => execute(command, (client) => actions.map(client, script, options)));

  clientCommand(program, 'wait')
    .description('wait for a job with a progress bar; exit 0 only if it SUCCEEDED')
    .argument('<id>', 'job id (or a unique prefix of 6+ characters)')
    .option('--json', 'print the final job as JSON')
    .option('--give-up-after <duration>', GIVE_UP_HELP, duration)
    .action((id: string, options: actions.JsonOption & actions.PatienceOption, command: Command) => execute(command, (client) => actions.waitFor(client, id, options)));
}

function registerReading(program: Command): void {
  clientCommand(program, 'jobs')
    .description('list jobs, newest first')
    .option('--state <states>', 'only these states, comma-separated (e.g. RUNNING,FAILED)')
    .option('--tag <tags>', 'only jobs with any of these tags, comma-separated')
    .option('--owner <owner>', "only this owner's jobs (admins)")
    .option('-q, --query <text>', 'full-text search over name, description, tags and state')
    .option('--limit <n>', 'at most this many jobs', positiveInt, 50)
    .option('--json', 'print {items, nextCursor} as JSON')
    .action((options: actions.JobsOptions, command: Command) => execute(command, (client) => actions.jobs(client, options)));

  clientCommand(program, 'get')
    .description('show a job with its execution counts and tasks (or an execution)')
    .argument('<id>', 'job or execution id (or a unique prefix of 6+ characters)')
    .option('--json', 'print it as JSON')
    .action((id: string, options: actions.JsonOption, command: Command) => execute(command, (client) => actions.get(client, id, options)));

  clientCommand(program, 'executions')
    .description("list a job's executions (id, item, state, attempt, node, time), oldest first")
    .argument('<job>', 'job id (or a unique prefix of 6+ characters)')
    .option('--state <states>', 'only these states, comma-separated (e.g. RUNNING,FAILED)')
    .option('--limit <n>', 'at most this many executions', positiveInt, 1000)
    .option('--json', 'print {items, nextCursor} as JSON')
    .action((job: string, options: actions.ExecutionsOptions, command: Command) => execute(command, (client) => actions.executions(client, job, options)));

  clientCommand(program, 'logs')
    .description("print a job's logs (every execution's) or one execution's log")
    .argument('<id>', 'job or execution id (or a unique prefix of 6+ characters)')
    .option('-f, --follow', 'keep following until it ends')
    .option('--json', 'print each log line as one JSON object a line')
    .option('--give-up-after <duration>', GIVE_UP_HELP, duration)
    .action((id: string, options: actions.LogsOptions, command: Command) => execute(command, (client) => actions.logs(client, id, options)));

  clientCommand(program, 'events')
    .description("show a job's history of state changes, oldest first")
    .argument('<id>', 'job id (or a unique prefix of 6+ characters)')
    .option('--json', 'print {items} as JSON')
    .action((id: string, options: actions.JsonOption, command: Command) => execute(command, (client) => actions.events(client, id, options)));

  clientCommand(program, 'results')
    .description("download a job's outputs and results as a tar.gz")
    .argument('<id>', 'job id (or a unique prefix of 6+ characters)')
    .requiredOption('-o, --output <file>', 'where to write the tar.gz (- for stdout)')
    .action((id: string, options: { output: string }, command: Command) => execute(command, (client) => actions.results(client, id, options.output)));

  clientCommand(program, 'nodes')
    .description('list the API servers and workers')
    .option('--json', 'print {items} as JSON')
    .action((options: actions.JsonOption, command: Command) => execute(command, (client) => actions.nodes(client, options)));

  clientCommand(program, 'queues')
    .description('list queues with their runnable and running executions')
    .option('--json', 'print {items} as JSON')
    .action((options: actions.JsonOption, command: Command) => execute(command, (client) => actions.queues(client, options)));
}

function registerChanging(program: Command): void {
  clientCommand(program, 'cancel')
    .description('cancel a job (or one execution)')
    .argument('<id>', 'job or execution id (or a unique prefix of 6+ characters)')
    .option('--json', 'print the job or execution as JSON')
    .action((id: string, options: actions.JsonOption, command: Command) => execute(command, (client) => actions.cancel(client, id, options)));

  clientCommand(program, 'restart')
    .description('restart a FAILED or CANCELLED job')
    .argument('<id>', 'job id (or a unique prefix of 6+ characters)')
    .option('--wait', 'wait for it with a progress bar; exit 0 only if it SUCCEEDED')
    .option('--json', 'print the job as JSON')
    .option('--give-up-after <duration>', GIVE_UP_HELP, duration)
    .action((id: string, options: actions.JsonOption & actions.PatienceOption & { wait?: boolean }, command: Command) =>
      execute(command, (client) => actions.restart(client, id, options)),
    );

  clientCommand(program, 'rm')
    .description('delete a finished job, its logs and its results')
    .argument('<id>', 'job id (or a unique prefix of 6+ characters)')
    .action((id: string, _options: unknown, command: Command) => execute(command, (client) => actions.remove(client, id)));
}

/** A subcommand that talks to a server: it takes --server and --token. */
export function clientCommand(program: Command, name: string): Command {
  return program
    .command(name)
    .option('--server <url>', 'barge server URL (env BARGE_SERVER)')
    .option('--token <token>', 'API token (env BARGE_TOKEN)');
}

/**
 * Runs a command's action: connects, runs it, and turns its result into the exit status. A
 * CliError (including every API error) is printed with its details and exits 1; anything else
 * is a bug and goes up to main.ts.
 */
export async function execute(command: Command, work: (client: BargeClient) => Promise<number>): Promise<void> {
  exitQuietlyOnClosedStdout();
  try {
    const { server, token } = command.opts<ConnectionOverrides>();
    const client = new BargeClient(resolveConnection({ server, token }));
    process.exitCode = await work(client);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`${formatError(error.message, error.details)}\n`);
    process.exitCode = 1;
  }
}

const GIVE_UP_HELP = 'while the server is unreachable (a restart), keep retrying this long, e.g. 30s, 10m (default: 5m)';

/** A Go-style duration (`30s`, `10m`, `1h30m`) in milliseconds. */
function duration(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 30s, 10m or 1h');
  }
  if (ms < 0) throw new InvalidArgumentError('expected a duration of 0 or more');
  return ms;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return number;
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return number;
}

/** `barge jobs | head -1` closes stdout early; that is the reader's choice, not an error. */
function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
