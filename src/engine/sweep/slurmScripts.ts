// The batch scripts the Slurm backend writes into DIR/slurm/ (arguments already shell-quoted). Environment and working
// folder come from the submitting shell (sbatch's default --export=ALL; node is named by its absolute path), and the
// cluster shares the file system.

/** An array task: runs the sweep job on line $SLURM_ARRAY_TASK_ID (from 0) of the list file given as $1. */
export const taskScript = (command: string, dir: string, runtime: string) => `#!/bin/sh
# Written by tinymem's Slurm backend. One array task runs one sweep job: line $SLURM_ARRAY_TASK_ID (from 0) of the
# list file given as the argument. The job writes its own exit record (jobs/ID/exit.json).
export ORT_DISABLE_TELEMETRY=1
exec ${command} sweep job ${dir} --list "$1" --index "$SLURM_ARRAY_TASK_ID" ${runtime}
`;

/** The job after all arrays of a submission: gathers the table and writes the report. */
export const reportScript = (command: string, dir: string) => `#!/bin/sh
# Written by tinymem's Slurm backend: after the sweep's arrays ended, gather the table and write the report.
exec ${command} sweep report ${dir}
`;
