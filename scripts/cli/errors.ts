// The error a command throws to end with a message and an exit code (2: bad input, nothing
// was started). Its own file so scripts/ferry.ts can recognise it without loading the
// Temporal client (ferry --help needs none).
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
