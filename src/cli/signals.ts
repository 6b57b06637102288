// Ctrl-C and SIGTERM for the long CLI commands (train, run): the first signal asks the run to stop (training ends
// after its current step and leaves a valid checkpoint); a second one quits at once. The exit code names the signal.

/** The shell's exit code for a run ended by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export const signalExitCode = (signal: NodeJS.Signals): number => 128 + (signal === 'SIGTERM' ? 15 : 2);

export interface SignalStop {
  /** The signal that asked the run to stop, or null. */
  readonly by: NodeJS.Signals | null;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * Calls `stop` on the first SIGINT or SIGTERM, saying what stops (`what`) and what stays valid (`kept`); exits on
 * the second.
 */
export function stopOnSignals(what: string, kept: string, stop: () => void): SignalStop {
  let by: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (by !== null) process.exit(signalExitCode(signal));
    by = signal;
    const again = signal === 'SIGINT' ? 'Ctrl-C' : 'the signal';
    process.stderr.write(`\n${signal === 'SIGINT' ? '' : `${signal}: `}stopping ${what} (${again} again to quit at ` +
      `once; ${kept})\n`);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get by() {
      return by;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
