// Registers the regularizers (spec §4.A), applied while training from scratch (TrainJob.regularizer).
import './spectralNorm';
import './lossTruncation';
import './exampleTiedDropout';
