// Placeholder until the Slurm backend lands (branch slurm).
import type { SweepBackend } from './backend';

const missing = async (): Promise<never> => {
  throw new Error('the Slurm backend is not built yet');
};
export const slurmBackend: SweepBackend = { name: 'slurm', submit: missing, states: missing, cancel: missing };
