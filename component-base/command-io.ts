// What a one-shot command (a CLI subcommand, not a daemon) writes to and how it ends, injected so unit tests record
// its output and exit code instead of ending the test process.

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Ends the command with `code`; it does not return. */
  readonly exit: (code: number) => never;
}

export const processIO: CommandIO = {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  exit: (code) => process.exit(code),
};
