// The paper's reference numbers (spec §5, derived from the reference's result CSVs): per experiment and method, the
// mean memorization (%) of the chosen runs, their mean utility (math: accuracy %, language: test perplexity) and the
// mean relative utility change (%). Math is the reference's "mult" subset (seed 0, 2/4/8 layers, 12 cells per
// method); language all models (2/4/8/16 layers, 48 cells per method).

export interface PaperNumbers {
  mem: number;
  utilityAfter: number;
  utilityChangePct: number;
}

export interface PaperTable {
  source: string;
  methods: Record<string, PaperNumbers>;
}

const rows = (r: Record<string, [number, number, number]>): Record<string, PaperNumbers> =>
  Object.fromEntries(Object.entries(r).map(([m, [mem, utilityAfter, utilityChangePct]]) =>
    [m, { mem, utilityAfter, utilityChangePct }]));

export const PAPER_TABLES: Record<string, PaperTable> = {
  'math-noise': {
    source: 'spec §5.2, mult + noise (seed 0, 2/4/8 layers)',
    methods: rows({
      'balanced-subnet': [0.0, 96.75, -0.1],
      subnet: [0.95, 93.84, -3.1],
      'hard-concrete': [9.49, 93.03, -3.94],
      'zero-out': [17.4, 92.51, -4.48],
      slimming: [4.28, 92.41, -4.58],
      sou: [1.31, 90.57, -6.48],
      durable: [0.43, 89.6, -7.48],
      'durable-agg': [1.06, 89.55, -7.54],
      greedy: [0.84, 87.9, -9.23],
      'integrated-gradients': [0.19, 87.4, -9.75],
      activations: [0.11, 87.31, -9.85],
    }),
  },
  'math-backdoor': {
    source: 'spec §5.2, mult + backdoor (seed 0, 2/4/8 layers)',
    methods: rows({
      'balanced-subnet': [0.0, 95.21, -0.34],
      activations: [0.0, 93.77, -1.87],
      subnet: [0.05, 83.42, -12.59],
      'integrated-gradients': [0.09, 92.79, -2.88],
      slimming: [2.13, 91.57, -4.16],
      'hard-concrete': [10.97, 93.33, -2.32],
      durable: [35.46, 82.49, -13.8],
      'durable-agg': [48.84, 86.16, -9.84],
      greedy: [55.37, 85.49, -10.67],
      sou: [86.76, 92.24, -3.41],
      'zero-out': [96.94, 95.28, -0.26],
    }),
  },
  'language-noise': {
    source: 'spec §5.1, language + noise (2/4/8/16 layers; Greedy 2/4 only)',
    methods: rows({
      'balanced-subnet': [0.0, 56.59, 0.35],
      subnet: [0.05, 59.96, 6.53],
      slimming: [0.08, 58.97, 4.84],
      activations: [0.1, 59.65, 6.35],
      greedy: [0.2, 74.31, 12.4],
      'hard-concrete': [0.31, 63.76, 14.59],
      durable: [0.56, 59.61, 6.23],
      'durable-agg': [0.92, 67.31, 21.74],
      'zero-out': [1.16, 58.83, 5.36],
    }),
  },
  'language-backdoor': {
    source: 'spec §5.1, language + backdoor (2/4/8/16 layers; Greedy 2/4 only)',
    methods: rows({
      'balanced-subnet': [4.58, 64.1, 2.85],
      subnet: [35.56, 262.59, 252.6],
      activations: [73.39, 73.16, 18.2],
      slimming: [75.04, 156.69, 169.1],
      greedy: [77.22, 136.59, 74.3],
      'hard-concrete': [87.44, 69.51, 13.9],
      'durable-agg': [88.96, 545.47, 874.3],
      durable: [89.44, 114.93, 87.6],
      'zero-out': [98.97, 63.04, 1.65],
    }),
  },
};
